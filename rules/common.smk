# Shared by every rule: config checks that must fail before any job starts, the ablation matrix,
# dataset roots, per-run hashes, the effective config handed to the CLIs, and how jobs share the CPUs.

import copy
import math
import os
import shlex
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

REPO = Path(workflow.basedir).resolve()
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from methods import interventions as _interventions, variants as _variants  # noqa: E402
from methods.backbone import load_resnet  # noqa: E402
from methods.config import ModelConfig  # noqa: E402
from pipelines.collect import DATASET_SPLITS  # noqa: E402
from pipelines.data.roots import DATASET_ROOT_KEY, SYNTHETIC_ROOT, dataset_roots, root_problems  # noqa: E402
from pipelines.benchmarking.settings import parse_size  # noqa: E402
from pipelines.data.synthetic.presets import FORMAT_VERSION as SYNTHETIC_FORMAT, get_preset  # noqa: E402
from pipelines.runtime import job_gpus, visible_gpus  # noqa: E402
from pipelines.provenance import BASELINE_STAGE, run_hash as _run_hash, section_hash  # noqa: E402
from pipelines.training.config import TrainConfig  # noqa: E402
from pipelines.training.data import holdout_problem  # noqa: E402
from report.outputs import FIGURES as REPORT_FIGURES, TABLES as REPORT_TABLES  # noqa: E402
from report.results import RESULT_FILES  # noqa: E402

# Every CLI runs with the interpreter that runs snakemake (the project venv), with the repository
# first on the import path: with --directory elsewhere, the workdir's report/ output folder must not
# shadow the report package (`python -m` puts the working directory first).
PY = shlex.quote(sys.executable)  # quoted: a checkout path with a space must not split the command
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))

STAGES = ("pretrain_only", "main_only", "full")
TRAIN_STAGE = {"pretrain_only": "pretrain", "main_only": "main", "full": "full"}
"""Experiment stage -> the stage pipelines.train trains (and writes into the checkpoint)."""


def config_error(message):
    raise WorkflowError(f"config error: {message}")


def _checked(where, check):
    try:
        return check()
    except (ValueError, TypeError, KeyError) as err:
        config_error(f"{where}: {err}")


# ---- the matrix: variants (built-in and the config's own), stages, seeds, datasets
EXPERIMENTS = config["experiments"]
VARIANT_DEFS = _checked("experiments.variant_defs", lambda: _variants.variant_defs(config))
KNOWN_VARIANTS = _variants.catalogue(VARIANT_DEFS)
VARIANT_STAGES = {variant: list(stages) for variant, stages in EXPERIMENTS["variants"].items()}
SEEDS = [int(seed) for seed in EXPERIMENTS["seeds"]]
BASELINES = list(EXPERIMENTS.get("baselines") or [])
DATASETS = list(EXPERIMENTS["datasets"])
BENCHMARK = config["benchmark"]
RES = config["resources"]


def resources_of(kind):
    return RES.get(kind) or {}


def job_device(kind):
    return resources_of(kind).get("device", "auto")


for where, names in (("experiments.variants", list(VARIANT_STAGES)), ("experiments.baselines", BASELINES),
                     ("benchmark.variants", list(BENCHMARK["variants"]))):
    for name in names:
        if name not in KNOWN_VARIANTS:
            config_error(f"{where}: unknown variant {name!r} (known: {', '.join(sorted(KNOWN_VARIANTS))})")
for name in VARIANT_STAGES:
    if not _variants.is_learned(name, VARIANT_DEFS):
        config_error(f"experiments.variants: {name!r} is not trained; list it under experiments.baselines")
for name in BASELINES:
    if _variants.is_learned(name, VARIANT_DEFS):
        config_error(f"experiments.baselines: {name!r} is a learned variant; list it under experiments.variants")

