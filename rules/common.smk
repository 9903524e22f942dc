# Shared by every rule: config checks that must fail before any job starts, the ablation matrix,
# dataset roots, per-run config hashes and the effective config handed to the CLIs.

import copy
import os
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

REPO = Path(workflow.basedir).resolve()
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipelines.collect import DATASET_SPLITS, run_config_hash, section_hash  # noqa: E402

# Every CLI runs with the interpreter that runs snakemake (the project venv), with the repository
# first on the import path: with --directory elsewhere, the workdir's report/ output folder must not
# shadow the report package (`python -m` puts the working directory first).
PY = sys.executable
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))

STAGES = ("pretrain_only", "main_only", "full")
BASELINE_STAGE = "none"
FALLBACK_VARIANTS = {"gvos_scm", "stm_read", "no_scm", "no_refine", "no_aspp", "copy_first_frame"}


def config_error(message):
    raise WorkflowError(f"config error: {message}")


# ---- variants: the registry in methods/ when it imports, else the names fixed in docs/interfaces.md
try:
    from methods.variants import VARIANTS as _REGISTRY, is_learned  # noqa: E402

    KNOWN_VARIANTS = set(_REGISTRY)
except ImportError:
    KNOWN_VARIANTS = set(FALLBACK_VARIANTS)

    def is_learned(variant):
        return variant != "copy_first_frame"


EXPERIMENTS = config["experiments"]
VARIANT_STAGES = {variant: list(stages) for variant, stages in EXPERIMENTS["variants"].items()}
SEEDS = [int(seed) for seed in EXPERIMENTS["seeds"]]
BASELINES = list(EXPERIMENTS.get("baselines") or [])
DATASETS = list(EXPERIMENTS["datasets"])
BENCHMARK = config["benchmark"]
RES = config["resources"]

for where, names in (("experiments.variants", list(VARIANT_STAGES)), ("experiments.baselines", BASELINES),
                     ("benchmark.variants", list(BENCHMARK["variants"]))):
    for name in names:
        if name not in KNOWN_VARIANTS:
            config_error(f"{where}: unknown variant {name!r} (known: {', '.join(sorted(KNOWN_VARIANTS))})")
for name in VARIANT_STAGES:
    if not is_learned(name):
        config_error(f"experiments.variants: {name!r} is not trained; list it under experiments.baselines")
for name in BASELINES:
    if is_learned(name):
        config_error(f"experiments.baselines: {name!r} is a learned variant; list it under experiments.variants")

# ---- model / train sections: checked by their owners' validators when those modules import
try:
    from methods.config import ModelConfig  # noqa: E402
except ImportError:
    ModelConfig = None
if ModelConfig is not None:
    try:
        ModelConfig.from_dict(copy.deepcopy(config["model"]))
    except (ValueError, TypeError, KeyError) as err:
        config_error(f"model: {err}")
try:
    from pipelines.train_config import TrainConfig  # noqa: E402
except ImportError:
    TrainConfig = None
if TrainConfig is not None:
    try:
        TrainConfig.from_dict(copy.deepcopy(config["train"]))
    except (ValueError, TypeError, KeyError) as err:
        config_error(f"train: {err}")

# ---- dataset roots: generated synthetic set, or real folders that must exist now
SYNTHETIC = config["data"].get("synthetic")
SYNTHETIC_ROOT = "data/synthetic"
if SYNTHETIC:
    DATA_ROOTS = {
        "davis": f"{SYNTHETIC_ROOT}/DAVIS",
        "davis2016": f"{SYNTHETIC_ROOT}/DAVIS",
        "youtubevos": f"{SYNTHETIC_ROOT}/YouTubeVOS",
        "coco": f"{SYNTHETIC_ROOT}/COCO",
    }
else:
    DATA_ROOTS = {key: config["data"].get(key) for key in ("davis", "youtubevos", "coco")}
    DATA_ROOTS["davis2016"] = config["data"].get("davis2016") or DATA_ROOTS["davis"]

# which roots the matrix reads: evaluation datasets, main-stage training datasets, COCO for pretraining
_MAIN_DATASETS = list((config["train"].get("main") or {}).get("datasets") or ["davis2017"])
_DATASET_ROOT_KEY = {"davis2017": "davis", "davis2016": "davis2016", "youtubevos": "youtubevos"}
_needed = {_DATASET_ROOT_KEY[name]: f"experiments.datasets ({name})" for name in DATASETS}
for name in _MAIN_DATASETS:
    if name in _DATASET_ROOT_KEY:
        _needed.setdefault(_DATASET_ROOT_KEY[name], f"train.main.datasets ({name})")
if any(stage in ("pretrain_only", "full") for stages in VARIANT_STAGES.values() for stage in stages):
    _needed.setdefault("coco", "pretraining (stages pretrain_only / full)")
if not SYNTHETIC:
    for key, why in sorted(_needed.items()):
        root = DATA_ROOTS.get(key)
        if not root:
            config_error(f"data.{key}: no path given, but {why} needs it (or set data.synthetic)")
        if not Path(root).expanduser().is_dir():
            config_error(f"data.{key}: {root}: dataset folder does not exist (needed by {why})")
        DATA_ROOTS[key] = str(Path(root).expanduser())

# ---- the config the CLIs receive: the merged config with the dataset roots filled in
EFFECTIVE = copy.deepcopy(config)
EFFECTIVE["data"].update({key: DATA_ROOTS.get(key) for key in ("davis", "davis2016", "youtubevos", "coco")})
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

PAPER_DIR = config["report"].get("paper_dir") or str(REPO / "report" / "paper_tables")


# ---- helpers used by the rules
def data_root(key):
    return DATA_ROOTS[key]


def data_input(key):
    """Input for a dataset root: the synthetic rule's output, or the real folder (ancient: its
    timestamps never trigger retraining; a path change does, through the config hash)."""
    return ancient(DATA_ROOTS[key])


def dataset_root(dataset):
    return DATA_ROOTS[_DATASET_ROOT_KEY[dataset]]


def main_data_inputs():
    return [data_input(_DATASET_ROOT_KEY[name]) for name in _MAIN_DATASETS if name in _DATASET_ROOT_KEY]


def run_hash(variant, stage, seed):
    return run_config_hash(EFFECTIVE, variant, stage, int(seed))


def run_dir(variant, stage, seed):
    return f"runs/{variant}/{stage}/seed{seed}"


def matrix_runs():
    """(variant, stage, seed) of every evaluated run: learned variants x stages x seeds, baselines once."""
    runs = [(variant, stage, seed) for variant, stages in VARIANT_STAGES.items() for stage in stages for seed in SEEDS]
    runs += [(baseline, BASELINE_STAGE, SEEDS[0]) for baseline in BASELINES]
    return runs


def trained_runs():
    """Every training run the matrix needs, including the pretrain runs that only initialise `full`."""
    runs = set()
    for variant, stages in VARIANT_STAGES.items():
        for stage in stages:
            for seed in SEEDS:
                runs.add((variant, stage, seed))
                if stage == "full":
                    runs.add((variant, "pretrain_only", seed))
    return sorted(runs)


def evaluation_files(name):
    return [f"evaluations/{v}/{s}/seed{n}/{d}/{name}" for v, s, n in matrix_runs() for d in DATASETS]


def loss_files():
    return [f"{run_dir(v, s, n)}/loss.csv" for v, s, n in trained_runs()]


def resources_of(kind):
    return RES.get(kind) or {}


wildcard_constraints:
    variant="[a-z][a-z0-9_]*",
    stage="pretrain_only|main_only|full|none",
    seed=r"\d+",
    dataset="davis2017|davis2016|youtubevos",
