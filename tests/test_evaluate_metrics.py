"""J, F and statistics against brute-force definitions of the DAVIS protocol, on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.evaluation.boundary import (
    boundary_f,
    boundary_map,
    boundary_radius,
    dilate_disk,
    dilate_disk_flat,
    dilate_disk_packed,
    f_from_counts,
    pack_bits,
)
from pipelines.evaluation.region import jaccard
from pipelines.evaluation.scores import frame_scores, object_boxes
from pipelines.evaluation.statistics import decay_bin_edges, decay_bins, object_statistics


def brute_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixel differs from its right, lower or lower-right neighbour inside the image."""
    h, w = mask.shape
    out = np.zeros((h, w), dtype=bool)
    for y in range(h):
        for x in range(w):
            for dy, dx in ((0, 1), (1, 0), (1, 1)):
                if y + dy < h and x + dx < w and mask[y, x] != mask[y + dy, x + dx]:
                    out[y, x] = True
    return out


def brute_dilate(bmap: np.ndarray, r: int) -> np.ndarray:
    ys, xs = np.nonzero(bmap)
    yy, xx = np.mgrid[: bmap.shape[0], : bmap.shape[1]]
    out = np.zeros(bmap.shape, dtype=bool)
    for y, x in zip(ys, xs, strict=True):
        out |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
    return out


def brute_f(gt: np.ndarray, pred: np.ndarray, r: int) -> float:
    gb, pb = brute_boundary(gt), brute_boundary(pred)
    matched_pred = int((pb & brute_dilate(gb, r)).sum())
    matched_gt = int((gb & brute_dilate(pb, r)).sum())
    return f_from_counts(int(pb.sum()), int(gb.sum()), matched_pred, matched_gt)


def random_labels(rng, shape, n_objects, density=0.5):
    """Blobby label map: random rectangles and scattered pixels, some touching the border."""
    labels = np.zeros(shape, dtype=np.uint8)
    for obj in range(1, n_objects + 1):
        for _ in range(rng.integers(0, 3)):
            y0, x0 = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            labels[y0 : y0 + rng.integers(1, shape[0]), x0 : x0 + rng.integers(1, shape[1])] = obj
        noise = rng.random(shape) < density * 0.05
        labels[noise] = obj
    return labels


def test_boundary_map_matches_definition():
    rng = np.random.default_rng(0)
    for _ in range(30):
        mask = rng.random((rng.integers(1, 12), rng.integers(1, 12))) < 0.5
        np.testing.assert_array_equal(boundary_map(mask), brute_boundary(mask))


def test_full_frame_mask_has_no_boundary():
    assert not boundary_map(np.ones((7, 9), dtype=bool)).any()
    assert boundary_f(np.ones((7, 9), bool), np.ones((7, 9), bool), 2) == 1.0  # both boundaries empty
    gt = np.zeros((7, 9), bool)
    gt[2:4, 2:4] = True
    assert boundary_f(gt, np.ones((7, 9), bool), 2) == 0.0  # empty pred boundary: P=1, R=0


@pytest.mark.parametrize("radius", [1, 2, 3, 5, 8])
def test_dilate_disk_matches_definition(radius):
    rng = np.random.default_rng(radius)
    for _ in range(10):
        bmap = rng.random((rng.integers(1, 30), rng.integers(1, 30))) < 0.03
        np.testing.assert_array_equal(dilate_disk(bmap, radius), brute_dilate(bmap, radius))


def test_boundary_radius_from_diagonal():
    assert boundary_radius(480, 854) == 8
    assert boundary_radius(480, 910) == 9
    assert boundary_radius(240, 427) == 4
    assert boundary_radius(100, 100, bound_th=3) == 3


def test_f_empty_conventions():
    assert f_from_counts(0, 5, 0, 0) == 0.0  # P=1, R=0
    assert f_from_counts(5, 0, 0, 0) == 0.0  # P=0, R=1
    assert f_from_counts(0, 0, 0, 0) == 1.0
    assert f_from_counts(4, 2, 2, 1) == pytest.approx(0.5)
    assert f_from_counts(4, 4, 0, 0) == 0.0  # P+R = 0


