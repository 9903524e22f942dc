"""The held-out split a recipe is chosen on: generated apart from train and val, validated on
during training with the columns that time the identity "click", and the SCM-initialisation lever."""

from __future__ import annotations

import filecmp
import math

import numpy as np
import pandas as pd
import pytest
import torch

from methods.checkpoint import load_torch_file
from pipelines.common.files import DataError
from pipelines.data.davis import DavisDataset
from pipelines.data.synthetic import generate, get_preset
from pipelines.data.synthetic.write_davis import object_counts
from pipelines.training.config import TrainConfig
from pipelines.training.data import validation_set
from pipelines.training.validation import VALIDATION_COLUMNS, summarise
from tests.test_train import TINY_MODEL, run_in_process, write_config


def test_the_default_holdout_split_can_time_the_click():
    counts = object_counts(get_preset("default"), "holdout", seed=0)
    assert len(counts) >= 24 and sum(counts) >= 60
    assert sum(c >= 2 for c in counts) >= 0.8 * len(counts)  # mostly multi-object videos


def test_holdout_split_is_disjoint_from_train_and_val(smoke_data):
    splits = {s: set(DavisDataset(smoke_data / "DAVIS", "2017", s).sequences) for s in ("train", "val", "holdout")}
    assert splits["holdout"] and not splits["holdout"] & (splits["train"] | splits["val"])
    listed_2016 = (smoke_data / "DAVIS" / "ImageSets" / "2016")
    assert not (listed_2016 / "holdout.txt").exists()
    # disjoint in content too: no held-out frame is byte-equal to a train or val frame
    images = smoke_data / "DAVIS" / "JPEGImages" / "480p"
    held = {(images / n / "00000.jpg").read_bytes() for n in splits["holdout"]}
    others = {(images / n / "00000.jpg").read_bytes() for n in splits["train"] | splits["val"]}
    assert not held & others


def test_adding_the_holdout_split_changed_no_train_or_val_video(tmp_path, smoke_data):
    preset = get_preset("smoke", {"davis_holdout": "1"})
    generate(tmp_path / "other", preset, seed=0, progress=False)
    for split in ("train", "val"):
        for name in DavisDataset(smoke_data / "DAVIS", "2017", split).sequences:
            for kind in ("JPEGImages", "Annotations"):
                a, b = (root / "DAVIS" / kind / "480p" / name for root in (smoke_data, tmp_path / "other"))
                match, mismatch, errors = filecmp.cmpfiles(a, b, sorted(p.name for p in a.iterdir()), shallow=False)
                assert not mismatch and not errors, (split, name, mismatch)


def test_validation_set_names_the_split_or_refuses_a_missing_list(smoke_data):
    data = {"davis": str(smoke_data / "DAVIS")}
    main = TrainConfig.from_dict({"main": {"holdout_split": "holdout"}}).main
    split, names = validation_set(main, data, None)
    assert split == "holdout" and names == DavisDataset(smoke_data / "DAVIS", "2017", "holdout").sequences
    missing = TrainConfig.from_dict({"main": {"holdout_split": "heldout"}}).main
    with pytest.raises(DataError, match="holdout_split: 'heldout' names no DAVIS-2017 split list"):
        validation_set(missing, data, None)
    for bad, message in (("val", "cannot be the held-out set"), ("train", "cannot be the held-out set")):
        with pytest.raises(ValueError, match=message):
            TrainConfig.from_dict({"main": {"holdout_split": bad}})


def test_summarise_splits_single_and_multi_object_videos_and_brackets_the_mean():
    scores = [(1.0, 1.0), (0.2, 0.4), (0.4, 0.2), (0.6, 0.6)]
    row = summarise(scores, multi=[False, True, True, True])
    assert row["J&F"] == pytest.approx(100 * np.mean([1.0, 0.3, 0.3, 0.6]))
    assert row["J&F_single"] == pytest.approx(100) and row["J&F_multi"] == pytest.approx(40)
    assert (row["objects"], row["objects_single"], row["objects_multi"]) == (4, 1, 3)
    assert row["J&F_low"] <= row["J&F"] <= row["J&F_high"] and row["J&F_low"] < row["J&F_high"]
    assert math.isnan(summarise(scores[1:], multi=[True] * 3)["J&F_single"])


@pytest.mark.parametrize("variant", ["gvos_scm", "no_scm"])
def test_training_validates_on_the_holdout_split_with_every_column(tmp_path, smoke_data, variant):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=2)
    text = config.read_text().replace("datasets:", "holdout_split: holdout\n    validate_every: 1\n    datasets:")
    config.write_text(text)
    out = tmp_path / "run"
    assert run_in_process(["--config", str(config), "--variant", variant, "--stage", "main_only", "--out", str(out)]) == 0
    checks = pd.read_csv(out / "validation.csv")
    assert list(checks.columns) == VALIDATION_COLUMNS and list(checks["iteration"]) == [1, 2]
    holdout_objects = sum(len(DavisDataset(smoke_data / "DAVIS", "2017", "holdout").load_video(n).objects)
                          for n in DavisDataset(smoke_data / "DAVIS", "2017", "holdout").sequences)
    assert (checks["objects"] == holdout_objects).all()
    assert (checks["objects_single"] + checks["objects_multi"] == checks["objects"]).all()
    assert ((checks["J&F_low"] <= checks["J&F"]) & (checks["J&F"] <= checks["J&F_high"])).all()
    gates = checks[["gate_inside", "gate_outside"]]
    if variant == "gvos_scm":
        assert gates.notna().all().all() and ((gates > 0) & (gates < 1)).all().all()
    else:
        assert gates.isna().all().all()


