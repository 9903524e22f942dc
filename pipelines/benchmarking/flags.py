"""Sanity checks of a benchmark's timings: which rows cannot be trusted, and why (speed.csv's
``timing_flag``; empty when every check held). A flagged row keeps its numbers; no verdict rests on it
(``pipelines.tables.claims``).

- **spread**: a row's slowest timed step is more than ``SPREAD_LIMIT`` times its fastest: something else
  took the processor during the timing.
- **equal work, unequal time**: rows that do the same work per frame (the same FLOPs per frame from the
  breakdown at one input size; without a breakdown, the same variant with the same memory bytes at
  another t, a bounded memory read) whose medians differ by more than ``EQUAL_WORK_LIMIT``: the time
  measured something other than the work.
"""

from __future__ import annotations

import math
from collections import defaultdict

SPREAD_LIMIT = 1.5
"""Slowest over fastest timed step of one row above this: flagged. An idle CPU keeps it under about 1.2
at the default's sizes (docs/findings.md)."""

EQUAL_WORK_LIMIT = 1.25
"""Slowest over fastest median among rows of equal work above this: all of them flagged."""

MIN_SECONDS = 1e-3
"""Rows faster than this a step (the copy baseline, tiny test models) are not checked: at microseconds the
timer's and the interpreter's jitter are the spread, not the machine's load."""


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _work_key(row: dict) -> tuple:
    """Rows with equal keys do the same work per frame."""
    size = (row.get("height"), row.get("width"), row.get("objects"), row.get("dtype"))
    flops = _number(row.get("gflops_per_frame"))
    if flops is not None and flops > 0:
        return ("flops", *size, round(flops, 6))
    return ("state", *size, row["variant"], row.get("memory_bytes"))


def spread_flag(row: dict) -> str:
    low, high = _number(row.get("seconds_per_frame_min")), _number(row.get("seconds_per_frame_max"))
    if low is None or high is None or low < MIN_SECONDS or high / low <= SPREAD_LIMIT:
        return ""
    return f"spread {high / low:.2f}x (slowest over fastest step, limit {SPREAD_LIMIT:g}x)"


def equal_work_flags(rows: list[dict]) -> dict[int, str]:
    """index -> flag for the rows of an equal-work group whose medians are too far apart."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row["seconds_per_frame"] >= MIN_SECONDS:
            groups[_work_key(row)].append(index)
    flags = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        medians = [rows[i]["seconds_per_frame"] for i in members]
        if min(medians) > 0 and max(medians) / min(medians) > EQUAL_WORK_LIMIT:
            names = ", ".join(f"{rows[i]['variant']} t={rows[i]['t']}" for i in members)
            for i in members:
                flags[i] = (f"equal work, {max(medians) / min(medians):.2f}x apart in time ({names}; limit "
                            f"{EQUAL_WORK_LIMIT:g}x)")
    return flags


def flag_timings(rows: list[dict]) -> list[dict]:
    """The rows with ``timing_flag`` set: every failed check's reason, '; '-joined, or ''."""
    work = equal_work_flags(rows)
    flagged = []
    for index, row in enumerate(rows):
        reasons = [reason for reason in (spread_flag(row), work.get(index, "")) if reason]
        flagged.append({**row, "timing_flag": "; ".join(reasons)})
    return flagged
