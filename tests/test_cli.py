"""Shared CLI plumbing: progress bars that do not flood a log file."""

from __future__ import annotations

import io
import re
import sys
import time

from tqdm import tqdm

from pipelines.common import cli


def _updates_written(make_bar, monkeypatch) -> int:
    """How many times a bar over 80 items, 5 ms apart, writes its count into a stderr that is a file."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    for _ in make_bar(range(80)):
        time.sleep(0.005)
    return len(re.findall(r"\d+/80", stream.getvalue()))


def test_a_progress_bar_into_a_log_file_writes_its_start_and_end_not_every_update(monkeypatch):
    """tqdm's own default writes every 0.1 s; ours, with stderr not a terminal, waits
    LOG_PROGRESS_INTERVAL_S between updates, so a 0.4 s loop writes only the first and the last state."""
    assert cli.LOG_PROGRESS_INTERVAL_S >= 10
    assert _updates_written(lambda it: cli.progress_bar(it, desc="x"), monkeypatch) <= 2
    assert _updates_written(lambda it: tqdm(it, desc="x"), monkeypatch) > 2
