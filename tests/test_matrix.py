"""The words of the experiment (pipelines.experiment): the workflow's config checks called as functions,
a dataset registered in one place and used by every step, and one stage vocabulary for every command."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines import collect, predict, score, train
from pipelines.common.config_file import schema_problem
from pipelines.experiment import datasets, matrix, runs, stages
from pipelines.experiment.roots import dataset_roots

REPO = Path(__file__).resolve().parent.parent


def merged(overrides: dict, base: str = "config.yaml") -> dict:
    """config/<base> with ``overrides`` merged over it, as snakemake's --configfile merges."""
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config" / base).read_text())
    update_config(config, copy.deepcopy(overrides))
    return config


def refusal(config: dict) -> str | None:
    """What the workflow says before its first job: the schema's bounds, then every matrix check."""
    problem = schema_problem(config)
    if problem:
        return problem
    try:
        matrix.check_config(config)
    except matrix.ConfigError as err:
        return str(err)
    return None


BAD_CONFIGS = [
    ({"experiments": {"variants": {"gvos_scm": ["full"], "not_a_net": ["full"]}}}, "unknown variant 'not_a_net'"),
    ({"benchmark": {"variants": ["gvos_scm", "nope"]}}, "benchmark.variants: unknown variant 'nope'"),
    ({"experiments": {"variants": {"copy_first_frame": ["full"]}}}, "is not trained"),
    ({"experiments": {"baselines": ["gvos_scm"]}}, "experiments.baselines: 'gvos_scm' is a learned variant"),
    ({"experiments": {"datasets": ["kitti"]}}, "experiments.datasets: 'kitti' is not a registered dataset"),
    ({"train": {"main": {"datasets": ["kitti"]}}}, "train.main.datasets: 'kitti' is not a registered dataset"),
    ({"data": {"dvis": "/somewhere"}}, "data.dvis: not a data key"),
    ({"data": {"synthetic": None, "davis": "/nonexistent/DAVIS", "youtubevos": "/nonexistent/YTVOS",
               "coco": "/nonexistent/COCO"}}, "dataset folder does not exist"),
    ({"data": {"synthetic": None}}, "no path given"),
    ({"train": {"main": {"iterations": -5}}}, "train.main.iterations: -5 is less than the minimum of 1"),
    ({"train": {"main": {"iterations": 10, "warmup": 10}}}, "train.main.warmup"),
    ({"train": {"main": {"holdout": 60, "holdout_split": None}}},
     "train.main.holdout: 60 held-out videos leave none of the 60"),
    ({"train": {"main": {"holdout_split": "val"}}}, "train.main.holdout_split:"),
    ({"train": {"main": {"holdout": 3}}}, "set holdout (train videos held out) or holdout_split"),
    ({"train": {"scm_init": "spot"}}, "train.scm_init: 'spot' is not one of"),
    ({"train": {"main": {"lr": float("inf")}}}, "train.main.lr: inf is greater than the maximum of 1"),
    ({"benchmark": {"size": "8x8"}}, "benchmark.size: --size '8x8'"),
    ({"benchmark": {"variants": ["copy_first_frame"]}}, "benchmark.variants: names no learned variant"),
    ({"report": {"paper_dir": "/nonexistent"}}, "report.paper_dir: /nonexistent: no results_davis17.csv"),
    ({"resources": {"train": {"gpu": 3, "device": "cuda"}}},
     "train.pretrain.batch_size: 4 is not divisible by resources.train.gpu: 3"),
    ({"resources": {"train": {"gpu": 2, "device": "cpu"}}}, "resources.train.gpu: 2 GPUs asked for"),
    ({"probes": {"interventions": ["readout_zero", "scm_mask_typo"]}}, "probes.interventions: unknown 'scm_mask_typo'"),
    ({"probes": {"dataset": "davis2016"}, "experiments": {"datasets": ["davis2017"]}},
     "probes.dataset: davis2016 is not in experiments.datasets"),
    ({"probes": {"dataset": "youtubevos"}}, "probes.dataset: youtubevos is not of the DAVIS layout"),
    ({"model": {"weights": "/nonexistent/resnet.pth"}}, "model.weights: /nonexistent/resnet.pth: backbone weights file"),
]


