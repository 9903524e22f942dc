"""Timing that survives a busy machine: the compared engines are stepped round robin on the same frames,
and a timing whose own sanity checks fail (spread, equal work at unequal time) is flagged and gives no
speed verdict."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.benchmarking import flags
from pipelines.benchmarking.runner import time_round_robin
from pipelines.common.results_tables import is_flagged
from pipelines.tables import claims


class CountingEngine:
    """Records the order of its steps in a shared log; a step 'takes' no time."""

    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def step(self, frame):
        self.log.append((self.name, frame))


class CountingSnapshot:
    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def restore(self):
        self.log.append((self.name, "restore"))


def test_round_robin_steps_every_state_once_a_round_on_the_same_frame_in_a_rotating_order():
    log: list = []
    names = ["a", "b", "c"]
    states = {n: (CountingEngine(n, log), CountingSnapshot(n, log)) for n in names}
    timed = time_round_robin(states, frames=[10, 11, 12, 13], warmup=1, device="cpu")
    steps = [(name, frame) for name, frame in log if frame != "restore"]
    assert [name for name, _ in steps] == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert [frame for _, frame in steps] == [10] * 3 + [11] * 3 + [12] * 3 + [13] * 3
    restores = [i for i, (_, what) in enumerate(log) if what == "restore"]
    assert restores == list(range(0, len(log), 2)), "each step starts from the engine's snapshot"
    assert all(len(times) == 3 for _, times in timed.values())  # the warm-up round is not counted


def row(variant="gvos_scm", t=100, median=0.05, low=0.048, high=0.055, flops=2.0, memory=8192):
    return {"variant": variant, "t": t, "height": 240, "width": 432, "objects": 1, "dtype": "bfloat16",
            "seconds_per_frame": median, "seconds_per_frame_min": low, "seconds_per_frame_max": high,
            "gflops_per_frame": flops, "memory_bytes": memory}


def test_a_clean_timing_has_no_flag():
    rows = flags.flag_timings([row(t=1), row(t=100, median=0.052), row("stm_read", 100, 0.5, 0.49, 0.52, 9.0, 10**6)])
    assert [r["timing_flag"] for r in rows] == ["", "", ""]


def test_a_wide_spread_is_flagged():
    (flagged,) = flags.flag_timings([row(low=0.04, high=0.08)])
    assert flagged["timing_flag"].startswith("spread 2.00x")


def test_equal_work_at_unequal_time_flags_every_row_of_the_group():
    rows = flags.flag_timings([row(t=1, median=0.05), row(t=10, median=0.051), row(t=100, median=0.09, high=0.095),
                               row("stm_read", 100, 0.5, 0.49, 0.52, 9.0, 10**6)])
    assert all("equal work, 1.80x apart" in r["timing_flag"] for r in rows[:3])
    assert rows[3]["timing_flag"] == ""


def test_without_flops_a_bounded_memory_at_another_t_is_equal_work():
    rows = flags.flag_timings([row(t=1, flops=None), row(t=100, flops=None, median=0.08, low=0.079, high=0.081)])
    assert all(r["timing_flag"].startswith("equal work") for r in rows)
    growing = flags.flag_timings([row("stm_read", 1, 0.05, 0.049, 0.051, None, 10**5),
                                  row("stm_read", 100, 0.5, 0.49, 0.51, None, 10**7)])
    assert [r["timing_flag"] for r in growing] == ["", ""]


def test_microsecond_steps_are_not_judged():
    rows = flags.flag_timings([row("copy_first_frame", 1, 2e-5, 1e-5, 9e-5, None, 64),
                               row("copy_first_frame", 100, 6e-5, 5e-5, 7e-5, None, 64)])
    assert [r["timing_flag"] for r in rows] == ["", ""]


@pytest.mark.parametrize("flag", ["", "spread 2.10x (slowest over fastest step, limit 1.5x)"])
def test_no_speed_verdict_rests_on_a_flagged_timing(flag):
    speed = pd.DataFrame([
        {**row(), "timing_flag": ""},
        {**row("stm_read", 100, 0.5, 0.49, 0.52, 9.0, 10**6), "timing_flag": flag}])
    table = pd.DataFrame(claims.speed_rows(speed, None))
    assert len(table) == 2
    if flag:
        assert set(table["verdict"]) == {"inconclusive"}
        assert all("timing flagged, stm_read: spread 2.10x" in metric for metric in table["metric"])
    else:
        assert set(table["verdict"]) == {"reproduced"}


def _busy() -> None:  # a process that keeps one core busy until killed
    while True:
        sum(i * i for i in range(10_000))


def _ratio_and_flags(out) -> tuple[float, str]:
    speed = pd.read_csv(out / "speed.csv").set_index(["variant", "t"])
    gcm, stm = speed.loc[("gvos_scm", 10)], speed.loc[("stm_read", 10)]
    flagged = "; ".join(f for f in (gcm["timing_flag"], stm["timing_flag"]) if is_flagged(f))
    return stm["seconds_per_frame"] / gcm["seconds_per_frame"], flagged


@pytest.mark.slow
def test_a_loaded_machine_keeps_the_speed_ratio_within_a_quarter_or_flags_it(tmp_path):
    """Two processes keep both cores busy during one benchmark: its STM / GCM ratio stays within 25% of
    an idle run's, or the rows compared are flagged (and the claim gives no verdict)."""
    import multiprocessing

    import yaml

    from pipelines.benchmark import main
    from tests.tiny_model import TINY_MODEL

    args = ["--threads", "2", "--quiet", "--device", "cpu", "--variants", "gvos_scm,stm_read", "--size", "96x160",
            "--t", "1,10", "--repeats", "9", "--warmup", "2", "--no-breakdown"]
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"model": dict(TINY_MODEL)}))
    assert main(["--config", str(config), "--out", str(tmp_path / "idle"), *args]) == 0
    load = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(2)]
    for process in load:
        process.start()
    try:
        assert main(["--config", str(config), "--out", str(tmp_path / "loaded"), *args]) == 0
    finally:
        for process in load:
            process.terminate()
    idle, _ = _ratio_and_flags(tmp_path / "idle")
    loaded, flagged = _ratio_and_flags(tmp_path / "loaded")
    assert abs(loaded / idle - 1) <= 0.25 or flagged, f"ratio {loaded:.2f} loaded against {idle:.2f} idle, unflagged"


