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


def test_a_progress_bar_in_a_log_file_writes_whole_lines(capsys):
    """A log (stderr not a terminal) gets each refresh as a line of its own, so a line logged between two
    refreshes is not glued to a bar by a carriage return."""
    import sys

    from pipelines.common.cli import progress_bar

    for step in progress_bar(range(3), desc="train", mininterval=0):
        if step == 1:
            print("held-out J&F 50.0", file=sys.stderr)
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = err.splitlines()
    assert "held-out J&F 50.0" in lines and all(line.startswith(("train:", "held-out")) for line in lines)


def test_every_flag_of_every_command_says_what_it_is_for():
    import ast
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    silent = []
    for path in [*sorted((repo / "pipelines").rglob("*.py")), *sorted((repo / "report").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" \
                    and not any(keyword.arg == "help" for keyword in node.keywords):
                silent.append(f"{path.relative_to(repo)}:{node.lineno}")
    assert not silent
