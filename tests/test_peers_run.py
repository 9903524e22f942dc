"""The README's peers snapshot (report.peers_run): the benchmark runs merged, a row measured twice kept
once and named, the two figures drawn at the default run's size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.common.files import DataError
from report.peers_run import main
from tests.test_report_build import add_fake_peers, write_fake_results

REPO = Path(__file__).resolve().parent.parent


def benchmark_run(folder, rows: pd.DataFrame) -> None:
    folder.mkdir(parents=True)
    rows.to_csv(folder / "speed.csv", index=False)
    rows.to_csv(folder / "memory_vs_t.csv", index=False)


def test_the_runs_are_merged_and_a_row_measured_twice_is_kept_once(tmp_path, capsys):
    write_fake_results(tmp_path / "fake")
    add_fake_peers(tmp_path / "fake")
    first = pd.read_csv(tmp_path / "fake" / "speed.csv").assign(height=240, width=432)
    benchmark_run(tmp_path / "small", first)
    again = first[first["variant"].isin(["gvos_scm", "cutie_small"]) & (first["t"] == 100)]
    later = pd.concat([again.assign(t=1000), again[again["variant"] == "gvos_scm"].assign(seconds_per_frame=9.9)])
    benchmark_run(tmp_path / "long", later)
    assert main(["--runs", str(tmp_path / "small"), str(tmp_path / "long"), "--out", str(tmp_path / "out")]) == 0
    assert "left out: " in capsys.readouterr().out
    speed = pd.read_csv(tmp_path / "out" / "results" / "speed.csv")
    assert len(speed) == len(first) + 2
    assert speed.loc[(speed["variant"] == "gvos_scm") & (speed["t"] == 100), "seconds_per_frame"].tolist() == [0.1234]
    assert (tmp_path / "out" / "fig7_speed_accuracy.png").is_file() and (tmp_path / "out" / "memory_vs_t.png").is_file()


def test_a_run_without_its_tables_is_named(tmp_path):
    (tmp_path / "unfinished").mkdir()
    with pytest.raises(DataError, match="unfinished/speed.csv"):
        main(["--runs", str(tmp_path / "unfinished"), "--out", str(tmp_path / "out")])


def test_the_committed_snapshots_figures_are_readable(tmp_path, monkeypatch):
    from report.peers_run import draw
    from report.readme import SNAPSHOT
    from tests.figure_text import checking_figures

    snapshot = REPO / "docs" / "peers-run" / "results"
    tables = {name: pd.read_csv(snapshot / f"{name}.csv") for name in ("speed", "memory_vs_t")}
    assert {"sam2.1_tiny", "sam2.1_base_plus", "cutie_small", "cutie_base", "stcn", "deaot_t",
            "deaot_r50_l"} <= set(tables["speed"]["variant"])
    assert {(240, 432), (480, 854)} <= set(zip(tables["speed"]["height"], tables["speed"]["width"], strict=True))
    with checking_figures(monkeypatch) as found:
        draw(tables, REPO / SNAPSHOT / "results", tmp_path)
    assert set(found) == {"fig7_speed_accuracy.png", "memory_vs_t.png"}
    assert {name: problems for name, problems in found.items() if problems} == {}
