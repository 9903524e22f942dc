"""YouTube-VOS-style seen/unseen evaluation on a hand-made split built in the test."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipelines.common.files import DataError
from pipelines.data.masks import write_mask
from pipelines.evaluate import evaluate_youtubevos, main

H, W = 20, 30


def box(y: int, x: int, h: int, w: int, obj: int, base: np.ndarray | None = None) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8) if base is None else base.copy()
    mask[y : y + h, x : x + w] = obj
    return mask


def write_meta(path: Path, videos: dict[str, dict[int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "videos": {
            v: {"objects": {str(o): {"category": c, "frames": []} for o, c in objs.items()}}
            for v, objs in videos.items()
        }
    }
    path.write_text(json.dumps(meta))


@pytest.fixture
def ytvos(tmp_path):
    """Video "v1": object 1 (cat, seen) from frame 0, object 2 (zebra, unseen) from frame 2.
    Frames 00000..00004 in valid_gt; valid/Annotations holds only the first appearances."""
    root = tmp_path / "YouTubeVOS"
    write_meta(root / "train" / "meta.json", {"t1": {1: "cat"}, "t2": {1: "dog"}})
    write_meta(root / "valid" / "meta.json", {"v1": {1: "cat", 2: "zebra"}})
    cat = box(2, 2, 6, 6, 1)
    full = [cat, cat, box(10, 15, 4, 10, 2, cat), box(10, 15, 4, 10, 2, cat), box(10, 15, 4, 10, 2, cat)]
    for t, mask in enumerate(full):
        write_mask(root / "valid_gt" / "Annotations" / "v1" / f"{t:05d}.png", mask)
    write_mask(root / "valid" / "Annotations" / "v1" / "00000.png", cat)
    write_mask(root / "valid" / "Annotations" / "v1" / "00002.png", box(10, 15, 4, 10, 2))
    pred = tmp_path / "pred"
    preds = [
        np.zeros((H, W), np.uint8),  # frame 0: given for the cat, never scored
        cat,
        box(0, 0, 1, 1, 2, cat),  # zebra's first frame: not scored for the zebra
        box(10, 15, 4, 5, 2, cat),  # zebra half covered: J = 0.5
        box(10, 15, 4, 10, 2, cat),
    ]
    for t, mask in enumerate(preds):
        write_mask(pred / "v1" / f"{t:05d}.png", mask)
    return root, pred


def test_seen_unseen_and_first_appearance(ytvos):
    root, pred = ytvos
    result = evaluate_youtubevos(root, pred, workers=1)
    frames = result.per_frame.set_index(["object", "frame"])
    assert sorted(frames.loc[1].index) == ["00001", "00002", "00003", "00004"]
    assert sorted(frames.loc[2].index) == ["00003", "00004"]
    assert frames.loc[(2, "00003"), "J"] == 0.5
    objects = result.per_object.set_index("object")
    assert objects.loc[1, "seen"] and not objects.loc[2, "seen"]
    assert objects.loc[2, "first_frame"] == "00002"
    g = result.global_.iloc[0]
    assert g["J_seen"] == 1.0 and g["F_seen"] == 1.0
    assert g["J_unseen"] == pytest.approx(0.75)
    zebra_f = objects.loc[2, "F-Mean"]
    assert 0 < zebra_f < 1 and g["F_unseen"] == zebra_f
    assert g["overall"] == pytest.approx((1.0 + 0.75 + 1.0 + zebra_f) / 4)


def test_parallel_equals_serial(ytvos):
    root, pred = ytvos
    a = evaluate_youtubevos(root, pred, workers=1)
    b = evaluate_youtubevos(root, pred, workers=2)
    assert a.global_.equals(b.global_) and a.per_frame.equals(b.per_frame)


def test_no_unseen_objects_gives_nan_overall(ytvos):
    root, pred = ytvos
    write_meta(root / "train" / "meta.json", {"t1": {1: "cat"}, "t2": {1: "zebra"}})
    g = evaluate_youtubevos(root, pred, workers=1).global_.iloc[0]
    assert math.isnan(g["J_unseen"]) and math.isnan(g["overall"])


def test_cli_writes_csvs(ytvos, tmp_path):
    root, pred = ytvos
    out = tmp_path / "out"
    assert main(["--dataset", "youtubevos", "--gt", str(root), "--pred", str(pred), "--out", str(out)]) == 0
    assert (out / "global_results-valid.csv").read_text().splitlines()[
        0
    ] == "overall,J_seen,J_unseen,F_seen,F_unseen"
    rows = (out / "per-sequence_results-valid.csv").read_text().splitlines()
    assert rows[0] == "Sequence,J-Mean,F-Mean,Category,Seen" and rows[1].startswith(
        "v1_1,1.000,1.000,cat,True"
    )


def test_bad_inputs(ytvos):
    root, pred = ytvos
    write_mask(pred / "v1" / "00003.png", box(0, 0, 2, 2, 7))
    with pytest.raises(DataError, match=r"video v1, frame 00003: predicted ids \[7\]"):
        evaluate_youtubevos(root, pred, workers=1)
    (pred / "v1" / "00004.png").unlink()
    with pytest.raises(DataError, match="video v1, frame 00004: prediction is missing"):
        evaluate_youtubevos(root, pred, workers=1)
    write_meta(root / "valid" / "meta.json", {"v1": {1: "cat", 2: "zebra", 3: "owl"}})
    with pytest.raises(DataError, match=r"objects \[3\]"):
        evaluate_youtubevos(root, pred, workers=1)


def test_prediction_of_another_size_names_both_sizes(ytvos):
    root, pred = ytvos
    write_mask(pred / "v1" / "00002.png", np.zeros((H, W + 2), np.uint8))
    with pytest.raises(DataError, match=rf"video v1, frame 00002: prediction is {H}x{W + 2}, ground truth is {H}x{W}"):
        evaluate_youtubevos(root, pred, workers=1)
