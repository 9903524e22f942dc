"""docs/extending.md, done as the page says on the tiny model: the linear-attention readout (its file and
its registration), a variant defined in the config, and the F2x metric. The readout trains one iteration,
predicts, is benchmarked with its own memory bytes, and appears in the tables beside the metric."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from methods import memory as memory_registry
from pipelines import benchmark, collect, predict, score
from pipelines.evaluation import metrics

REPO = Path(__file__).resolve().parent.parent
PAGE = (REPO / "docs" / "extending.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE, re.S)


@pytest.fixture
def linear_readout(tmp_path, monkeypatch):
    """The page's readout file, imported, and registered as its registration line does."""
    path = tmp_path / "linear.py"
    path.write_text(blocks("python")[0])
    spec = importlib.util.spec_from_file_location("user_linear_readout", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "user_linear_readout", module)
    spec.loader.exec_module(module)
    registration = blocks("python")[1]
    assert "LinearAttentionMemory" in registration and registration.strip().startswith("READOUTS")
    monkeypatch.setitem(memory_registry.READOUTS, "linear", module.LinearAttentionMemory)
    return module.LinearAttentionMemory


@pytest.fixture
def f2x_metric():
    """The page's metric, registered in pipelines.evaluation.metrics as written there."""
    exec(blocks("python")[2], vars(metrics))  # noqa: S102 - the documented code itself
    yield metrics.METRICS["F2x"]
    metrics.unregister("F2x")


def test_the_worked_example_end_to_end(tmp_path, smoke_data, linear_readout, f2x_metric):
    from tests.test_train import run_in_process, write_config

    config_path = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    config = yaml.safe_load(config_path.read_text())
    user = yaml.safe_load(blocks("yaml")[0])
    config["experiments"] = {"variant_defs": user["experiments"]["variant_defs"]}
    config_path.write_text(yaml.safe_dump(config))

    # trains one iteration (a variant of the config, with the new readout)
    run = tmp_path / "runs" / "linear_read" / "main_only" / "seed0"
    assert run_in_process(["--config", str(config_path), "--variant", "linear_read", "--stage", "main_only",
                           "--out", str(run)]) == 0

    # predicts, and the evaluation has the new metric
    pred = tmp_path / "pred"
    assert predict.main(["--config", str(config_path), "--checkpoint", str(run / "checkpoint.pt"), "--variant",
                         "linear_read", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--out",
                         str(pred), "--device", "cpu"]) == 0
    evaluation = tmp_path / "evaluations" / "linear_read" / "main_only" / "seed0" / "davis2017"
    assert score.main(["--config", str(config_path), "--dataset", "davis2017", "--gt",
                         str(smoke_data / "DAVIS"), "--pred", str(pred), "--variant", "linear_read", "--stage",
                         "main_only", "--seed", "0", "--run-dir", str(run), "--workers", "1", "--out",
                         str(evaluation)]) == 0
    results = tmp_path / "results"
    assert collect.main(["tables", "--config", str(config_path), "--out", str(results), "--evaluations",
                         str(evaluation / "global.csv"), "--losses", str(run / "loss.csv")]) == 0
    accuracy = pd.read_csv(results / "accuracy.csv")
    assert accuracy["variant"].tolist() == ["linear_read"]
    assert {"F2x-Mean", "F2x-Recall", "F2x-Decay"} <= set(accuracy.columns)
    objects = pd.read_csv(results / "per_sequence.csv")
    assert (objects["F2x-Mean"] >= objects["F-Mean"] - 1e-9).all()  # a wider tolerance never matches less

    # is benchmarked, its memory bytes the readout's own
    bench = tmp_path / "bench"
    config["benchmark"] = {"variants": ["linear_read"], "size": [48, 64], "t": [1, 4], "repeats": 1, "warmup": 0}
    config_path.write_text(yaml.safe_dump(config))
    threads = torch.get_num_threads()
    try:
        assert benchmark.main(["--config", str(config_path), "--out", str(bench), "--device", "cpu", "--threads", "1",
                               "--quiet", "--no-breakdown"]) == 0
    finally:
        torch.set_num_threads(threads)
    speed = pd.read_csv(bench / "speed.csv").set_index("t")
    from methods.variants import model_config, variant_defs

    cfg = model_config("linear_read", config["model"], variant_defs(config))
    assert cfg.readout == "linear"
    for t in (1, 4):
        assert speed.loc[t, "memory_bytes"] == linear_readout.state_bytes(cfg, t, 1, cfg.feature_positions(48, 64))
    assert speed.loc[1, "memory_bytes"] == speed.loc[4, "memory_bytes"]  # constant in t, like the GCM


def test_the_pages_intervention_registers_and_acts_on_the_readout():
    from methods import interventions
    from methods.inference import InferenceEngine
    from methods.variants import build_model
    from pipelines.probes import selected_interventions
    from tests.tiny_model import TINY_MODEL

    exec(blocks("python")[4], vars(interventions))  # noqa: S102 - the documented code itself
    try:
        swap = interventions.INTERVENTIONS["readout_swap_objects"]
        engine = InferenceEngine(build_model("gvos_scm", TINY_MODEL))
        assert selected_interventions(["readout_swap_objects"], engine.cfg) == [swap]
        frame, mask = torch.rand(3, 48, 64), torch.zeros(48, 64, dtype=torch.long)
        mask[4:20, 4:30], mask[26:44, 30:60] = 1, 2
        engine.step(frame, mask)
        state = engine.snapshot()
        seen = []
        handle = engine.model.aspp.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].clone()))
        try:
            engine.step(frame)
            engine.restore(state)
            with engine.intervene(swap):
                engine.step(frame)
        finally:
            handle.remove()
        channels = engine.cfg.value_dim
        torch.testing.assert_close(seen[1][:, :channels], seen[0][:, :channels].roll(1, dims=0))
    finally:
        interventions.unregister("readout_swap_objects")



def test_the_pages_frame_group_registers_and_scores_its_frames():
    """The page's frame group, registered in pipelines.evaluation.frame_groups as written there: its columns
    appear in an object's scores, over the frames it names."""
    import numpy as np

    from pipelines.evaluation import frame_groups

    exec(blocks("python")[3], vars(frame_groups))  # noqa: S102 - the documented code itself
    try:
        assert "J&F_e" in frame_groups.group_columns()
        present = np.array([1, 0, 0, 1, 1, 1, 1, 1, 1], dtype=bool)  # back in frame 3, evaluated 1..7
        j = np.arange(7) / 10
        row = frame_groups.object_group_scores({"J": j, "F": j}, present)
        assert row["J_e"] == pytest.approx(j[2:5].mean()) and row["J_r"] == pytest.approx(j[2:].mean())
    finally:
        frame_groups.unregister_frame_group("e")
