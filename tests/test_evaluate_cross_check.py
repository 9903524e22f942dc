"""An independent check of the evaluator: vos-benchmark (the multi-process scorer Cutie uses; SAM 2's
evaluator adapts it), whose author "confirmed that it produces identical results as the official
evaluation script" on DAVIS-16/17. Per-object J and F must then agree to float rounding (1e-9 points).

Where the two protocols differ by design the test asserts the difference instead of loosening the
tolerance (golden sequence a-quirks):

- vos-benchmark scores every id it meets in the evaluated ground-truth frames, void (255) included, and
  an id from the moment it first appears; DAVIS (and ours) scores ids 1..K, K the highest id of the
  first frame, and maps void and ids above K to background. So vos-benchmark reports the extra objects
  255 (void) and 4 (first appears at frame 6, above K = 3); objects 1-3 agree.
- vos-benchmark writes results.csv into the prediction folder: it runs on a linked copy here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import vos_benchmark.benchmark as vos_benchmark  # the dev extra installs it

from pipelines import predict
from pipelines.evaluate import evaluate_davis

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "davis2017"
TOLERANCE = 1e-9  # percent points: "identical results", up to float rounding


def linked_copy(pred: Path, where: Path) -> Path:
    """A folder of symlinks to the prediction PNGs (vos-benchmark writes its results.csv there)."""
    for png in pred.rglob("*.png"):
        target = where / png.relative_to(pred)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(png.resolve(), target)
    return where


def vos_scores(gt_annotations: Path, pred: Path, tmp_path: Path) -> dict[tuple[str, int], tuple[float, float]]:
    *_, objects = vos_benchmark.benchmark([str(gt_annotations)], [str(linked_copy(pred, tmp_path / "vos"))],
                                          strict=False, num_processes=2, verbose=False)
    return {(video, int(obj)): (iou[obj], boundary[obj])
            for video, (iou, boundary) in objects[0].items() for obj in iou}


def our_scores(gt_root: Path, pred: Path) -> dict[tuple[str, int], tuple[float, float]]:
    result = evaluate_davis(gt_root, pred, workers=2)
    return {(row["sequence"], int(row["object"])): (100 * row["J-Mean"], 100 * row["F-Mean"])
            for row in result.per_object.to_dict("records")}


def assert_same(ours: dict, theirs: dict, keys) -> None:
    for key in keys:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=TOLERANCE, err_msg=str(key))


def test_golden_set_agrees_with_vos_benchmark(tmp_path):
    ours = our_scores(GOLDEN / "gt", GOLDEN / "pred")
    theirs = vos_scores(GOLDEN / "gt" / "Annotations" / "480p", GOLDEN / "pred", tmp_path)
    by_design = {("a-quirks", 255), ("a-quirks", 4)}
    assert set(theirs) - set(ours) == by_design
    assert set(ours) <= set(theirs)
    assert_same(ours, theirs, ours)
    assert len(ours) == 22


def test_synthetic_predictions_agree_with_vos_benchmark(tmp_path, smoke_data):
    pred = tmp_path / "pred"
    predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                  "--out", str(pred), "--device", "cpu"])
    shutil.rmtree(pred / next(p.name for p in pred.iterdir() if p.is_dir()))  # one video of noise instead
    names = (smoke_data / "DAVIS" / "ImageSets" / "2017" / "val.txt").read_text().split()
    missing = next(n for n in names if not (pred / n).exists())
    rng = np.random.default_rng(0)
    from pipelines.data.masks import read_mask, write_mask

    for gt in sorted((smoke_data / "DAVIS" / "Annotations" / "480p" / missing).glob("*.png")):
        labels = read_mask(gt)
        noise = rng.integers(0, int(labels.max()) + 1, size=labels.shape).astype(np.uint8)
        write_mask(pred / missing / gt.name, np.where(rng.random(labels.shape) < 0.3, noise, labels))
    ours = our_scores(smoke_data / "DAVIS", pred)
    theirs = vos_scores(smoke_data / "DAVIS" / "Annotations" / "480p", pred, tmp_path)
    assert set(ours) == set(theirs) and len(ours) >= 5
    assert_same(ours, theirs, ours)
