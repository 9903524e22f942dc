"""Every figure of the page is readable: no text artist overlaps another or leaves the canvas, for the
fake results made in tests/test_report_build.py and for the committed snapshot of the default run's
results (the smoke run's figures are checked in tests/test_workflow_smoke.py)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from report.build import build
from tests.figure_text import checking_figures, text_problems
from tests.test_report_build import FIGURES, add_fake_peers, write_fake_probes_and_frames, write_fake_results

REPO = Path(__file__).resolve().parent.parent


def test_the_check_finds_overlapping_text_and_text_off_the_canvas():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100, layout="constrained")
    ax.text(0.5, 0.5, "first label", transform=ax.transAxes)
    ax.text(0.52, 0.5, "second label", transform=ax.transAxes)
    ax.text(1.3, 0.5, "outside", transform=ax.transAxes)
    problems = text_problems(fig)
    plt.close(fig)
    assert "'first label' overlaps 'second label'" in problems
    assert "'outside' leaves the canvas" in problems
    assert len(problems) == 2, problems


def test_tick_labels_outside_the_view_are_not_counted():
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100, layout="constrained")
    ax.plot([1, 2], [1, 2])
    ax.set_xticks([-100, 1, 2, 100])  # matplotlib keeps labels for ticks it does not draw
    ax.set_xlim(0.9, 2.1)
    problems = text_problems(fig)
    plt.close(fig)
    assert problems == []


def check_every_figure(results: Path, out: Path, monkeypatch) -> dict[str, list[str]]:
    with checking_figures(monkeypatch) as found:
        build(results, None, out, overwrite=True)
    return found


def test_every_figure_of_the_fake_results_is_readable(tmp_path, monkeypatch):
    write_fake_results(tmp_path / "results")
    write_fake_probes_and_frames(tmp_path / "results")
    found = check_every_figure(tmp_path / "results", tmp_path / "build", monkeypatch)
    assert set(FIGURES) <= set(found)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_every_figure_of_the_default_run_is_readable(tmp_path, monkeypatch):
    found = check_every_figure(REPO / "docs" / "default-run" / "results", tmp_path / "build", monkeypatch)
    assert set(FIGURES) <= set(found)
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_every_figure_with_timed_peers_is_readable(tmp_path, monkeypatch):
    write_fake_results(tmp_path / "results")
    add_fake_peers(tmp_path / "results")
    found = check_every_figure(tmp_path / "results", tmp_path / "build", monkeypatch)
    assert {name: problems for name, problems in found.items() if problems} == {}