def test_the_speed_card_gives_each_methods_size_and_distribution_and_states_the_protocol():
    from report import tables

    speed = pd.DataFrame([
        {**row(t=1, median=0.05, low=0.049, high=0.052), "timing_flag": "", "parameters": 1_900_000},
        {**row(t=100, median=0.05, low=0.049, high=0.052), "timing_flag": "", "parameters": 1_900_000},
        {**row("stm_read", 1, 0.06, 0.05, 0.07, 2.5, 10**5), "timing_flag": "", "parameters": 1_800_000},
        {**row("stm_read", 100, 0.9, 0.5, 1.6, 9.0, 10**7), "timing_flag": "spread 3.20x", "parameters": 1_800_000}])
    speed = speed.assign(warmup=2, repeats=3, fp32_precision="ieee", compiled=False, threads=2,
                         device="cpu: Some CPU", torch="2.14.1")
    card = tables.speed_card({"speed": speed}).set_index("method")
    assert card.loc["gvos_scm", "parameters (M)"] == "1.90" and card.loc["gvos_scm", "GFLOPs a frame"] == "2"
    assert card.loc["stm_read", "GFLOPs a frame"] == "2.5 to 9"
    assert card.loc["gvos_scm", "s/frame at t=100"] == "0.05 [0.049, 0.052]"
    assert card.loc["stm_read", "s/frame at t=100"] == "0.9 [0.5, 1.6] flagged"
    assert card.loc["stm_read", "state MiB at t=100"] == f"{10**7 / 2**20:.3g}"
    protocol = tables.speed_protocol({"speed": speed})
    for words in ("time.perf_counter", "round robin", "2 warm-up and 3 timed rounds", "240x432", "2 thread(s)",
                  "cpu: Some CPU", "torch 2.14.1", "their own checks: 1"):
        assert words in protocol
