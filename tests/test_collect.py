"""pipelines.collect on fake per-run outputs: evaluation summaries, per-object rows, loss logs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines import collect, score
from pipelines.common.intervals import bootstrap_interval
from pipelines.common.provenance import run_hash
from pipelines.tables import scores

REPO = Path(__file__).resolve().parent.parent

CONFIG = {"data": {"synthetic": {"preset": "smoke", "seed": 0}}, "model": {"key_dim": 8},
          "train": {"pretrain": {"iterations": 2}, "main": {"iterations": 3}},
          "evaluate": {"bootstrap_samples": 500, "bootstrap_seed": 0}}


def fake_result(j_values, f_values, youtube=False):
    """What the evaluator API returns (EvalResult's tables): fractions, the suite's column names."""
    n = len(j_values)
    per_object = pd.DataFrame({"sequence": [f"seq{i // 2}" for i in range(n)], "object": [i % 2 + 1 for i in range(n)],
                               "J-Mean": j_values, "J-Recall": [0.5] * n, "J-Decay": [0.01] * n,
                               "F-Mean": f_values, "F-Recall": [0.6] * n, "F-Decay": [-0.02] * n})
    j, f = float(np.mean(j_values)), float(np.mean(f_values))
    glob = {"J&F-Mean": (j + f) / 2, "J-Mean": j, "J-Recall": 0.5, "J-Decay": 0.01, "F-Mean": f,
            "F-Recall": 0.6, "F-Decay": -0.02}
    if youtube:
        glob = {"overall": 0.55, "J_seen": 0.6, "J_unseen": 0.4, "F_seen": 0.7, "F_unseen": 0.5}
        per_object = per_object.assign(category="ball", seen=True)
    return SimpleNamespace(global_=pd.DataFrame([glob]), per_sequence=None, per_object=per_object)


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def run_evaluate(monkeypatch, tmp_path, config_file, variant, stage, seed, dataset, result):
    monkeypatch.setattr(scores, "run_evaluator", lambda *args, **kwargs: result)
    pred = tmp_path / "pred" / variant / stage / str(seed) / dataset
    pred.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "evaluations" / variant / stage / f"seed{seed}" / dataset
    gt = tmp_path / "gt"  # beside the outputs: an output inside an input folder is refused
    gt.mkdir(exist_ok=True)
    score.main(["--config", str(config_file), "--dataset", dataset, "--gt", str(gt),
                  "--pred", str(pred), "--variant", variant, "--stage", stage, "--seed", str(seed),
                  "--out", str(out)])
    return out


def test_evaluate_writes_percent_summary_with_bootstrap(monkeypatch, tmp_path, config_file):
    j = [0.2, 0.4, 0.6, 0.8]
    f = [0.3, 0.5, 0.7, 0.9]
    out = run_evaluate(monkeypatch, tmp_path, config_file, "gvos_scm", "full", 0, "davis2017", fake_result(j, f))
    row = pd.read_csv(out / "global.csv").iloc[0]
    assert row["J&F-Mean"] == pytest.approx(55.0)
    assert row["J-Mean"] == pytest.approx(50.0) and row["F-Recall"] == pytest.approx(60.0)
    assert row["JF_ci_low"] < 55.0 < row["JF_ci_high"]
    assert row["n_objects"] == 4 and row["split"] == "val" and row["data"] == "synthetic"
    assert row["config_hash"] == run_hash(CONFIG, "gvos_scm", "full", 0)
    objects = pd.read_csv(out / "per_object.csv")
    assert list(objects["sequence"]) == ["seq0", "seq0", "seq1", "seq1"]
    assert list(objects["object"]) == [1, 2, 1, 2]
    assert objects["J&F-Mean"].tolist() == pytest.approx([25.0, 45.0, 65.0, 85.0])


def test_evaluate_youtubevos_columns(monkeypatch, tmp_path, config_file):
    out = run_evaluate(monkeypatch, tmp_path, config_file, "copy_first_frame", "none", 0, "youtubevos",
                       fake_result([0.5, 0.7], [0.6, 0.8], youtube=True))
    row = pd.read_csv(out / "global.csv").iloc[0]
    assert row["split"] == "valid"
    assert (row["J_seen"], row["J_unseen"], row["F_seen"], row["F_unseen"], row["overall"]) == pytest.approx(
        (60.0, 40.0, 70.0, 50.0, 55.0))
    assert row["J-Mean"] == pytest.approx(60.0)  # from the per-object rows when the global table lacks it
    assert np.isnan(row["J-Recall"])  # YouTube-VOS gives no recall
    assert row["config_hash"] == run_hash(CONFIG, "copy_first_frame", "none", 0)


def test_evaluate_rejects_percentages_from_the_evaluator(monkeypatch, tmp_path, config_file):
    with pytest.raises(ValueError, match="fractions"):
        run_evaluate(monkeypatch, tmp_path, config_file, "copy_first_frame", "none", 0, "davis2017",
                     fake_result([50.0, 60.0], [55.0, 65.0]))


def test_tables_from_per_run_outputs(monkeypatch, tmp_path, config_file):
    summaries = []
    rng = np.random.default_rng(1)
    for seed in (0, 1, 2):
        j = rng.uniform(0.3, 0.9, size=6)
        result = fake_result(j, j + 0.05)
        summaries.append(run_evaluate(monkeypatch, tmp_path, config_file, "gvos_scm", "full", seed, "davis2017",
                                      result) / "global.csv")
    summaries.append(run_evaluate(monkeypatch, tmp_path, config_file, "copy_first_frame", "none", 0, "davis2017",
                                  fake_result([0.1, 0.2], [0.1, 0.2])) / "global.csv")
    losses = []
    for stage in ("pretrain_only", "full"):
        path = tmp_path / "runs" / "gvos_scm" / stage / "seed0" / "loss.csv"
        path.parent.mkdir(parents=True)
        pd.DataFrame({"iteration": [10, 20], "loss": [1.0, 0.5], "lr": [1e-3, 1e-3]}).to_csv(path, index=False)
        losses.append(path)
    out = tmp_path / "results"
    collect.main(["tables", "--config", str(config_file), "--out", str(out),
                  "--evaluations", *map(str, summaries), "--losses", *map(str, losses)])

    accuracy = pd.read_csv(out / "accuracy.csv")
    assert len(accuracy) == 4
    for column in ["variant", "stage", "seed", "dataset", "split", "device", "commit", "config_hash",
                   "J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay",
                   "JF_ci_low", "JF_ci_high", "n_objects"]:
        assert column in accuracy.columns, column
    assert accuracy["config_hash"].nunique() == 4  # seeds and variants hash apart

    summary = pd.read_csv(out / "accuracy_summary.csv").set_index("variant")
    full = summary.loc["gvos_scm"]
    seeds_jf = accuracy[accuracy["variant"] == "gvos_scm"]["J&F-Mean"]
    assert full["n_seeds"] == 3 and full["seeds"] == "0;1;2"
    assert full["J&F-Mean"] == pytest.approx(seeds_jf.mean())
    assert full["JF_seed_ci_low"] < full["J&F-Mean"] < full["JF_seed_ci_high"]
    assert full["JF_seed_sd"] == pytest.approx(seeds_jf.std(ddof=1))
    assert np.isnan(summary.loc["copy_first_frame"]["JF_seed_ci_low"])  # one seed: no seed interval

    per_sequence = pd.read_csv(out / "per_sequence.csv")
    assert len(per_sequence) == 3 * 6 + 2
    assert {"sequence", "object", "J&F-Mean", "commit"} <= set(per_sequence.columns)

    loss = pd.read_csv(out / "training_loss.csv")
    assert len(loss) == 4 and set(loss["stage"]) == {"pretrain_only", "full"}
    assert {"iteration", "loss", "lr", "variant", "seed", "config_hash"} <= set(loss.columns)


def test_runs_table_has_one_row_per_run_with_its_hash_and_the_keys_that_differ(monkeypatch, tmp_path):
    """Provenance: baseline and learned runs, each with the run hash its rows carry, the precision its
    run folder recorded, and only the changed settings it depends on (main.lr is not a pretrain_only key).
    The run's config is the workflow's effective one; the default is the repository's config/config.yaml."""
    from pipelines.common.config_file import load_config
    from pipelines.experiment.roots import effective_config

    default_file = REPO / "config" / "config.yaml"
    config = effective_config(load_config(default_file))
    config["train"]["main"]["lr"] = 5.0e-4
    config_file = tmp_path / "effective.yaml"
    config_file.write_text(yaml.safe_dump(config))
    summaries = [run_evaluate(monkeypatch, tmp_path, config_file, "copy_first_frame", "none", 0, "davis2017",
                              fake_result([0.1, 0.2], [0.1, 0.2])) / "global.csv"]
    losses = []
    for stage in ("pretrain_only", "main_only"):
        folder = tmp_path / "runs" / "gvos_scm" / stage / "seed1"
        folder.mkdir(parents=True)
        pd.DataFrame({"iteration": [1], "loss": [1.0]}).to_csv(folder / "loss.csv", index=False)
        (folder / "config.yaml").write_text(yaml.safe_dump({"run": {"device": "cpu: test", "precision": "float32"}}))
        losses.append(folder / "loss.csv")
    out = tmp_path / "results"
    collect.main(["tables", "--config", str(config_file), "--default-config", str(default_file), "--out", str(out),
                  "--evaluations", *map(str, summaries), "--losses", *map(str, losses)])

    runs = pd.read_csv(out / "runs.csv").set_index(["variant", "stage"])
    assert list(runs.index) == [("copy_first_frame", "none"), ("gvos_scm", "main_only"), ("gvos_scm", "pretrain_only")]
    main = runs.loc[("gvos_scm", "main_only")]
    assert main["run_hash"] == run_hash(config, "gvos_scm", "main_only", 1)
    assert main["precision"] == "float32" and main["device"] == "cpu: test"
    assert main["changed_keys"] == "train.main.lr=0.0005"
    assert runs.loc[("gvos_scm", "pretrain_only"), "changed_keys"] == "none"
    assert runs.loc[("copy_first_frame", "none"), "precision"] == "none"
    accuracy = pd.read_csv(out / "accuracy.csv")
    assert accuracy["config_hash"].iloc[0] == runs.loc[("copy_first_frame", "none"), "run_hash"]


def test_changed_keys_name_each_differing_setting_with_its_value():
    from pipelines.common.provenance import changed_keys

    default = {"data": {"synthetic": {"preset": "default"}}, "model": {"key_dim": 64},
               "train": {"log_every": 10, "main": {"lr": 1e-4, "iterations": 600}, "pretrain": {"lr": 1e-5}}}
    edited = {"data": {"synthetic": {"preset": "default"}}, "model": {"key_dim": 32},
              "train": {"log_every": 1, "main": {"lr": 1e-4, "iterations": 900}, "pretrain": {"lr": 1e-5}}}
    assert changed_keys(edited, default, "main_only") == ["model.key_dim=32", "train.main.iterations=900"]
    assert changed_keys(edited, default, "pretrain_only") == ["model.key_dim=32"]
    assert changed_keys(edited, default, "none") == []  # a baseline depends on the data only
    assert changed_keys(default, default, "full") == []


def test_tables_reject_a_loss_log_without_loss_column(tmp_path, config_file, capsys):
    path = tmp_path / "runs" / "gvos_scm" / "full" / "seed0" / "loss.csv"
    path.parent.mkdir(parents=True)
    path.write_text("iteration,total\n1,0.5\n")
    from pipelines.common.cli import run_cli

    with pytest.raises(SystemExit) as exit_info:
        run_cli(collect.main, ["tables", "--config", str(config_file), "--out", str(tmp_path / "r"),
                               "--losses", str(path)])
    assert exit_info.value.code == 2
    assert "lacks column(s) loss" in capsys.readouterr().err
    assert not (tmp_path / "r" / "accuracy.csv").exists()


def test_bootstrap_is_deterministic_and_brackets_the_mean():
    values = np.linspace(0, 100, 40)
    first = bootstrap_interval(values, 1000, seed=3)
    assert first == bootstrap_interval(values, 1000, seed=3)
    assert first[0] < values.mean() < first[1]
    assert bootstrap_interval([7.0], 100) == (7.0, 7.0)




def test_the_embedded_default_run_differs_from_the_default_in_no_setting():
    """The workflow hands collect its effective config (schema defaults filled, dataset roots resolved);
    the default it is compared with is read the same way, so the default run's page says "the embedded
    default", not "5 settings changed" (the synthetic roots and train.compile)."""
    from pipelines.common.config_file import load_config
    from pipelines.experiment.roots import effective_config
    from pipelines.tables.results import runs_table

    default = load_config(REPO / "config" / "config.yaml")
    accuracy = pd.DataFrame([{"variant": "gvos_scm", "stage": stage, "seed": 0} for stage in ("pretrain_only", "full")])
    runs = runs_table(accuracy, [], effective_config(default), default)
    assert list(runs["changed_keys"]) == ["none", "none"]
    edited = effective_config({**default, "model": {**default["model"], "key_dim": 8}})
    assert list(runs_table(accuracy, [], edited, default)["changed_keys"]) == ["model.key_dim=8"] * 2
