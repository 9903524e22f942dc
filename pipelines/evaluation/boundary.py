"""Boundary measure F of the DAVIS protocol, computed exactly but without OpenCV.

Definitions (they reproduce the official davis2017-evaluation to the last bit):

- Boundary map of a binary mask: a pixel is on the boundary when it differs from one of its
  right, lower or lower-right neighbours *that lie inside the image*. So the image border never
  creates boundary, and a mask covering the whole frame has no boundary.
- Tolerance radius r = ceil(bound_th * sqrt(H^2 + W^2)) for bound_th < 1 (8 px at 480x854).
- A boundary pixel is matched when a boundary pixel of the other mask lies within the disk
  dx^2 + dy^2 <= r^2 (dilation with skimage's ``disk(r)``).
- precision = matched pred boundary / pred boundary, recall = matched gt boundary / gt boundary,
  with the empty cases: pred empty and gt not -> P=1, R=0; gt empty and pred not -> P=0, R=1;
  both empty -> P=R=1. F = 2PR / (P+R), F = 0 when P+R = 0.

Speed: the disk dilation is a union of horizontal segments, one per row offset dy, of half-width
floor(sqrt(r^2 - dy^2)); it is built from ~4r boolean shift-ORs. The fast path (``*_flat``) works
on a "flat layout": a crop stored row-major with at least r zero columns on the right of every row
and one spare row below, so that every shift is a contiguous 1-D slice operation (a shift by one
row is a shift by ``stride`` elements) and nothing leaks from one row into the next.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_BOUND_TH = 0.008


def boundary_radius(height: int, width: int, bound_th: float = DEFAULT_BOUND_TH) -> int:
    """Tolerance in pixels: ``bound_th`` itself if >= 1, else ceil(bound_th * image diagonal)."""
    if bound_th >= 1:
        return int(bound_th)
    return int(np.ceil(bound_th * np.linalg.norm((height, width))))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """``bool (H, W)`` boundary of a binary ``(H, W)`` mask (see module docstring)."""
    seg = mask.astype(bool, copy=False)
    out = np.zeros(seg.shape, dtype=bool)
    out[:, :-1] = seg[:, :-1] ^ seg[:, 1:]
    out[:-1, :] |= seg[:-1, :] ^ seg[1:, :]
    out[:-1, :-1] |= seg[:-1, :-1] ^ seg[1:, 1:]
    return out


def disk_half_widths(radius: int) -> list[int]:
    """Half-width of the digital disk {dx^2 + dy^2 <= r^2} on row offset dy = 0..r."""
    return [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]


def dilate_disk(bmap: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of ``bool (H, W)`` by the disk of ``radius`` (pixels outside count as 0)."""
    src = bmap.astype(bool, copy=False)
    widths = disk_half_widths(radius)
    out = np.zeros_like(src)
    row_dilated = src.copy()  # src dilated horizontally by `width` pixels each side
    width = 0
    for dy in range(radius, -1, -1):  # half-widths grow as |dy| shrinks
        while width < widths[dy]:
            width += 1
            row_dilated[:, width:] |= src[:, :-width]
            row_dilated[:, :-width] |= src[:, width:]
        if dy == 0:
            out |= row_dilated
        else:
            out[dy:] |= row_dilated[:-dy]
            out[:-dy] |= row_dilated[dy:]
    return out


def boundary_flat(buffer: np.ndarray, height: int, width: int, at_bottom: bool, at_right: bool) -> np.ndarray:
    """Boundary of a mask stored in flat layout.

    buffer: ``bool (height + 1, stride)``, the mask in ``[:height, :width]``, zeros elsewhere;
        it is modified (edge replication). at_bottom / at_right: the crop's last row / column is
        the image's, so neighbours beyond it do not exist; replicating the edge makes them equal.
        Otherwise the zeros beyond the crop must be what the image holds there.
    Returns ``bool ((height + 1) * stride,)`` with the boundary in the same layout, padding zero.
    """
    if at_right:
        buffer[:height, width] = buffer[:height, width - 1]
    if at_bottom:
        buffer[height, : width + at_right] = buffer[height - 1, : width + at_right]
    stride = buffer.shape[1]
    seg = buffer.ravel()
    out = np.zeros_like(seg)
    out[:-1] = seg[:-1] ^ seg[1:]
    out[:-stride] |= seg[:-stride] ^ seg[stride:]
    out[: -stride - 1] |= seg[: -stride - 1] ^ seg[stride + 1 :]
    grid = out.reshape(buffer.shape)
    grid[:, width:] = False
    grid[height:] = False
    return out