def test_jaccard_conventions():
    empty = np.zeros((3, 3), bool)
    assert jaccard(empty, empty) == 1.0
    a = empty.copy()
    a[0, :2] = True
    b = empty.copy()
    b[0, 1:] = True
    assert jaccard(a, b) == pytest.approx(1 / 3)


@pytest.mark.parametrize("packed_min_pixels", [0, 10**9])  # always / never bit-packed
@pytest.mark.parametrize("seed", range(6))
def test_cropped_frame_scores_equal_full_frame(seed, packed_min_pixels):
    """The fast crop kernel equals the plain full-frame definition, objects at borders included."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(5, 80)), int(rng.integers(5, 80)))
    radius = int(rng.integers(1, 9))
    gt, pred = random_labels(rng, shape, 3), random_labels(rng, shape, 3)
    scores = frame_scores(gt, pred, [1, 2, 3], radius, packed_min_pixels=packed_min_pixels)
    j, f = scores["J"], scores["F"]
    for index, obj in enumerate([1, 2, 3]):
        assert j[index] == jaccard(gt == obj, pred == obj)
        assert f[index] == brute_f(gt == obj, pred == obj, radius)
        assert f[index] == boundary_f(gt == obj, pred == obj, radius)


def test_packed_dilation_equals_plain():
    rng = np.random.default_rng(7)
    for radius in (1, 4, 8, 17):
        h, w = int(rng.integers(1, 60)), int(rng.integers(1, 150))
        stride = -(-(w + radius) // 64) * 64
        grid = np.zeros((h + 1, stride), bool)
        grid[:h, :w] = rng.random((h, w)) < 0.02
        flat = grid.ravel()
        words = dilate_disk_packed(pack_bits(flat), stride // 64, radius)
        unpacked = np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool).reshape(grid.shape)
        np.testing.assert_array_equal(unpacked[:h, :w], dilate_disk(grid[:h, :w], radius))
        np.testing.assert_array_equal(
            unpacked[:h, :w], dilate_disk_flat(flat, stride, radius).reshape(grid.shape)[:h, :w]
        )


def test_object_boxes_many_ids_fallback():
    gt = np.zeros((10, 10), np.uint8)
    gt[2:4, 3:6] = 70  # id above 63: the per-object path
    pred = np.zeros_like(gt)
    pred[5, 8] = 70
    pred[1, 1] = 3
    assert object_boxes(gt, pred, [3, 70]) == {3: (1, 2, 1, 2), 70: (2, 6, 3, 9)}
    assert object_boxes(gt, pred, [3, 5]) == {3: (1, 2, 1, 2)}


def test_decay_edges_and_uint8_wrap():
    assert list(decay_bin_edges(35)) == [0, 9, 17, 26, 34]
    assert list(decay_bin_edges(1)) == [0, 0, 0, 0, 0]
    assert list(decay_bin_edges(298)) == [0, 74, 149, 223, 41]  # wraps modulo 256
    assert list(decay_bin_edges(298, wrap_uint8=False)) == [0, 74, 149, 223, 297]
    values = np.arange(400, dtype=np.float64)
    last = decay_bins(values)[3]
    np.testing.assert_array_equal(last, values[43:144])
    for n in (256, 300, 341):
        assert math.isnan(object_statistics(np.linspace(0, 1, n))[2]), n
    assert not math.isnan(object_statistics(np.linspace(0, 1, 342))[2])
    assert not math.isnan(object_statistics(np.linspace(0, 1, 300), wrap_uint8=False)[2])


def test_statistics_values():
    values = np.array([1.0, 0.5, 0.6, 0.2, 0.0])
    mean, recall, decay = object_statistics(values)
    assert mean == pytest.approx(0.46)
    assert recall == pytest.approx(2 / 5)  # 0.5 itself is not > 0.5
    # L=5: edges 0,1,2,3,4 -> bin0 = values[0:2], bin3 = values[3:5]
    assert decay == pytest.approx(np.mean([1.0, 0.5]) - np.mean([0.2, 0.0]))
    assert object_statistics(np.array([0.7]))[2] == 0.0
