"""The claims table: the paired two-way bootstrap on cases with a known interval, paired against unpaired,
the coverage of the claims' interval (paired_interval) against it, the verdict rule on each outcome, and
the table from per-object and speed results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.common.intervals import paired_bootstrap, paired_interval, unpaired_bootstrap
from pipelines.tables import claims
from pipelines.tables.claims import paired_matrix, verdict


def test_one_seed_two_sequences_gives_the_hand_derived_interval():
    """Differences 0 and 2 on two one-object sequences: a draw's mean is 0, 1 or 2 with probability
    1/4, 1/2, 1/4, so the 2.5% and 97.5% percentiles are 0 and 2, the estimate 1."""
    measured, low, high = paired_bootstrap(np.array([[0.0, 2.0]]), np.array([1.0, 1.0]), samples=4000)
    assert (measured, low, high) == (1.0, 0.0, 2.0)


def test_seeds_are_resampled_too():
    """Three seeds whose differences are -1, 0, +1 on every sequence: the draw of 3 seeds with replacement
    has mean -1 with probability 1/27 (3.7% > 2.5%), so the interval is [-1, 1]; a per-seed-only view
    (one seed) would be a single point."""
    diffs = np.array([[-1.0] * 5, [0.0] * 5, [1.0] * 5])
    measured, low, high = paired_bootstrap(diffs, np.ones(5), samples=4000)
    assert (measured, low, high) == (0.0, -1.0, 1.0)
    assert paired_bootstrap(diffs[1:2], np.ones(5), samples=500)[1:] == (0.0, 0.0)


def test_objects_stay_with_their_video_and_weigh_by_count():
    """A sequence with 3 objects (sum of differences 3) and one with 1 object (difference 0): the
    estimate is the object mean 3/4, and a draw of the 3-object sequence twice gives exactly 1."""
    measured, low, high = paired_bootstrap(np.array([[3.0, 0.0]]), np.array([3.0, 1.0]), samples=4000)
    assert measured == pytest.approx(0.75)
    assert (low, high) == (0.0, 1.0)


def test_paired_interval_is_narrower_than_unpaired_when_the_sides_are_correlated():
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(10, 90, size=60)  # objects differ a lot; both methods feel it
    a = difficulty + 2.0 + rng.normal(0, 1, 60)
    b = difficulty + rng.normal(0, 1, 60)
    _, p_low, p_high = paired_bootstrap((a - b)[None, :], np.ones(60))
    measured, u_low, u_high = unpaired_bootstrap(a, b)
    assert p_low > 0 and u_low < 0 < u_high  # only the paired interval sees the 2-point effect
    assert (p_high - p_low) < (u_high - u_low) / 5
    assert measured == pytest.approx((a - b).mean())


@pytest.mark.parametrize(("kind", "low", "high", "expected"), [
    ("greater", 0.5, 3.0, "reproduced"), ("greater", -3.0, -0.5, "contradicted"),
    ("greater", -1.0, 1.0, "inconclusive"), ("equal", -2.0, 1.0, "reproduced"),
    ("equal", -5.0, -3.5, "contradicted"), ("equal", -4.0, 1.0, "inconclusive"),
    ("greater", float("nan"), float("nan"), "inconclusive"),
])
def test_verdict_rule(kind, low, high, expected):
    assert verdict(kind, low, high, margin=3.0) == expected


def fake_per_sequence(effect: float, seeds=(0, 1, 2), sequences=12) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for seed in seeds:
        for q in range(sequences):
            for obj in range(1, 1 + q % 3 + 1):
                base = rng.uniform(20, 80)
                for variant, stage, shift in (("gvos_scm", "full", effect), ("gvos_scm", "main_only", 0.0),
                                              ("gvos_scm", "pretrain_only", -effect), ("stm_read", "full", effect),
                                              ("no_scm", "full", 0.0)):
                    jf = base + shift + rng.normal(0, 0.5)
                    rows.append({"variant": variant, "stage": stage, "seed": seed, "dataset": "davis2017",
                                 "sequence": f"s{q}", "object": obj, "J&F-Mean": jf, "J-Mean": jf - 1, "F-Mean": jf + 1})
    return pd.DataFrame(rows)


def test_claims_table_from_results():
    per_sequence = fake_per_sequence(effect=5.0)
    speed = pd.DataFrame([
        {"variant": "gvos_scm", "t": 100, "seconds_per_frame": 0.10, "seconds_per_frame_min": 0.09,
         "seconds_per_frame_max": 0.11},
        {"variant": "stm_read", "t": 100, "seconds_per_frame": 0.35, "seconds_per_frame_min": 0.34,
         "seconds_per_frame_max": 0.36}])
    memory = pd.DataFrame([{"variant": v, "t": t, "memory_bytes": b, "height": 240, "width": 432}
                           for v, t, b in (("gvos_scm", 1, 1000), ("gvos_scm", 100, 1000),
                                           ("stm_read", 1, 2**20), ("stm_read", 10, 10 * 2**20),
                                           ("stm_read", 100, 100 * 2**20))])
    table = claims.claims_table(per_sequence, speed, memory, samples=500).set_index(["claim", "metric"])
    assert set(claims.COLUMNS) == set(table.reset_index().columns)
    full_main = table.loc[("full training beats main training only", "J&F")]
    assert full_main["verdict"] == "reproduced" and full_main["measured"] == pytest.approx(5.0, abs=0.5)
    assert full_main["n_seeds"] == 3 and full_main["n_objects"] == 24
    assert full_main["reported"] == pytest.approx(((85.2 - 50.1) + (84.3 - 52.6)) / 2)
    assert table.loc[("pretraining only beats main training only", "J&F")]["verdict"] == "contradicted"
    assert table.loc[("SCM adds accuracy", "J&F")]["verdict"] == "reproduced"
    assert table.loc[("GCM read about as accurate as STM read", "J&F")]["verdict"] == "reproduced"
    ratio = table.loc[("GCM read is 3x faster than STM read", "s/frame STM / GCM at t=100 (threshold 3x)")]
    assert ratio["measured"] == pytest.approx(3.5) and ratio["verdict"] == "reproduced"
    assert ratio["ci_low"] == pytest.approx(0.34 / 0.11)
    assert table.loc[("GCM memory is constant in t", "MiB at t=100 minus t=1")]["verdict"] == "reproduced"
    stm = table.xs("STM memory grows linearly in t (about 4 MB a frame at 480p)", level="claim").iloc[0]
    assert stm["measured"] == pytest.approx(1.0) and stm["verdict"] == "reproduced"


def test_a_small_effect_with_few_seeds_is_inconclusive():
    table = claims.claims_table(fake_per_sequence(effect=0.1, seeds=(0, 1, 2), sequences=4), None, None,
                                samples=500)
    row = table[(table["claim"] == "SCM adds accuracy") & (table["metric"] == "J&F")].iloc[0]
    assert row["verdict"] == "inconclusive" and row["detectable"] > 0
    one_seed = claims.claims_table(fake_per_sequence(effect=5.0, seeds=(0,)), None, None, samples=500)
    row = one_seed[(one_seed["claim"] == "SCM adds accuracy") & (one_seed["metric"] == "J&F")].iloc[0]
    assert row["verdict"] == "inconclusive" and np.isnan(row["ci_low"])  # one seed: no seed part, no interval


def test_unequal_objects_across_seeds_is_an_error():
    per_sequence = fake_per_sequence(effect=1.0)
    per_sequence = per_sequence.drop(index=per_sequence.index[(per_sequence["seed"] == 1)
                                                              & (per_sequence["sequence"] == "s2")][:2])
    with pytest.raises(ValueError, match="different objects"):
        paired_matrix(per_sequence, ("gvos_scm", "full"), ("gvos_scm", "main_only"), "davis2017", "J&F-Mean")


def simulated_claim(rng, seeds: int, truth: float = 10.0, sequences: int = 30, seed_sd: float = 8.0,
                    sequence_sd: float = 12.0, noise_sd: float = 15.0):
    """A difference A - B as the default's runs give it: a seed effect (the chaotic click, SD 8 J&F), a
    video effect shared by all seeds (SD 12), a per-object, per-seed residual (SD 15); 1-3 objects a video."""
    objects = rng.integers(1, 4, sequences).astype(float)
    seed_effect = rng.normal(0, seed_sd, seeds)
    video_effect = rng.normal(0, sequence_sd, sequences)
    diffs = np.array([[sum(truth + seed_effect[s] + video_effect[q] + rng.normal(0, noise_sd)
                           for _ in range(int(objects[q]))) for q in range(sequences)] for s in range(seeds)])
    return diffs, objects


@pytest.mark.parametrize("seeds", [3, 5])
def test_the_claims_interval_covers_the_truth_at_3_and_5_seeds(seeds):
    """coverage of the 95% interval on generated data with a known difference; the old
    two-way percentile bootstrap is measured beside it (printed, and far below 95% at 3 seeds)."""
    rng = np.random.default_rng(seeds)
    draws, covered, covered_old = 400, 0, 0
    for index in range(draws):
        diffs, objects = simulated_claim(rng, seeds)
        _, low, high = paired_interval(diffs, objects, samples=300, seed=index)
        covered += low <= 10.0 <= high
        _, low, high = paired_bootstrap(diffs, objects, samples=300, seed=index)
        covered_old += low <= 10.0 <= high
    print(f"S={seeds}: coverage {covered / draws:.3f} (paired_interval), {covered_old / draws:.3f} (old bootstrap)")
    assert covered / draws >= 0.93
    assert covered_old / draws < covered / draws