def test_spotlight_initialisation_opens_the_gate_inside_the_previous_mask():
    from methods import variants

    model = variants.build_model("gvos_scm", dict(TINY_MODEL), {})
    embedding = torch.randn(2, model.scm.conv.in_channels - 1, 8, 12)
    previous = torch.zeros(2, 1, 32, 48)
    previous[..., :16, :] = 1
    before = model.scm.gate(embedding, previous)
    model.scm.init_spotlight(inside=0.9, outside=0.1)
    gate = model.scm.gate(embedding, previous)[:, 0]
    assert gate[:, :4].mean() > 0.75 > 0.25 > gate[:, 4:].mean()
    assert not torch.equal(before, model.scm.gate(embedding, previous))
    assert model.scm.conv.weight[:, :-1].abs().sum() > 0  # the embedding channels keep their initialisation


def test_train_scm_init_spotlight_reaches_the_network_trained_from_scratch(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1, scm_init="spotlight")
    config.write_text(config.read_text().replace("lr: 0.001", "lr: 1.0e-09"))
    out = tmp_path / "run"
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "pretrain_only",
                           "--out", str(out)]) == 0
    weights = load_torch_file(out / "checkpoint.pt")["state_dict"]
    assert float(weights["scm.conv.bias"]) == pytest.approx(float(torch.logit(torch.tensor(0.12))), abs=1e-4)
    with pytest.raises(ValueError, match="train.scm_init: 'spot' is not one of default, spotlight"):
        TrainConfig.from_dict({"scm_init": "spot"})


def write_curve(folder, multi: list[float], final: float, gate=(0.6, 0.1)):
    folder.mkdir(parents=True)
    rows = [{"iteration": 250 * (k + 1), "J&F": final if k == len(multi) - 1 else m, "J&F_multi": m,
             "gate_inside": gate[0], "gate_outside": gate[1]} for k, m in enumerate(multi)]
    pd.DataFrame(rows).to_csv(folder / "validation.csv", index=False)


def test_levers_table_pairs_arms_by_seed_and_times_the_click(tmp_path, capsys):
    from pipelines.tools import levers

    for seed, (a, b) in enumerate([(40.0, 52.0), (44.0, 57.0), (30.0, 45.0)]):
        write_curve(tmp_path / "a" / f"seed{seed}", [20, 30, a], final=a + 1)
        write_curve(tmp_path / "b" / f"seed{seed}", [51, 49, b], final=b + 1)
    out = tmp_path / "levers.csv"
    assert levers.main(["--arm", f"base={tmp_path / 'a'}", "--arm", f"spot={tmp_path / 'b'}", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    runs = pd.read_csv(out)
    assert list(runs["seed"]) == [0, 1, 2, 0, 1, 2]
    assert runs.loc[runs["arm"] == "base", "click_iteration"].isna().all()
    assert list(runs.loc[runs["arm"] == "spot", "click_iteration"]) == [250, 250, 250]
    differences = np.array([12.0, 13.0, 15.0])  # paired by seed, in J&F (each final is multi + 1)
    half = 4.302652729911275 * differences.std(ddof=1) / np.sqrt(3)  # t at 2 degrees of freedom
    assert f"spot - base (J&F, 3 seeds, paired): {differences.mean():+.1f} " \
           f"[{differences.mean() - half:+.1f}, {differences.mean() + half:+.1f}]" in printed
    assert "| base | mean ± SD | 39.0 ± 7.2 | 38.0 ± 7.2 | 29.3 ± 2.4 | - | | |" in printed  # (20 + 30 + a) / 3
    assert "spot - base (J&F_multi_over_checks, 3 seeds, paired): +21.1 " in printed  # (100 + b - 50 - a) / 3


def test_levers_refuses_a_curve_without_the_holdout_columns(tmp_path):
    from pipelines.tools import levers

    (tmp_path / "a" / "seed0").mkdir(parents=True)
    pd.DataFrame([{"iteration": 500, "J&F": 30.0}]).to_csv(tmp_path / "a" / "seed0" / "validation.csv", index=False)
    with pytest.raises(DataError, match="no J&F_multi column"):
        levers.arm_runs("a", tmp_path / "a")
    with pytest.raises(DataError, match="no seed"):
        levers.arm_runs("b", tmp_path)
