"""Confidence intervals of the suite's tables: over objects of one run, and over seeds.

(The paired intervals of differences between two variants, for the claims table, are in
``pipelines.claims``.)
"""

from __future__ import annotations

import numpy as np

LEVEL = 0.95


def bootstrap_interval(values, samples: int = 2000, seed: int = 0, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling them with replacement)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def seed_interval(values, level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean, sd, low, high): Student-t interval of the mean over seeds; NaN spread below 2 seeds."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (float("nan"),) * 4
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1)) * sd / np.sqrt(values.size)
    return mean, sd, mean - half, mean + half
