"""Read one frame's ground-truth and predicted masks, checking their sizes before any scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.common.files import DataError
from pipelines.data.masks import read_mask


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[0]}x{shape[1]}"


def read_mask_pair(gt_path: Path, pred_path: Path, shape: tuple[int, int], where: str,
                   shape_source: str) -> tuple[np.ndarray, np.ndarray]:
    """GT and prediction ``uint8 (H, W)``; DataError if the GT is not ``shape`` (``shape_source`` says
    where that size comes from, e.g. "expected") or the prediction's size differs from the GT's."""
    gt, pred = read_mask(gt_path), read_mask(pred_path)
    if gt.shape != shape:
        raise DataError(gt_path, f"{where}: ground truth is {_size(gt.shape)}, {shape_source} {_size(shape)}")
    if pred.shape != gt.shape:
        raise DataError(pred_path, f"{where}: prediction is {_size(pred.shape)}, ground truth is {_size(gt.shape)}")
    return gt, pred
