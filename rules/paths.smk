# Where every job's files are: the matrix's runs as paths (pipelines.experiment.runs: one pattern for
# runs/, predictions/, evaluations/, probes/, logs/ and benchmarks/), the dataset roots as inputs, the
# config stamps, the report's captions, and the wildcards' values.

from pipelines.experiment import runs as _runs  # noqa: E402
from report.outputs import TABLES as REPORT_TABLES, caption_file  # noqa: E402
from report.results import RESULT_FILES  # noqa: E402

RUNS = _runs.RUNS_ROOT


def run_path(root, *rest):
    """The wildcard pattern of a per-run path: <root>/{variant}/{stage}/seed{seed}[/rest]."""
    return _runs.pattern(root, *rest)


def run_file(variant, stage, seed, name, root=RUNS):
    """One file of one run, under a per-run folder (runs/ by default)."""
    return _runs.Run(variant, stage, int(seed)).under(root, name)


def checkpoint_of(variant, stage, seed):
    return run_file(variant, stage, seed, _runs.RunFolder.CHECKPOINT)


def run_dir(variant, stage, seed):
    return _runs.Run(variant, stage, int(seed)).under(RUNS)


RESULT_TABLES = [f"results/{name}.csv" for name in RESULT_FILES]
"""The tables results/README.md documents: targets of the default rule and inputs of the report."""


def caption(key):
    return str(caption_file(key))


def reported_table(name):
    """results/<name>.csv, flagged for `snakemake --report` when it is one of the report's tables."""
    path = f"results/{name}.csv"
    if name not in REPORT_TABLES:
        return path
    return report(path, caption=caption(name), category=REPORT_TABLES[name])


# ---- dataset roots as inputs
def data_input(key):
    """Input for a dataset root: the synthetic rule's output, or the real folder (ancient: its
    timestamps never trigger retraining; a path change does, through the run hash)."""
    return ancient(DATA_ROOTS[key])


def dataset_root(dataset):
    return DATA_ROOTS[_datasets.get(dataset).root_key]


def dataset_input(dataset):
    return data_input(_datasets.get(dataset).root_key)


def dataset_split(dataset):
    """The split of a dataset that is predicted and scored."""
    return _datasets.get(dataset).split("val")


def stage_data_inputs(stage):
    """The dataset roots a stage reads: the pretraining images, or the main datasets."""
    if not _stages.stage(stage).on_videos:
        return [data_input(_datasets.PRETRAIN_ROOT_KEY)]
    return [dataset_input(name) for name in TRAIN_CONFIG.main.datasets]


def schedule_data_inputs(schedule):
    """The dataset roots a schedule of the training benchmark reads."""
    return stage_data_inputs(_stages.from_scratch(schedule).name)


# ---- the matrix as paths
def matrix_runs():
    """(variant, stage, seed) of every evaluated run: learned variants x stages x seeds, baselines once."""
    return [(run.variant, run.stage, run.seed) for run in MATRIX.evaluated_runs()]


def probed_runs():
    return [(run.variant, run.stage, run.seed) for run in MATRIX.probed_runs()]


def evaluation_files(name):
    return [run_file(v, s, n, f"{d}/{name}", root="evaluations") for v, s, n in matrix_runs() for d in DATASETS]


def loss_files():
    return [run_file(run.variant, run.stage, run.seed, _runs.RunFolder.LOSS) for run in MATRIX.trained_runs()]


# ---- config stamps: what makes a config edit rerun exactly what it changes, in one invocation
def config_stamp(folder, kind, digest):
    """An input named by the hash of the settings a job's result depends on, made by the stamp rule. A
    new hash is a missing stamp: its job runs, and the job reading it reruns ("input files updated by
    another job"), also when jobs upstream of it rerun in the same invocation, where snakemake does not
    compare the params of a job whose other inputs are ancient. An unchanged hash reruns nothing."""
    return f"{folder}/.stamps/{kind}-{digest}.stamp"


rule config_stamp:
    """The stamp of one hash of settings (paths.smk config_stamp)."""
    output:
        "{folder}/.stamps/{kind}-{digest}.stamp",
    wildcard_constraints:
        folder="results|evaluations|probes",
        digest="[0-9a-f]+",
    shell:
        "echo 'settings hash {wildcards.digest}' > {output}"


wildcard_constraints:
    variant="[a-z][a-z0-9_]*",
    stage=_stages.wildcard_pattern(),
    seed=r"\d+",
    dataset="|".join(_datasets.names()),
