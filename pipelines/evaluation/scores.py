"""Every registered metric of every object in one frame, computed on a crop around each object.

Both boundaries of an object lie inside the bounding box of (gt == id) OR (pred == id) grown by
one pixel. A crop that keeps one empty row/column beyond the masks (or stops at the image border,
where boundary.boundary_flat replicates the edge) gives exactly the full-frame boundary, and
matches are only counted on boundary pixels, so the dilation may stop at the crop as well: the
result equals the full-frame computation of the official evaluator for a fraction of the work.
``ObjectFrame`` holds one object's crop and computes what the metrics ask of it once.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from pipelines.evaluation.boundary import (
    boundary_flat,
    dilate_disk_flat,
    dilate_disk_packed,
    f_from_counts,
    pack_bits,
)
from pipelines.evaluation.metrics import METRICS

_BIT_TYPES = (np.uint8, np.uint16, np.uint32, np.uint64)
PACKED_MIN_PIXELS = 100_000  # crops at least this large are dilated bit-packed (measured faster)


def object_boxes(
    gt: np.ndarray, pred: np.ndarray, object_ids: list[int]
) -> dict[int, tuple[int, int, int, int]]:
    """Bounding box ``(y0, y1, x0, x1)`` (exclusive ends) of ``(gt == id) | (pred == id)`` for every
    id present in either map. gt, pred: ``uint8 (H, W)``."""
    top = max(object_ids)
    bit_type = next((t for t in _BIT_TYPES if top < np.iinfo(t).bits), None)
    boxes = {}
    if bit_type is None:  # more than 63 ids: one pass per object
        for obj in object_ids:
            present = (gt == obj) | (pred == obj)
            rows = np.flatnonzero(present.any(axis=1))
            if rows.size:
                cols = np.flatnonzero(present[rows[0] : rows[-1] + 1].any(axis=0))
                boxes[obj] = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        return boxes
    # bit i of a pixel says "label i is here", in gt or pred; OR-reduce along rows and columns
    labels = np.left_shift(bit_type(1), gt)
    labels |= np.left_shift(bit_type(1), pred)
    row_bits = np.bitwise_or.reduce(labels, axis=1)
    col_bits = np.bitwise_or.reduce(labels, axis=0)
    for obj in object_ids:
        bit = bit_type(1) << bit_type(obj)
        rows = np.flatnonzero(row_bits & bit)
        if rows.size:
            cols = np.flatnonzero(col_bits & bit)
            boxes[obj] = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    return boxes


def count_bits(words: np.ndarray) -> int:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return int(np.bitwise_count(words).sum())
    return int(np.count_nonzero(np.unpackbits(words.view(np.uint8))))


def matched_counts(gb: np.ndarray, pb: np.ndarray, stride: int, radius: int, packed: bool) -> tuple[int, int]:
    """(pred boundary pixels near gt boundary, gt boundary pixels near pred boundary), flat layout."""
    if packed:
        gw, pw = pack_bits(gb), pack_bits(pb)
        words_per_row = stride // 64
        pred_matched = count_bits(pw & dilate_disk_packed(gw, words_per_row, radius))
        gt_matched = count_bits(gw & dilate_disk_packed(pw, words_per_row, radius))
        return pred_matched, gt_matched
    pred_matched = np.count_nonzero(pb & dilate_disk_flat(gb, stride, radius))
    gt_matched = np.count_nonzero(gb & dilate_disk_flat(pb, stride, radius))
    return int(pred_matched), int(gt_matched)


class ObjectFrame:
    """One object (present in the GT or the prediction) in one frame, cropped; what metrics read.

    ``gt`` / ``pred``: the bool crops ``(h, w)``; ``radius``: the frame's boundary tolerance;
    ``intersection`` / ``union``: pixel counts; ``boundary_f(radius)``: the DAVIS boundary F at any
    tolerance (boundaries and flat layouts are built once per padding and reused).
    """

    def __init__(self, gt: np.ndarray, pred: np.ndarray, obj: int, box: tuple[int, int, int, int], radius: int,
                 packed_min_pixels: int = PACKED_MIN_PIXELS):
        height, width = gt.shape
        y0, y1, x0, x1 = box
        self.y0, self.x0 = max(y0 - 1, 0), max(x0 - 1, 0)
        self.y1, self.x1 = min(y1 + 1, height), min(x1 + 1, width)
        self.at_bottom, self.at_right = self.y1 == height, self.x1 == width
        self.h, self.w = self.y1 - self.y0, self.x1 - self.x0
        self.gt = gt[self.y0 : self.y1, self.x0 : self.x1] == obj
        self.pred = pred[self.y0 : self.y1, self.x0 : self.x1] == obj
        self.radius = radius
        self.packed_min_pixels = packed_min_pixels
        self._layouts: dict[int, tuple] = {}

    @cached_property
    def intersection(self) -> int:
        return int(np.count_nonzero(self.gt & self.pred))

    @cached_property
    def union(self) -> int:
        return int(np.count_nonzero(self.gt | self.pred))

    def _layout(self, radius: int) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """(gt boundary, pred boundary, stride, packed) in a flat layout with room for ``radius``."""
        pad = max(radius, 1)
        packed = (self.h + 1) * (self.w + pad) >= self.packed_min_pixels and radius < 64
        key = (pad, packed)
        if key not in self._layouts:
            stride = -(-(self.w + pad) // 64) * 64 if packed else self.w + pad  # packed rows: whole words
            g = np.zeros((self.h + 1, stride), dtype=bool)
            p = np.zeros_like(g)
            g[: self.h, : self.w] = self.gt
            p[: self.h, : self.w] = self.pred
            gb = boundary_flat(g, self.h, self.w, self.at_bottom, self.at_right)
            pb = boundary_flat(p, self.h, self.w, self.at_bottom, self.at_right)
            self._layouts[key] = (gb, pb, stride, packed)
        return self._layouts[key]

    def boundary_f(self, radius: int | None = None) -> float:
        """DAVIS boundary F with tolerance ``radius`` (default: the frame's)."""
        radius = self.radius if radius is None else radius
        gb, pb, stride, packed = self._layout(radius)
        n_gt, n_pred = int(np.count_nonzero(gb)), int(np.count_nonzero(pb))
        pred_matched = gt_matched = 0
        if n_gt and n_pred:
            pred_matched, gt_matched = matched_counts(gb, pb, stride, radius, packed)
        return f_from_counts(n_pred, n_gt, pred_matched, gt_matched)


def frame_scores(
    gt: np.ndarray,
    pred: np.ndarray,
    object_ids: list[int],
    radius: int,
    packed_min_pixels: int = PACKED_MIN_PIXELS,
) -> dict[str, np.ndarray]:
    """Every registered metric (``pipelines.evaluation.metrics.METRICS``) of every object in one frame.

    gt, pred: ``uint8 (H, W)`` label maps (void already mapped to 0 in ``gt``).
    object_ids: ids to score, each compared as ``gt == id`` vs ``pred == id``.
    packed_min_pixels: crop size from which the bit-packed dilation is used (same result).
    Returns metric name -> ``float64 (len(object_ids),)``; an object in neither map gets each
    metric's ``when_absent`` value (1 for J and F: both masks empty is a perfect match).
    """
    scores = {name: np.full(len(object_ids), metric.when_absent, dtype=np.float64) for name, metric in METRICS.items()}
    if not object_ids:
        return scores
    boxes = object_boxes(gt, pred, object_ids)
    for index, obj in enumerate(object_ids):
        if obj in boxes:
            frame = ObjectFrame(gt, pred, obj, boxes[obj], radius, packed_min_pixels)
            for name, metric in METRICS.items():
                scores[name][index] = metric.score(frame)
    return scores