# ---- model / train sections: the owners' validators, on every variant of the matrix
TRAIN_CONFIG = _checked("train", lambda: TrainConfig.from_dict(copy.deepcopy(config["train"])))
_checked("model", lambda: ModelConfig.from_dict(copy.deepcopy(config["model"])))
for _name in [*VARIANT_STAGES, *BENCHMARK["variants"]]:
    if _variants.is_learned(_name, VARIANT_DEFS):
        _model = _checked(f"variant {_name}", lambda: _variants.model_config(_name, config["model"], VARIANT_DEFS))
        if _name in VARIANT_STAGES:
            _checked("model.weights", lambda: TRAIN_CONFIG.check_backbone(_model))
if config["model"].get("weights"):
    if not Path(config["model"]["weights"]).expanduser().is_file():
        config_error(f"model.weights: {config['model']['weights']}: backbone weights file does not exist")
    _checked("model.weights", lambda: load_resnet(ModelConfig.from_dict(copy.deepcopy(config["model"])).backbone,
                                                  str(Path(config["model"]["weights"]).expanduser())))

# ---- what a job would refuse hours later, refused now
_checked("benchmark.size", lambda: parse_size(BENCHMARK["size"]))
if not any(_variants.is_learned(v, VARIANT_DEFS) for v in BENCHMARK["variants"]):
    config_error("benchmark.variants: names no learned variant; the training benchmark (train_speed.csv) "
                 "times the learned ones")

# ---- the mechanism probes (rules/probes.smk)
PROBES = config.get("probes") or {}
PROBE_INTERVENTIONS = list(PROBES.get("interventions", []))
PROBE_DATASET = PROBES.get("dataset", "davis2017")
_unknown_probes = [name for name in PROBE_INTERVENTIONS if name not in _interventions.INTERVENTIONS]
if _unknown_probes:
    config_error(f"probes.interventions: unknown {', '.join(map(repr, _unknown_probes))} "
                 f"(registered: {', '.join(_interventions.INTERVENTIONS)})")
if PROBE_INTERVENTIONS and PROBE_DATASET not in DATASETS:
    config_error(f"probes.dataset: {PROBE_DATASET} is not in experiments.datasets (the probes pair with its evaluation)")

# ---- dataset roots: generated synthetic set, or real folders that must hold what the matrix reads
SYNTHETIC = config["data"].get("synthetic")
DATA_ROOTS = dataset_roots(config["data"])
_MAIN_DATASETS = list(TRAIN_CONFIG.main.datasets)
_uses = {}  # data key -> {"train", "val"}
for name in DATASETS:
    _uses.setdefault(DATASET_ROOT_KEY[name], set()).add("val")
if any(stage in ("main_only", "full") for stages in VARIANT_STAGES.values() for stage in stages):
    for name in _MAIN_DATASETS:
        _uses.setdefault(DATASET_ROOT_KEY[name], set()).add("train")
if any(stage in ("pretrain_only", "full") for stages in VARIANT_STAGES.values() for stage in stages):
    _uses.setdefault("coco", set()).add("train")
if not SYNTHETIC:
    for key, uses in sorted(_uses.items()):
        if not DATA_ROOTS.get(key):
            config_error(f"data.{key}: no path given, but the matrix reads it ({', '.join(sorted(uses))}); "
                         "or set data.synthetic")
        problems = root_problems(key, DATA_ROOTS[key], uses)
        if problems:
            config_error(f"data.{key}: {'; '.join(problems)}")

def _davis_train_videos():
    """How many DAVIS-2017 train videos the matrix would train on (None: not known before the data)."""
    if SYNTHETIC:
        return get_preset(SYNTHETIC["preset"]).davis_train
    listing = Path(DATA_ROOTS.get("davis") or "") / "ImageSets" / "2017" / "train.txt"
    return len(listing.read_text().split()) if DATA_ROOTS.get("davis") and listing.is_file() else None


if "davis2017" in _MAIN_DATASETS and TRAIN_CONFIG.main.holdout:
    _videos = _davis_train_videos()
    _problem = None if _videos is None else holdout_problem(TRAIN_CONFIG.main.holdout, _videos)
    if _problem:
        config_error(_problem)

