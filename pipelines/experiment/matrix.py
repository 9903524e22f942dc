"""The experiment's matrix (variants x stages x seeds x datasets, and the baselines) read from a config,
and every check the workflow makes before its first job: plain functions of the config dict, which the
rules call at parse time and the tests call directly.

A check raises ``ConfigError`` with one line naming the key (``experiments.variants: unknown variant
'x' ...``); ``check_config`` runs them all in the order a user would fix them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from methods import interventions, variants
from methods.backbone import load_resnet
from methods.config import ModelConfig
from pipelines.benchmarking.settings import parse_size
from pipelines.data.synthetic.presets import get_preset
from pipelines.experiment import datasets
from pipelines.experiment.datasets import CLAIMS_DATASET, HOLDOUT_DATASET, PRETRAIN_ROOT_KEY
from pipelines.experiment.paper import PAPER_FILES, default_paper_dir
from pipelines.experiment.roots import dataset_names_problem, dataset_roots, root_problems
from pipelines.experiment.runs import Run
from pipelines.experiment.stages import BASELINE_STAGE, STAGES
from pipelines.training.config import TrainConfig
from pipelines.training.data import holdout_problem


class ConfigError(ValueError):
    """A config the workflow refuses before any job starts; the message names the key."""


def _checked(where: str, check):
    try:
        return check()
    except (ValueError, TypeError, KeyError) as err:
        raise ConfigError(f"{where}: {err}") from None


@dataclass(frozen=True)
class Matrix:
    """What the workflow runs for a config: every learned variant's stages for every seed, the baselines
    once (stage ``none``, first seed), each scored on every dataset."""

    variant_stages: dict[str, list[str]]
    seeds: list[int]
    baselines: list[str]
    datasets: list[str]
    variant_defs: dict
    probe_interventions: list[str]
    probe_dataset: str

    @classmethod
    def from_config(cls, config: dict) -> Matrix:
        experiments = config["experiments"]
        probes = config.get("probes") or {}
        return cls(variant_stages={v: list(s) for v, s in experiments["variants"].items()},
                   seeds=[int(seed) for seed in experiments["seeds"]],
                   baselines=list(experiments.get("baselines") or []),
                   datasets=list(experiments["datasets"]),
                   variant_defs=_checked("experiments.variant_defs", lambda: variants.variant_defs(config)),
                   probe_interventions=list(probes.get("interventions", [])),
                   probe_dataset=probes.get("dataset", CLAIMS_DATASET))

    def evaluated_runs(self) -> list[Run]:
        """Every scored run: learned variants x stages x seeds, then the baselines once."""
        runs = [Run(v, s, n) for v, stages in self.variant_stages.items() for s in stages for n in self.seeds]
        return runs + [Run(baseline, BASELINE_STAGE, self.seeds[0]) for baseline in self.baselines]

    def trained_runs(self) -> list[Run]:
        """Every training run, including the runs a stage starts from (``full`` from ``pretrain_only``)."""
        found = set()
        for variant, stages in self.variant_stages.items():
            for stage in stages:
                for seed in self.seeds:
                    found.add(Run(variant, stage, seed))
                    if STAGES[stage].init_from:
                        found.add(Run(variant, STAGES[stage].init_from, seed))
        return sorted(found)

    def probed_runs(self) -> list[Run]:
        """The trained runs the probes act on (none without interventions)."""
        if not self.probe_interventions:
            return []
        return [run for run in self.evaluated_runs() if run.stage != BASELINE_STAGE]

    def trains(self, schedule: str) -> bool:
        """Whether any run of the matrix trains with ``train.<schedule>`` (its own stage or the one it starts from)."""
        return any(STAGES[run.stage].schedule == schedule for run in self.trained_runs())

    def is_learned(self, variant: str) -> bool:
        return variants.is_learned(variant, self.variant_defs)


# ---------------------------------------------------------------- the checks, in the order a user fixes them

def check_variants(config: dict) -> Matrix:
    """Every variant named is known; learned ones are trained, baselines are not."""
    matrix = Matrix.from_config(config)
    known = variants.catalogue(matrix.variant_defs)
    for where, names in (("experiments.variants", list(matrix.variant_stages)),
                         ("experiments.baselines", matrix.baselines),
                         ("benchmark.variants", list(config["benchmark"]["variants"]))):
        for name in names:
            if name not in known:
                raise ConfigError(f"{where}: unknown variant {name!r} (known: {', '.join(sorted(known))})")
    for name in matrix.variant_stages:
        if not matrix.is_learned(name):
            raise ConfigError(f"experiments.variants: {name!r} is not trained; list it under experiments.baselines")
    for name in matrix.baselines:
        if matrix.is_learned(name):
            raise ConfigError(f"experiments.baselines: {name!r} is a learned variant; list it under "
                              "experiments.variants")
    return matrix


def check_datasets(config: dict) -> None:
    """Every dataset named by the matrix, the training and the probes is registered, every data key known."""
    problem = dataset_names_problem(config)
    if problem:
        raise ConfigError(problem)


def check_model_and_train(config: dict) -> TrainConfig:
    """The model and train sections by their owners' validators, for every learned variant of the matrix,
    and a backbone weights file that exists and loads."""
    matrix = Matrix.from_config(config)
    train = _checked("train", lambda: TrainConfig.from_dict(copy.deepcopy(config["train"])))
    _checked("model", lambda: ModelConfig.from_dict(copy.deepcopy(config["model"])))
    for name in [*matrix.variant_stages, *config["benchmark"]["variants"]]:
        if matrix.is_learned(name):
            model = _checked(f"variant {name}", lambda name=name: variants.model_config(
                name, config["model"], matrix.variant_defs))
            if name in matrix.variant_stages:
                _checked("model.weights", lambda model=model: train.check_backbone(model))
    weights = config["model"].get("weights")
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConfigError(f"model.weights: {weights}: backbone weights file does not exist")
        backbone = ModelConfig.from_dict(copy.deepcopy(config["model"])).backbone
        _checked("model.weights", lambda: load_resnet(backbone, str(path)))
    return train


def check_benchmark(config: dict) -> None:
    """What a benchmark job would refuse hours later."""
    benchmark = config["benchmark"]
    _checked("benchmark.size", lambda: parse_size(benchmark["size"]))
    defs = _checked("experiments.variant_defs", lambda: variants.variant_defs(config))
    if not any(variants.is_learned(v, defs) for v in benchmark["variants"]):
        raise ConfigError("benchmark.variants: names no learned variant; the training benchmark (train_speed.csv) "
                          "times the learned ones")


def check_probes(config: dict) -> None:
    matrix = Matrix.from_config(config)
    unknown = [name for name in matrix.probe_interventions if name not in interventions.INTERVENTIONS]
    if unknown:
        raise ConfigError(f"probes.interventions: unknown {', '.join(map(repr, unknown))} "
                          f"(registered: {', '.join(interventions.INTERVENTIONS)})")
    if datasets.get(matrix.probe_dataset).layout is not datasets.DAVIS:
        raise ConfigError(f"probes.dataset: {matrix.probe_dataset} is not of the DAVIS layout (the probes' oracle "
                          "reads every frame's annotation)")
    if matrix.probe_interventions and matrix.probe_dataset not in matrix.datasets:
        raise ConfigError(f"probes.dataset: {matrix.probe_dataset} is not in experiments.datasets (the probes pair "
                          "with its evaluation)")


def root_uses(config: dict) -> dict[str, set[str]]:
    """data key -> what the matrix reads from its root ('train', 'val')."""
    matrix = Matrix.from_config(config)
    train = TrainConfig.from_dict(copy.deepcopy(config["train"]))
    uses: dict[str, set[str]] = {}
    for name in matrix.datasets:
        uses.setdefault(datasets.get(name).root_key, set()).add("val")
    if any(STAGES[stage].on_videos for stages in matrix.variant_stages.values() for stage in stages):
        for name in train.main.datasets:
            uses.setdefault(datasets.get(name).root_key, set()).add("train")
    if matrix.trains("pretrain"):
        uses.setdefault(PRETRAIN_ROOT_KEY, set()).add("train")
    return uses


def check_data_roots(config: dict) -> None:
    """Real dataset folders hold what the matrix reads (the synthetic set is generated by the workflow)."""
    if config["data"].get("synthetic"):
        return
    roots = dataset_roots(config["data"])
    problems = []  # every root at once: a user fixes them in one go, not one dry run each
    for key, uses in sorted(root_uses(config).items()):
        if not roots.get(key):
            problems.append(f"data.{key}: no path given, but the matrix reads it ({', '.join(sorted(uses))}); "
                            "or set data.synthetic")
        elif found := root_problems(key, roots[key], uses):
            problems.append(f"data.{key}: {'; '.join(found)}")
    if problems:
        raise ConfigError(" | ".join(problems))


def holdout_train_videos(config: dict) -> int | None:
    """How many train videos of the holdout dataset the matrix would train on (None: not known before the data)."""
    synthetic = config["data"].get("synthetic")
    if synthetic:
        return get_preset(synthetic["preset"]).davis_train
    holdout = datasets.get(HOLDOUT_DATASET)
    root = dataset_roots(config["data"]).get(holdout.root_key)
    listing = holdout.split_list(root or "", holdout.split("train"))
    return len(listing.read_text().split()) if root and listing.is_file() else None


def check_holdout(config: dict) -> None:
    """The held-out videos leave videos to train on, and a held-out split list exists in a real root."""
    train = TrainConfig.from_dict(copy.deepcopy(config["train"]))
    if HOLDOUT_DATASET in train.main.datasets and train.main.holdout:
        videos = holdout_train_videos(config)
        problem = None if videos is None else holdout_problem(train.main.holdout, videos)
        if problem:
            raise ConfigError(problem)
    split = train.main.holdout_split
    holdout = datasets.get(HOLDOUT_DATASET)
    root = dataset_roots(config["data"]).get(holdout.root_key)
    if split and not config["data"].get("synthetic") and root:
        listing = holdout.split_list(root, split)
        if not listing.is_file():
            raise ConfigError(f"train.main.holdout_split: {split!r}: no {listing} (a real DAVIS root has no "
                              "held-out split: set holdout_split: null, and holdout: N to hold out N train videos)")


def paper_dir(config: dict) -> str:
    """The folder of the paper's tables the report reads (``report.paper_dir``, or the shipped ones)."""
    return (config.get("report") or {}).get("paper_dir") or str(default_paper_dir())


