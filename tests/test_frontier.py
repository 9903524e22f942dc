"""The frontier (pipelines.tools.frontier): at the run's own seed count it gives the claims table's
interval half-width, more seeds shrink only the seed part, and it prices seeds from the run's rule times."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.common.intervals import paired_half_width
from pipelines.tables import claims
from pipelines.tools import frontier
from tests.test_claims import fake_per_sequence


def results_folder(path, per_sequence: pd.DataFrame, iterations: int = 750):
    path.mkdir()
    per_sequence.to_csv(path / "per_sequence.csv", index=False)
    pd.DataFrame([{"rule": "train", "jobs": 21, "wall_s": 2200.0, "cpu_s": 2100.0, "max_rss_mb": 1, "per_seed_jobs": 21},
                  {"rule": "benchmark", "jobs": 2, "wall_s": 60.0, "cpu_s": 60.0, "max_rss_mb": 1, "per_seed_jobs": 0},
                  {"rule": "total", "jobs": 23, "wall_s": 2260.0, "cpu_s": 2160.0, "max_rss_mb": 1, "per_seed_jobs": 21}]
                 ).to_csv(path / "rule_times.csv", index=False)
    runs = [{"variant": "gvos_scm", "stage": "full", "seed": s} for s in (0, 1, 2)]
    pd.DataFrame(runs + [{"variant": "copy_first_frame", "stage": "none", "seed": 0}]).to_csv(path / "runs.csv", index=False)
    pd.DataFrame([{"variant": "gvos_scm", "stage": stage, "seed": 0, "iteration": i, "elapsed_s": 1.0 + 0.25 * i}
                  for stage in ("main_only", "pretrain_only") for i in (10, iterations)]
                 ).to_csv(path / "training_loss.csv", index=False)
    return path


def test_at_the_runs_seed_count_the_half_width_is_the_claims_tables(tmp_path):
    per_sequence = fake_per_sequence(effect=1.0)
    rows = pd.DataFrame(frontier.frontier_rows(results_folder(tmp_path / "r", per_sequence), (3, 5, 10)))
    table = claims.claims_table(per_sequence, None, None).set_index(["claim", "metric"])
    for claim, group in rows.groupby("claim"):
        widths = group.set_index("seeds")["half_width"]
        assert widths[3] == pytest.approx(table.loc[(claim, "J&F"), "detectable"])
        assert widths[3] > widths[5] > widths[10]
    first = rows.iloc[0]
    assert first["main_iterations"] == 750
    # 2100 CPU-s over 3 seeds per seed, 60 not per seed: 60 + S * 700 seconds
    assert rows.set_index("seeds")["cpu_minutes"].groupby(level=0).first().to_dict() == pytest.approx(
        {3: (60 + 3 * 700) / 60, 5: (60 + 5 * 700) / 60, 10: (60 + 10 * 700) / 60})


def test_seeds_needed_is_the_first_count_that_decides_and_none_when_the_videos_cannot():
    seed_var, seq_var = 16.0, 0.25
    needed = frontier.seeds_needed(3.0, 0.0, seed_var, seq_var)
    assert paired_half_width(seed_var, seq_var, needed) < 3.0 <= paired_half_width(seed_var, seq_var, needed - 1)
    # the sequence part alone (1.96 * 2 = 3.9) is wider than the distance: no seed count decides it
    assert frontier.seeds_needed(3.0, 0.0, seed_var, 4.0) is None


def test_the_frontier_command_prints_both_tables(tmp_path, capsys):
    folder = results_folder(tmp_path / "r", fake_per_sequence(effect=5.0))
    assert frontier.main(["--run", str(folder), "--out", str(tmp_path / "frontier.csv")]) == 0
    printed = capsys.readouterr().out
    assert "± at 10 seeds" in printed and "CPU-minutes at 3 seeds" in printed
    assert len(pd.read_csv(tmp_path / "frontier.csv")) == 3 * len(claims.ACCURACY_CLAIMS) - 3  # no J&F_r here


def test_another_length_is_priced_at_the_runs_seconds_per_iteration_without_a_half_width(tmp_path):
    folder = results_folder(tmp_path / "r", fake_per_sequence(effect=1.0), iterations=750)
    rows = pd.DataFrame(frontier.frontier_rows(folder, (3,), lengths=(1500,)))
    longer = rows[rows["main_iterations"] == 1500].iloc[0]
    # one main-stage run per seed at 0.25 s an iteration: 750 more iterations, 187.5 s more a seed
    assert longer["cpu_minutes"] == pytest.approx((60 + 3 * (700 + 750 * 0.25)) / 60)
    assert pd.isna(longer["half_width"])


def test_the_results_page_shows_the_frontier_of_the_committed_snapshot():
    """docs/results.md's frontier is the tool's output on docs/default-run/results, not typed in."""
    root = Path(__file__).resolve().parents[1]
    rows = frontier.frontier_rows(root / "docs" / "default-run" / "results", frontier.SEEDS, (750, 1000))
    assert frontier.markdown(pd.DataFrame(rows)) in (root / "docs" / "results.md").read_text(encoding="utf-8")