@pytest.mark.parametrize(("overrides", "says"), BAD_CONFIGS, ids=[m[:40] for _, m in BAD_CONFIGS])
def test_each_check_refuses_its_config_naming_the_key(overrides, says):
    problem = refusal(merged(overrides))
    assert problem is not None and says in problem, problem


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "extended.yaml"])
def test_the_shipped_configs_pass_every_check(name):
    config = merged(yaml.safe_load((REPO / "config" / name).read_text()) if name != "config.yaml" else {})
    assert refusal(config) is None


def test_real_dataset_roots_are_checked_for_what_the_matrix_reads(tmp_path, smoke_data):
    davis = tmp_path / "DAVIS"
    davis.mkdir()
    for part in ("JPEGImages", "ImageSets"):
        (davis / part).symlink_to(smoke_data / "DAVIS" / part)
    data = {"synthetic": None, "davis": str(davis), "youtubevos": str(smoke_data / "YouTubeVOS"),
            "coco": str(smoke_data / "COCO")}
    assert refusal(merged({"data": data})) == (f"data.davis: {davis}: missing Annotations/480p (not a davis root?) | "
                                               f"data.davis2016: {davis}: missing Annotations/480p (not a davis2016 "
                                               "root?)")  # DAVIS-2016 reads the DAVIS root when given none
    assert refusal(merged({"data": {**data, "davis": str(smoke_data / "DAVIS")}})) is None
    uses = matrix.root_uses(merged({}))
    trained = set(merged({})["train"]["main"]["datasets"])
    assert uses == {"davis": {"train", "val"}, "davis2016": {"val"}, "coco": {"train"},
                    "youtubevos": {"train", "val"} if "youtubevos" in trained else {"val"}}


def test_weights_that_are_not_a_state_dict_are_refused(tmp_path):
    weights = tmp_path / "resnet.pth"
    weights.write_text("<html>a download that went wrong</html>")
    problem = refusal(merged({"model": {"weights": str(weights)}}))
    assert problem.startswith(f"model.weights: {weights}: cannot read backbone weights") and "Traceback" not in problem


def test_the_matrix_lists_every_run_once():
    config = merged(yaml.safe_load((REPO / "config" / "smoke.yaml").read_text()))
    grid = matrix.Matrix.from_config(config)
    evaluated, trained = grid.evaluated_runs(), grid.trained_runs()
    assert len(evaluated) == len(set(evaluated)) and len(trained) == len(set(trained))
    assert runs.Run("copy_first_frame", stages.BASELINE_STAGE, grid.seeds[0]) in evaluated
    for run in evaluated:  # a full run's pretraining is trained even where it is not scored
        if run.stage == stages.FULL.name:
            assert runs.Run(run.variant, stages.FULL.init_from, run.seed) in trained


def test_a_run_is_read_back_from_any_of_its_paths():
    run = runs.Run("gvos_scm", "full", 2)
    for path in (run.under("runs", "loss.csv"), run.under("evaluations", "davis2017", "global.csv"),
                 Path(run.under(runs.RUNS_ROOT, runs.RunFolder.CHECKPOINT))):
        assert runs.Run.from_path(Path(path).parent) == run or runs.Run.from_path(path) == run
    assert runs.pattern("runs", "loss.csv").format(variant="a", stage="b", seed=3) == "runs/a/b/seed3/loss.csv"
    with pytest.raises(ValueError, match="seed<N>"):
        runs.Run.from_path("runs/gvos_scm/full/loss.csv")


def test_every_command_takes_the_same_stage_names(tmp_path):
    """The stage of results/accuracy.csv is what `pipelines.train --stage` and `pipelines.predict --stage` take."""
    names = list(stages.STAGES)
    assert names == ["pretrain_only", "main_only", "full"]
    with pytest.raises(SystemExit):
        train.parse_args(["--config", "c.yaml", "--variant", "gvos_scm", "--stage", "main", "--out", str(tmp_path)])
    for name in names:
        args = train.parse_args(["--config", "c.yaml", "--variant", "gvos_scm", "--stage", name, "--out", str(tmp_path)])
        assert args.stage == name
        args = predict.parse_args(["--checkpoint", "c.pt", "--stage", name, "--data", "d", "--dataset", "davis2017",
                                   "--out", str(tmp_path / "p")])
        assert args.stage == name