def check_paper_dir(config: dict) -> None:
    folder = paper_dir(config)
    if not (Path(folder).expanduser() / PAPER_FILES["table5_davis17"]).is_file():
        raise ConfigError(f"report.paper_dir: {folder}: no {PAPER_FILES['table5_davis17']} there; the report's "
                          "literature rows (Tables 1-6, 'as reported by the paper') come from this folder "
                          "(null: the shipped tables)")


def check_train_launch(config: dict) -> int:
    """The GPUs a training job spreads over (resources.train.gpu) agree with its device and batch sizes;
    returns the number of processes (1: no torchrun)."""
    resources = (config.get("resources") or {}).get("train") or {}
    gpus = int(resources.get("gpu", 0))
    if gpus <= 1:
        return 1
    if resources.get("device", "auto") == "cpu":
        raise ConfigError(f"resources.train.gpu: {gpus} GPUs asked for with resources.train.device: cpu")
    train = TrainConfig.from_dict(copy.deepcopy(config["train"]))
    for schedule in ("pretrain", "main"):
        batch = int(getattr(train, schedule).batch_size)
        if batch % gpus:
            raise ConfigError(f"train.{schedule}.batch_size: {batch} is not divisible by resources.train.gpu: {gpus} "
                              "(each GPU trains an equal share of the batch)")
    return gpus


def check_config(config: dict) -> Matrix:
    """Every check, in the order a user would fix them; the matrix of a config that passes."""
    matrix = check_variants(config)
    check_datasets(config)
    check_model_and_train(config)
    check_benchmark(config)
    check_probes(config)
    check_data_roots(config)
    check_holdout(config)
    check_paper_dir(config)
    check_train_launch(config)
    return matrix

