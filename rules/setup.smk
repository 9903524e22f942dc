# Parsed first: the import path, the interpreter every job runs, the config checks (each a function of
# pipelines.experiment.matrix, refused here before any job starts), and the effective config the
# commands receive.

import os
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

REPO = Path(workflow.basedir).resolve()
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from methods import variants as _variants  # noqa: E402
from pipelines.experiment import datasets as _datasets, matrix as _matrix, stages as _stages  # noqa: E402
from pipelines.experiment.roots import SYNTHETIC_ROOT, dataset_roots, effective_config  # noqa: E402
from pipelines.common.provenance import run_hash as _run_hash, section_hash  # noqa: E402
from pipelines.training.config import TrainConfig  # noqa: E402

# Every command runs with the interpreter that runs snakemake (the project venv), with the repository
# first on the import path: with --directory elsewhere, the workdir's report/ output folder must not
# shadow the report package (`python -m` puts the working directory first).
PY = shlex.quote(sys.executable)  # quoted: a checkout path with a space must not split the command
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))


def config_error(message):
    raise WorkflowError(f"config error: {message}")


try:
    MATRIX = _matrix.check_config(config)
    TRAIN_PROCESSES = _matrix.check_train_launch(config)
except _matrix.ConfigError as err:
    config_error(err)

TRAIN_CONFIG = TrainConfig.from_dict(config["train"])
BENCHMARK = config["benchmark"]
VARIANT_DEFS = MATRIX.variant_defs
VARIANT_STAGES = MATRIX.variant_stages
SEEDS = MATRIX.seeds
DATASETS = MATRIX.datasets
PROBES = config.get("probes") or {}
PROBE_INTERVENTIONS = MATRIX.probe_interventions
PROBE_DATASET = MATRIX.probe_dataset
SYNTHETIC = config["data"].get("synthetic")
DATA_ROOTS = dataset_roots(config["data"])
PAPER_DIR = _matrix.paper_dir(config)


# ---- the config the commands receive: the merged config with the dataset roots filled in
EFFECTIVE = effective_config(config)
# named by its hash: runs with different configs in one folder (a dry run beside a real one) never
# overwrite each other's file; the shell template stays the same, so it triggers no rerun
EFFECTIVE_CONFIG = f"logs/config/effective-{section_hash(EFFECTIVE)}.yaml"


def _write_effective_config(path, content):
    """Write once, atomically (parallel SLURM jobs re-parse this file and find it in place)."""
    text = yaml.safe_dump(content, sort_keys=False)
    if os.path.exists(path) and Path(path).read_text() == text:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    Path(tmp).write_text(text)
    os.replace(tmp, path)


_write_effective_config(EFFECTIVE_CONFIG, EFFECTIVE)


def run_hash(variant, stage, seed):
    return _run_hash(EFFECTIVE, variant, stage, int(seed))
