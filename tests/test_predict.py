"""Prediction CLI: palette PNGs for every frame, first-frame / first-appearance masks, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from methods.checkpoint import CheckpointError
from pipelines import predict
from pipelines.common.files import MARKER, DataError
from pipelines.data.davis import DavisDataset
from pipelines.data.masks import read_mask
from pipelines.data.youtubevos import YouTubeVOSDataset
from pipelines.predicting import segment

REPO = Path(__file__).resolve().parent.parent


def test_copy_first_frame_on_davis2017(tmp_path, smoke_data):
    out = tmp_path / "pred"
    root = smoke_data / "DAVIS"
    assert predict.main(["--variant", "copy_first_frame", "--data", str(root), "--dataset", "davis2017",
                         "--out", str(out), "--device", "cpu"]) == 0
    reader = DavisDataset(root, year="2017", split="val")
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == sorted(reader.sequences)
    for name in reader.sequences:
        sample = reader.load_video(name)
        written = sorted(p.stem for p in (out / name).glob("*.png"))
        assert written == sorted(sample.frame_names)
        first = read_mask(out / name / f"{sample.frame_names[0]}.png")
        np.testing.assert_array_equal(first, np.where(sample.given[0] == 255, 0, sample.given[0]))
        last = read_mask(out / name / f"{sample.frame_names[-1]}.png")
        np.testing.assert_array_equal(last, first)  # the baseline copies frame 0 everywhere
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"


def test_davis2016_is_single_object(tmp_path, smoke_data):
    out = tmp_path / "pred16"
    predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2016",
                  "--out", str(out), "--device", "cpu"])
    values = set()
    for png in out.rglob("*.png"):
        values |= set(np.unique(read_mask(png)).tolist())
    assert values <= {0, 1} and 1 in values


def test_youtubevos_objects_start_at_their_first_annotation(tmp_path, smoke_data):
    root = smoke_data / "YouTubeVOS"
    out = tmp_path / "pred_yv"
    predict.main(["--variant", "copy_first_frame", "--data", str(root), "--dataset", "youtubevos",
                  "--split", "valid", "--out", str(out), "--device", "cpu"])
    reader = YouTubeVOSDataset(root, split="valid")
    late = 0
    for name in reader.sequences:
        sample = reader.load_video(name)
        for t, frame in enumerate(sample.frame_names):
            labels = read_mask(out / name / f"{frame}.png")
            present = set(np.unique(labels).tolist()) - {0}
            started = {obj for obj, first in sample.objects.items() if first <= t}
            assert present <= started, f"{name}/{frame}: objects {present - started} before their first frame"
            if t in sample.given:
                new = [obj for obj, first in sample.objects.items() if first == t]
                np.testing.assert_array_equal(np.isin(labels, new), np.isin(sample.given[t], new))
        late += any(first > 0 for first in sample.objects.values())
    assert late, "the smoke YouTube-VOS split has no object introduced mid-video; the test proves little"


def test_trained_checkpoint_predicts(tmp_path, smoke_data):
    from tests.test_train import run_in_process, write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    run_in_process(["--config", str(config), "--variant", "stm_read", "--stage", "main_only", "--out", str(tmp_path / "r")])
    out = tmp_path / "pred"
    predict.main(["--config", str(config), "--checkpoint", str(tmp_path / "r" / "checkpoint.pt"), "--data",
                  str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--out", str(out), "--device", "cpu"])
    reader = DavisDataset(smoke_data / "DAVIS", year="2017", split="val")
    sample = reader.load_video(reader.sequences[0])
    labels = read_mask(out / sample.name / f"{sample.frame_names[1]}.png")
    assert labels.shape == sample.images.shape[1:3]
    assert set(np.unique(labels).tolist()) <= {0, *sample.objects}


def test_bad_input(tmp_path, smoke_data):
    out = tmp_path / "pred"
    with pytest.raises(DataError, match="does not exist"):
        predict.main(["--variant", "copy_first_frame", "--data", str(tmp_path / "missing"), "--dataset",
                      "davis2017", "--out", str(out)])
    with pytest.raises(CheckpointError, match="does not exist"):
        predict.main(["--checkpoint", str(tmp_path / "none.pt"), "--data", str(smoke_data / "DAVIS"),
                      "--dataset", "davis2017", "--out", str(out)])
    with pytest.raises(ValueError, match="learned"):
        predict.main(["--variant", "gvos_scm", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                      "--out", str(out)])
    assert not out.exists()
    result = subprocess.run([sys.executable, "-m", "pipelines.predict", "--variant", "copy_first_frame", "--data",
                             str(tmp_path / "missing"), "--dataset", "davis2017", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error: ")


def test_existing_prediction_is_replaced_only_when_complete(tmp_path, smoke_data, monkeypatch):
    out = tmp_path / "pred"
    predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                  "--out", str(out)])
    (out / "stale").mkdir()
    calls = {"n": 0}
    real = segment.segment_frames

    def failing(engine, video, merge_objects=False, with_truth=False):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(engine, video, merge_objects, with_truth)

    monkeypatch.setattr(segment, "segment_frames", failing)
    with pytest.raises(RuntimeError):
        predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                      "--out", str(out)])
    assert (out / "stale").is_dir() and len(list(tmp_path.iterdir())) == 1
    monkeypatch.setattr(segment, "segment_frames", real)
    predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                  "--out", str(out)])
    assert not (out / "stale").exists()

