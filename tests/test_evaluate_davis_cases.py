"""DAVIS evaluation on tiny hand-made sets: known values, DAVIS-2016 merging and every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.common.files import DataError
from pipelines.data.masks import write_mask
from pipelines.evaluate import evaluate_davis, main

H, W = 24, 32


def square(y: int, x: int, size: int = 6, obj: int = 1, base: np.ndarray | None = None) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8) if base is None else base.copy()
    mask[y : y + size, x : x + size] = obj
    return mask


def two_objects(t: int) -> np.ndarray:
    return square(2 + t, 2 + t, obj=2, base=square(12, 20, obj=1))


def make_davis(root: Path, sequences: dict[str, list[np.ndarray]], year: str = "2017") -> Path:
    for name, frames in sequences.items():
        for t, mask in enumerate(frames):
            write_mask(root / "Annotations" / "480p" / name / f"{t:05d}.png", mask)
    (root / "ImageSets" / year).mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / year / "val.txt").write_text("\n".join(sequences) + "\n")
    return root


def write_pred(pred: Path, name: str, frames: list[np.ndarray]) -> None:
    for t, mask in enumerate(frames):
        write_mask(pred / name / f"{t:05d}.png", mask)


@pytest.fixture
def dataset(tmp_path):
    gt = {"alpha": [two_objects(t) for t in range(5)], "beta": [square(5, 5 + t) for t in range(4)]}
    root = make_davis(tmp_path / "DAVIS", gt)
    pred = tmp_path / "pred"
    for name, frames in gt.items():
        write_pred(pred, name, frames)
    return root, pred, gt


def run_main(root: Path, pred: Path, out: Path, *extra: str) -> int:
    return main(["--gt", str(root), "--pred", str(pred), "--split", "val", "--out", str(out), *extra])


def test_perfect_prediction_scores_one(dataset, tmp_path):
    root, pred, _ = dataset
    result = evaluate_davis(root, pred, workers=2)
    assert list(result.per_sequence["Sequence"]) == ["alpha_1", "alpha_2", "beta_1"]
    assert (result.per_frame[["J", "F"]] == 1.0).all().all()
    assert result.global_["J&F-Mean"].item() == 1.0 and result.global_["J-Decay"].item() == 0.0
    assert result.object_frames == 3 + 3 + 2  # first and last frames are not evaluated


def test_known_values_missing_object_and_ignored_end_frames(dataset, tmp_path):
    root, pred, gt = dataset
    frames = [square(12, 20, obj=1) for _ in range(5)]  # object 2 never predicted
    frames[1] = square(12, 23, obj=1)  # half the square: J = 18 / 36 ... shifted by 3 of 6 columns
    frames[0] = frames[-1] = np.full((H, W), 2, np.uint8)  # first / last frame are never read
    write_pred(pred, "alpha", frames)
    result = evaluate_davis(root, pred, workers=1)
    obj1 = result.per_frame[(result.per_frame["sequence"] == "alpha") & (result.per_frame["object"] == 1)]
    assert obj1["J"].tolist() == [18 / 54, 1.0, 1.0]
    obj2 = result.per_frame[(result.per_frame["sequence"] == "alpha") & (result.per_frame["object"] == 2)]
    assert obj2["J"].tolist() == [0.0] * 3 and obj2["F"].tolist() == [0.0] * 3


def test_void_and_ids_absent_from_first_frame_are_background(tmp_path):
    frames = [square(2, 2, obj=1) for _ in range(4)]
    frames[1] = square(14, 14, obj=255, base=square(2, 2, obj=1))  # void region
    frames[2] = square(14, 14, obj=2, base=square(2, 2, obj=1))  # id 2 not in frame 0: not an object
    root = make_davis(tmp_path / "DAVIS", {"seq": frames})
    write_pred(tmp_path / "pred", "seq", [square(2, 2, obj=1)] * 4)
    result = evaluate_davis(root, tmp_path / "pred", workers=1)
    assert list(result.per_object["object"]) == [1]
    assert result.per_frame["J"].tolist() == [1.0, 1.0]


def test_davis2016_merges_objects(tmp_path):
    gt = [two_objects(t) for t in range(4)]
    root = make_davis(tmp_path / "DAVIS", {"seq": gt}, year="2016")
    merged = [(m > 0).astype(np.uint8) * 3 for m in gt]  # any positive id counts as the object
    write_pred(tmp_path / "pred", "seq", merged)
    result = evaluate_davis(root, tmp_path / "pred", year="2016", workers=1)
    assert list(result.per_sequence["Sequence"]) == ["seq_1"]
    assert (result.per_frame[["J", "F"]] == 1.0).all().all()
    write_pred(tmp_path / "pred", "seq", [(m == 1).astype(np.uint8) for m in gt])  # only one of the two
    j = evaluate_davis(root, tmp_path / "pred", year="2016", workers=1).per_frame["J"].tolist()
    assert j == [0.5, 0.5]


# ----- bad input: clear error naming sequence and frame, exit 2 through run_cli, no CSV written


def assert_fails(root, pred, out, *needles):
    with pytest.raises(DataError) as info:
        run_main(root, pred, out)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    assert not out.exists() or not list(out.iterdir()), "partial output written"
    return message


def test_missing_prediction_folder(dataset, tmp_path):
    root, _, _ = dataset
    assert_fails(root, tmp_path / "nowhere", tmp_path / "out", "prediction folder does not exist")


def test_sequence_without_prediction(dataset, tmp_path):
    root, pred, _ = dataset
    for path in (pred / "beta").iterdir():
        path.unlink()
    (pred / "beta").rmdir()
    assert_fails(root, pred, tmp_path / "out", "sequence beta", "no prediction folder")


def test_missing_prediction_frame(dataset, tmp_path):
    root, pred, _ = dataset
    (pred / "alpha" / "00002.png").unlink()
    assert_fails(root, pred, tmp_path / "out", "sequence alpha, frame 00002", "missing")


def test_wrong_size(dataset, tmp_path):
    root, pred, _ = dataset
    write_mask(pred / "beta" / "00001.png", np.zeros((H, W + 2), np.uint8))
    assert_fails(root, pred, tmp_path / "out", "sequence beta, frame 00001", "24x34", "24x32")


def test_non_palette_png(dataset, tmp_path):
    root, pred, _ = dataset
    Image.fromarray(np.zeros((H, W), np.uint8), mode="L").save(pred / "alpha" / "00003.png")
    assert_fails(root, pred, tmp_path / "out", "alpha/00003.png", "not a palette PNG")


def test_predicted_id_above_object_count(dataset, tmp_path):
    root, pred, _ = dataset
    write_mask(pred / "alpha" / "00002.png", square(1, 1, obj=3))
    assert_fails(root, pred, tmp_path / "out", "sequence alpha, frame 00002", "id 3", "(2,")


def test_too_short_sequence(tmp_path):
    root = make_davis(tmp_path / "DAVIS", {"tiny": [square(1, 1)] * 2})
    write_pred(tmp_path / "pred", "tiny", [square(1, 1)] * 2)
    assert_fails(root, tmp_path / "pred", tmp_path / "out", "sequence tiny", "at least 3")


def test_cli_exit_code_and_message(dataset, tmp_path):
    """Through ``python -m``: run_cli turns the DataError into exit status 2."""
    root, pred, _ = dataset
    (pred / "alpha" / "00001.png").unlink()
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.evaluate",
            "--gt",
            str(root),
            "--pred",
            str(pred),
            "--split",
            "val",
            "--out",
            str(out),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2
    assert "error:" in done.stderr and "sequence alpha, frame 00001" in done.stderr
    assert not out.exists()


def test_worker_errors_cross_process_boundary(dataset, tmp_path):
    root, pred, _ = dataset
    write_mask(pred / "beta" / "00002.png", square(1, 1, obj=9))
    with pytest.raises(DataError, match="sequence beta, frame 00002"):
        evaluate_davis(root, pred, workers=2)


def test_long_sequence_decay_quirk_and_nan_in_csv(tmp_path):
    """260 frames -> 258 evaluated: the uint8 bin edges leave an empty bin, Decay is NaN (official),
    the global Decay too, and the CSV writes NaN as an empty cell."""
    frames = [square(t % 10, 3) for t in range(260)]
    root = make_davis(tmp_path / "DAVIS", {"long": frames})
    write_pred(tmp_path / "pred", "long", frames)
    result = evaluate_davis(root, tmp_path / "pred", workers=2)
    assert np.isnan(result.per_object["J-Decay"].item()) and result.per_object["J-Mean"].item() == 1.0
    result.write_csvs(tmp_path / "out")
    lines = (tmp_path / "out" / "global_results-val.csv").read_text().splitlines()
    assert lines[1] == "1.000,1.000,1.000,,1.000,1.000,"