def dilate_disk_flat(bmap: np.ndarray, stride: int, radius: int) -> np.ndarray:
    """Disk dilation of a flat-layout map ``bool (N,)`` whose rows have >= radius zero columns
    on the right. Only the non-padding positions of the result are meaningful."""
    widths = disk_half_widths(radius)
    out = np.zeros_like(bmap)
    row_dilated = bmap.copy()
    width = 0
    for dy in range(radius, -1, -1):
        while width < widths[dy]:
            width += 1
            row_dilated[width:] |= bmap[:-width]
            row_dilated[:-width] |= bmap[width:]
        offset = dy * stride
        if offset == 0:
            out |= row_dilated
        elif offset < out.size:
            out[offset:] |= row_dilated[:-offset]
            out[:-offset] |= row_dilated[offset:]
    return out


def pack_bits(flat: np.ndarray) -> np.ndarray:
    """``bool (N,)`` with N a multiple of 64 -> ``uint64 (N / 64,)``, pixel i = bit i % 64 of word i // 64."""
    return np.packbits(flat, bitorder="little").view("<u8")


def dilate_disk_packed(words: np.ndarray, words_per_row: int, radius: int) -> np.ndarray:
    """``dilate_disk_flat`` on bit-packed rows (64 pixels per word, ``radius`` < 64): the same
    shift-ORs on 64 times less memory, worth it for large crops."""
    if not 0 < radius < 64:
        raise ValueError(f"packed dilation needs 0 < radius < 64, got {radius}")
    widths = disk_half_widths(radius)
    out = np.zeros_like(words)
    row_dilated = words.copy()
    shifted = np.empty_like(words)
    width = 0
    for dy in range(radius, -1, -1):
        while width < widths[dy]:
            width += 1
            near, far = np.uint64(width), np.uint64(64 - width)
            np.left_shift(words, near, out=shifted)  # pixel i -> i + width
            row_dilated |= shifted
            np.right_shift(words[:-1], far, out=shifted[1:])  # carry into the next word
            row_dilated[1:] |= shifted[1:]
            np.right_shift(words, near, out=shifted)  # pixel i -> i - width
            row_dilated |= shifted
            np.left_shift(words[1:], far, out=shifted[:-1])
            row_dilated[:-1] |= shifted[:-1]
        offset = dy * words_per_row
        if offset == 0:
            out |= row_dilated
        elif offset < out.size:
            out[offset:] |= row_dilated[:-offset]
            out[:-offset] |= row_dilated[offset:]
    return out


def f_from_counts(n_pred: int, n_gt: int, pred_matched: int, gt_matched: int) -> float:
    """F from boundary pixel counts, with the protocol's empty-boundary rules."""
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = pred_matched / float(n_pred)
        recall = gt_matched / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def boundary_f(gt: np.ndarray, pred: np.ndarray, radius: int) -> float:
    """F of two binary masks ``(H, W)`` (or two crops cut the same way, see scores.py)."""
    gt_boundary = boundary_map(gt)
    pred_boundary = boundary_map(pred)
    n_gt = int(np.count_nonzero(gt_boundary))
    n_pred = int(np.count_nonzero(pred_boundary))
    if n_gt == 0 or n_pred == 0:
        return f_from_counts(n_pred, n_gt, 0, 0)
    pred_matched = int(np.count_nonzero(pred_boundary & dilate_disk(gt_boundary, radius)))
    gt_matched = int(np.count_nonzero(gt_boundary & dilate_disk(pred_boundary, radius)))
    return f_from_counts(n_pred, n_gt, pred_matched, gt_matched)