_HOLDOUT_SPLIT = TRAIN_CONFIG.main.holdout_split
if _HOLDOUT_SPLIT and not SYNTHETIC and DATA_ROOTS.get("davis"):
    _listing = Path(DATA_ROOTS["davis"]) / "ImageSets" / "2017" / f"{_HOLDOUT_SPLIT}.txt"
    if not _listing.is_file():
        config_error(f"train.main.holdout_split: {_HOLDOUT_SPLIT!r}: no {_listing} (a real DAVIS root has no "
                     "held-out split: set holdout_split: null, and holdout: N to hold out N train videos)")

# ---- the paper's tables, read by the report
PAPER_DIR = config["report"].get("paper_dir") or str(REPO / "report" / "paper_tables")
if not (Path(PAPER_DIR).expanduser() / "results_davis17.csv").is_file():
    config_error(f"report.paper_dir: {PAPER_DIR}: no results_davis17.csv there; the report's literature rows "
                 "(Tables 1-6, 'as reported by the paper') come from this folder (null: the shipped tables)")


# ---- how a training job starts
def train_command():
    """How a training job starts: `python -m pipelines.train`, or with resources.train.gpu > 1 one process
    per GPU under torchrun (torch.distributed.run) on the job's node, the batch split over the ranks."""
    gpus = int(resources_of("train").get("gpu", 0))
    if gpus <= 1:
        return f"{PY} -m pipelines.train"
    if job_device("train") == "cpu":
        config_error(f"resources.train.gpu: {gpus} GPUs asked for with resources.train.device: cpu")
    for stage in ("pretrain", "main"):
        batch = int(getattr(TRAIN_CONFIG, stage).batch_size)
        if batch % gpus:
            config_error(f"train.{stage}.batch_size: {batch} is not divisible by resources.train.gpu: {gpus} "
                         "(each GPU trains an equal share of the batch)")
    return f"{PY} -m torch.distributed.run --standalone --nproc_per_node {gpus} --module pipelines.train"


TRAIN_COMMAND = train_command()


# ---- the config the CLIs receive: the merged config with the dataset roots filled in
EFFECTIVE = copy.deepcopy(config)
EFFECTIVE["data"].update(DATA_ROOTS)
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

RESULT_TABLES = [f"results/{name}.csv" for name in RESULT_FILES]
"""The tables results/README.md documents: targets of the default rule and inputs of the report."""


def caption(key):
    return str(REPO / "report" / "captions" / f"{key}.rst")


def reported_table(name):
    """results/<name>.csv, flagged for `snakemake --report` when it is one of the report's tables."""
    path = f"results/{name}.csv"
    if name not in REPORT_TABLES:
        return path
    return report(path, caption=caption(name), category=REPORT_TABLES[name])


# ---- how jobs share the CPUs
def _cpu_scale():
    """On one machine, a job of n threads takes n * (--cores / CPUs) of snakemake's cores, so the jobs
    running at once use the machine's CPUs whatever --cores says (jobs x threads = CPUs); clusters
    and dry runs are left as they are."""
    try:
        cores = workflow.cores
    except WorkflowError:
        return 1.0
    cpus = os.cpu_count() or 1
    if not workflow.local_exec or not cores or cores <= cpus:
        return 1.0
    return cores / cpus


CPU_SCALE = _cpu_scale()


def job_threads(kind):
    """Threads of one job of this kind: what its CLI is told to use."""
    return int(resources_of(kind).get("threads", 1))


def job_slots(kind):
    """What a job of this kind takes of snakemake's --cores (see _cpu_scale)."""
    return max(1, math.ceil(job_threads(kind) * CPU_SCALE))


def exclusive_slots(kind):
    """All of snakemake's --cores on one machine: a timing job runs with no other job beside it (also
    before or after the trainings, in whichever order the scheduler picks); its own share elsewhere.

    A job that a cluster executor submitted parses this file again inside its allocation (exec mode
    remote) with --cores all: it must ask for what the planning process asked the cluster for (its own
    share; the planner has no --cores), or srun refuses the step ("More processors requested than
    permitted")."""
    try:
        cores = workflow.cores
    except WorkflowError:
        cores = None
    if workflow.remote_exec or not workflow.local_exec or not cores:
        return job_slots(kind)
    return max(job_slots(kind), int(cores))