@pytest.fixture
def mose(smoke_data):
    """A dataset of the YouTube-VOS layout registered under its own name and data key, in one call."""
    entry = datasets.register(datasets.Dataset("mose", "MOSE", datasets.YOUTUBEVOS, root_key="mose"))
    try:
        yield entry
    finally:
        datasets.unregister("mose")


def test_a_dataset_registered_in_one_place_is_checked_read_predicted_evaluated_and_collected(
        mose, smoke_data, tmp_path):
    root = smoke_data / "YouTubeVOS"
    overrides = {"experiments": {"datasets": ["davis2017", "mose"]},
                 "data": {"mose": str(root)}}
    config = merged(overrides, "config.yaml")
    assert refusal(config) is None  # the config check
    assert dataset_roots(config["data"])["mose"] == str(root)
    assert matrix.root_uses(config)["mose"] == {"val"}
    real = merged({**overrides, "data": {"synthetic": None, "davis": str(smoke_data / "DAVIS"),
                                         "youtubevos": str(root), "coco": str(smoke_data / "COCO"), "mose": str(root)}})
    assert refusal(real) is None
    assert refusal(merged({**overrides, "data": {"synthetic": None, "davis": str(smoke_data / "DAVIS"),
                                                 "youtubevos": str(root), "coco": str(smoke_data / "COCO")}})) \
        == "data.mose: no path given, but the matrix reads it (val); or set data.synthetic"

    reader = mose.reader(root, "val")  # read
    assert reader.sequences and mose.split("val") == "valid"

    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    pred = tmp_path / "predictions" / "copy_first_frame" / "none" / "seed0" / "mose"
    assert predict.main(["--config", str(config_path), "--variant", "copy_first_frame", "--data", str(root),
                         "--dataset", "mose", "--out", str(pred)]) == 0  # predicted
    assert sorted(p.name for p in pred.iterdir() if p.is_dir()) == sorted(reader.sequences)

    scored = tmp_path / "evaluations" / "copy_first_frame" / "none" / "seed0" / "mose"
    assert score.main(["--config", str(config_path), "--dataset", "mose", "--gt", str(root),
                         "--pred", str(pred), "--variant", "copy_first_frame", "--stage", "none", "--seed", "0",
                         "--workers", "1", "--out", str(scored)]) == 0  # evaluated
    summary = pd.read_csv(scored / "global.csv")
    assert summary.loc[0, "split"] == "valid" and summary.loc[0, "dataset"] == "mose"

    results = tmp_path / "results"
    assert collect.main(["tables", "--config", str(config_path), "--evaluations", str(scored / "global.csv"),
                         "--out", str(results)]) == 0  # collected
    accuracy = pd.read_csv(results / "accuracy.csv")
    assert list(accuracy["dataset"]) == ["mose"] and accuracy.loc[0, "J&F-Mean"] > 0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"train": {"main": {"iteration": 5}}},
     "train.main: unknown key 'iteration'; did you mean 'iterations'? (config/schema.yaml)"),
    ({"train": {"main": {"lr": "1e-4"}}},
     "train.main.lr: '1e-4' is text to YAML 1.1 (a number in exponent form needs a dot and a signed exponent); "
     "write 1.0e-4 (config/schema.yaml)"),
    ({"modle": {}}, "top level: unknown key 'modle'; did you mean 'model'? (config/schema.yaml)"),
])
def test_a_config_mistake_is_named_in_one_line_with_its_fix(overrides, message):
    assert schema_problem(overrides) == message


def test_the_suggested_spelling_of_a_number_reads_as_a_number():
    problem = schema_problem({"train": {"main": {"lr": "1.0e4"}}})
    assert isinstance(yaml.safe_load(problem.split("write ")[1].split(" ")[0]), float)


def test_every_missing_dataset_root_is_listed_at_once():
    problem = refusal(merged({"data": {"synthetic": None, "davis": "/nonexistent/DAVIS"}}))
    assert problem == ("data.coco: no path given, but the matrix reads it (train); or set data.synthetic | "
                       "data.davis: /nonexistent/DAVIS: dataset folder does not exist | "
                       "data.davis2016: /nonexistent/DAVIS: dataset folder does not exist | "
                       "data.youtubevos: no path given, but the matrix reads it (train, val); or set data.synthetic")
