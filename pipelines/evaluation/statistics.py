"""Per-object statistics over the evaluated frames: Mean, Recall and Decay (DAVIS protocol).

- Mean = nanmean of the per-frame values.
- Recall = fraction of frames whose value is strictly above 0.5.
- Decay = mean of the first quarter minus mean of the last quarter, with 4 bins whose edges are
  e = round(linspace(1, L, 5) + 1e-10) - 1 over L frames; bin i = values[e[i] : e[i+1] + 1]
  (neighbouring bins share their edge frame).

Quirk kept on purpose (``wrap_uint8=True``, the default): the official code stores the edges as
uint8, so for L > 256 they wrap modulo 256 (L = 298 gives 0, 74, 149, 223, 41), and the end
``e + 1`` is uint8 arithmetic too (255 + 1 = 0). Every L from 256 to 341 then gives an empty bin
and Decay NaN; longer sequences get shifted bins. ``wrap_uint8=False`` gives the intended bins.
"""

from __future__ import annotations

import warnings

import numpy as np

N_DECAY_BINS = 4
RECALL_THRESHOLD = 0.5


def decay_bin_edges(n_frames: int, wrap_uint8: bool = True) -> np.ndarray:
    """``int64 (5,)`` first-frame index of each Decay bin edge over ``n_frames`` values."""
    edges = np.round(np.linspace(1, n_frames, N_DECAY_BINS + 1) + 1e-10) - 1
    edges = edges.astype(np.int64)
    return edges % 256 if wrap_uint8 else edges


def decay_bins(values: np.ndarray, wrap_uint8: bool = True) -> list[np.ndarray]:
    """The 4 Decay bins (views of ``values``), see module docstring."""
    edges = decay_bin_edges(len(values), wrap_uint8)
    bins = []
    for i in range(N_DECAY_BINS):
        stop = edges[i + 1] + 1
        if wrap_uint8:
            stop %= 256
        bins.append(values[edges[i] : stop])
    return bins


def object_statistics(values: np.ndarray, wrap_uint8: bool = True) -> tuple[float, float, float]:
    """(Mean, Recall, Decay) of one object's ``float64 (L,)`` per-frame values."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    bins = decay_bins(values, wrap_uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # empty bins -> NaN, as official
        mean = np.nanmean(values)
        recall = np.nanmean(values > RECALL_THRESHOLD)
        decay = np.nanmean(bins[0]) - np.nanmean(bins[-1])
    return float(mean), float(recall), float(decay)
