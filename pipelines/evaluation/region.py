"""Region similarity J (Jaccard index), as in the DAVIS protocol.

J = |pred AND gt| / |pred OR gt| per object and frame; when both masks are empty (union 0) J = 1.
DAVIS-2017 semi-supervised evaluation turns void (255) into background before this, so void
pixels are *not* excluded from J.
"""

from __future__ import annotations

import numpy as np


def jaccard_from_counts(intersection: int, union: int) -> float:
    """J from pixel counts; an empty union (both masks empty) counts as a perfect match."""
    if union == 0:
        return 1.0
    return float(np.float64(intersection) / np.float64(union))


def jaccard(gt: np.ndarray, pred: np.ndarray) -> float:
    """J of two binary masks of the same shape ``(H, W)``."""
    if gt.shape != pred.shape:
        raise ValueError(f"mask shapes differ: gt {gt.shape}, pred {pred.shape}")
    gt = gt.astype(bool, copy=False)
    pred = pred.astype(bool, copy=False)
    return jaccard_from_counts(int(np.count_nonzero(gt & pred)), int(np.count_nonzero(gt | pred)))