# ---- a cluster: what must hold before the first job is submitted (the executor is known only once the
# run starts, not while this file is parsed)
def _check_cluster():
    from pipelines.cluster import accounting_storage, status_command_problem

    plugin = workflow.executor_plugin
    executor = getattr(plugin, "name", None)
    if executor != "slurm":
        return
    command = getattr(workflow.executor_settings, "status_command", None)
    problem = status_command_problem(executor, command, accounting_storage())
    if problem is not None:
        raise WorkflowError(f"cluster error: {problem}")


onstart:
    _check_cluster()


# ---- how jobs share the GPUs: on one machine, one job per card (the jobs on a card would time each other)
LOCAL_GPUS = visible_gpus() if workflow.local_exec and not workflow.remote_exec else 0


def _cap_gpu_jobs():
    """Without a gpu limit given (--resources gpu=N, profiles/local), a local run may start as many GPU
    jobs at once as the machine has GPUs."""
    if LOCAL_GPUS and "gpu" not in workflow.global_resources and hasattr(workflow, "register_resource"):
        workflow.register_resource("gpu", LOCAL_GPUS)


_cap_gpu_jobs()


def job_resources(kind):
    res = resources_of(kind)
    return dict(gpu=job_gpus(res.get("gpu", 0), job_device(kind), LOCAL_GPUS), mem_mb=res.get("mem_mb", 4000),
                runtime=res.get("runtime", 60))


def job_placement(kind):
    """Where and how wide a job runs: torch threads, DataLoader workers, device. Resources, not params:
    they change no result of training, prediction or evaluation, so editing them never reruns a finished
    job (the benchmarks, whose result they are, keep threads and device in their params)."""
    res = resources_of(kind)
    return dict(torch_threads=job_threads(kind), workers=int(res.get("workers", 0)), device=str(job_device(kind)))




# ---- config stamps: what makes a config edit rerun exactly what it changes, in one invocation
def config_stamp(folder, kind, digest):
    """An input named by the hash of the settings a job's result depends on, made by the stamp rule. A
    new hash is a missing stamp: its job runs, and the job reading it reruns ("input files updated by
    another job"), also when jobs upstream of it rerun in the same invocation, where snakemake does not
    compare the params of a job whose other inputs are ancient. An unchanged hash reruns nothing."""
    return f"{folder}/.stamps/{kind}-{digest}.stamp"


rule config_stamp:
    """The stamp of one hash of settings (common.smk config_stamp)."""
    output:
        "{folder}/.stamps/{kind}-{digest}.stamp",
    wildcard_constraints:
        folder="results|evaluations|probes",
        digest="[0-9a-f]+",
    shell:
        "echo 'settings hash {wildcards.digest}' > {output}"


# ---- helpers used by the rules
def data_root(key):
    return DATA_ROOTS[key]


def data_input(key):
    """Input for a dataset root: the synthetic rule's output, or the real folder (ancient: its
    timestamps never trigger retraining; a path change does, through the run hash)."""
    return ancient(DATA_ROOTS[key])


def dataset_root(dataset):
    return DATA_ROOTS[DATASET_ROOT_KEY[dataset]]


def main_data_inputs():
    return [data_input(DATASET_ROOT_KEY[name]) for name in _MAIN_DATASETS]


def stage_data_inputs(stage):
    """The dataset roots a pipelines.train stage reads: COCO for pretrain, the main datasets for main and full."""
    return [data_input("coco")] if stage == "pretrain" else main_data_inputs()


def run_hash(variant, stage, seed):
    return _run_hash(EFFECTIVE, variant, stage, int(seed))


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


def probed_runs():
    """(variant, stage, seed) of every trained run of the matrix the probes act on (none without interventions)."""
    if not PROBE_INTERVENTIONS:
        return []
    return [(v, s, n) for v, s, n in matrix_runs() if s != BASELINE_STAGE]


def loss_files():
    return [f"{run_dir(v, s, n)}/loss.csv" for v, s, n in trained_runs()]


wildcard_constraints:
    variant="[a-z][a-z0-9_]*",
    stage="pretrain_only|main_only|full|none",
    seed=r"\d+",
    dataset="davis2017|davis2016|youtubevos",
