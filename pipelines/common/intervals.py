"""Confidence intervals of the suite's tables: over objects of one run, over seeds, and of the paired
difference between two runs scored on the same seeds and objects (the claims and probes tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.common.files import DataError
from pipelines.experiment.defaults import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, CONFIDENCE

LEVEL = CONFIDENCE


def bootstrap_interval(values, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> tuple[float, float]:
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


def paired_differences(a: pd.Series, b: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray, list[int], int]:
    """(D (seeds, sequences): per sequence the sum over its objects of A - B, N (sequences,): objects per
    sequence, seeds, objects) of two score series indexed by (seed, sequence, object); ``what`` names the pair
    in the error raised when the seeds were scored on different objects."""
    joined = pd.concat([a, b], axis=1, keys=["a", "b"], join="inner").dropna()
    if joined.empty:
        return np.zeros((0, 0)), np.zeros(0), [], 0
    joined["diff"] = joined["a"] - joined["b"]
    seeds = sorted(joined.index.get_level_values("seed").unique())
    sums = joined["diff"].groupby(level=["seed", "sequence"]).sum().unstack("sequence")
    counts = joined["diff"].groupby(level=["seed", "sequence"]).size().unstack("sequence")
    if counts.isna().any().any() or (counts.nunique() > 1).any():
        raise DataError(None, f"{what}: seeds were scored on different objects; "
                              "a paired comparison needs the same objects for every seed")
    return sums.to_numpy(), counts.iloc[0].to_numpy(dtype=float), seeds, int(counts.iloc[0].sum())


def paired_bootstrap(diffs: np.ndarray, objects: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                     level: float = LEVEL) -> tuple[float, float, float]:
    """(measured, low, high) of the mean over seeds of the object-mean difference, by the two-way bootstrap.

    diffs (S, Q): per seed and sequence the sum over the sequence's objects of A - B; objects (Q,): the
    objects of each sequence. Each draw takes S seeds and Q sequences with replacement, the sequence draw
    shared by every drawn seed.
    """
    n_seeds, n_sequences = diffs.shape
    measured = float(np.mean(diffs.sum(axis=1) / objects.sum()))
    rng = np.random.default_rng(seed)
    seed_counts = np.stack([np.bincount(rng.integers(0, n_seeds, n_seeds), minlength=n_seeds) for _ in range(samples)])
    seq_counts = np.stack([np.bincount(rng.integers(0, n_sequences, n_sequences), minlength=n_sequences)
                           for _ in range(samples)])
    per_seed = (seq_counts @ diffs.T) / (seq_counts @ objects)[:, None]  # (samples, S)
    stats = (seed_counts * per_seed).sum(axis=1) / n_seeds
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(stats, [tail, 100 - tail])
    return measured, float(low), float(high)


def paired_variance_parts(diffs: np.ndarray, objects: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                          seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(measured, seed variance, sequence variance) of ``paired_interval``'s estimate: the sample variance
    of the S per-seed differences (ddof 1; NaN below 2 seeds), and the bootstrap variance over the Q
    sequences of the seed-averaged difference (NaN below 2 sequences). The seed part of the estimate's
    variance is the first over S."""
    n_seeds, n_sequences = diffs.shape
    per_seed = diffs.sum(axis=1) / objects.sum()
    measured = float(per_seed.mean())
    seed_var = float(per_seed.var(ddof=1)) if n_seeds >= 2 else float("nan")
    if n_sequences < 2:
        return measured, seed_var, float("nan")
    rng = np.random.default_rng(seed)
    seq_counts = np.stack([np.bincount(rng.integers(0, n_sequences, n_sequences), minlength=n_sequences)
                           for _ in range(samples)])
    seq_var = float(((seq_counts @ diffs.mean(axis=0)) / (seq_counts @ objects)).var(ddof=1))
    return measured, seed_var, seq_var


def paired_half_width(seed_var: float, seq_var: float, n_seeds: int, level: float = LEVEL) -> float:
    """The half-width of ``paired_interval`` at ``n_seeds`` seeds for the given variance parts:
    t(S - 1) * sqrt(seed_var / S + seq_var)."""
    from scipy import stats

    if n_seeds < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, n_seeds - 1)) * float(np.sqrt(seed_var / n_seeds + seq_var))


def paired_interval(diffs: np.ndarray, objects: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                    level: float = LEVEL) -> tuple[float, float, float]:
    """(measured, low, high): the paired interval of the claims table, valid at 3-5 seeds.

    diffs (S, Q), objects (Q,) as in ``paired_bootstrap``. The estimate's variance has a seed part, the
    sample variance of the S per-seed differences over S (Student-t: a percentile bootstrap over 3 seeds
    sees at most 10 distinct draws and shrinks the variance by (S-1)/S), and a sequence part, the
    bootstrap variance over the Q sequences of the seed-averaged difference (shared by every seed, so
    the per-seed spread does not see it); ``paired_variance_parts``. The interval is measured +- t(S - 1) *
    sqrt(sum). One seed gives no seed part: NaN, never a sequence-only interval.
    """
    n_seeds, n_sequences = diffs.shape
    measured, seed_var, seq_var = paired_variance_parts(diffs, objects, samples, seed)
    if n_seeds < 2 or n_sequences < 2:
        return measured, float("nan"), float("nan")
    if seed_var / n_seeds + seq_var == 0:
        return measured, measured, measured
    # the seed part's degrees of freedom (S - 1): Welch-Satterthwaite's larger df covered 90.5% at S = 3
    # in the simulation of tests/test_claims.py, as its df estimate grows when the seed variance is
    # underestimated; S - 1 is conservative where the sequence part dominates
    half = paired_half_width(seed_var, seq_var, n_seeds, level)
    return measured, measured - half, measured + half


def unpaired_bootstrap(a: np.ndarray, b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = LEVEL) -> tuple[float, float, float]:
    """The interval of mean(a) - mean(b) resampling the two sides independently (for comparison only:
    it ignores that both sides were scored on the same objects)."""
    rng = np.random.default_rng(seed)
    draws = (a[rng.integers(0, a.size, (samples, a.size))].mean(axis=1)
             - b[rng.integers(0, b.size, (samples, b.size))].mean(axis=1))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(a.mean() - b.mean()), float(low), float(high)
