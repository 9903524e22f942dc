"""What more seeds and main-stage iterations buy: from measured runs of the workflow, each accuracy claim's
expected interval half-width at 3, 5, 10 seeds, the CPU-minutes of the whole workflow at that many seeds,
and the seeds an inconclusive claim would need.

    python -m pipelines.tools.frontier --run RESULTS_DIR [--run RESULTS_DIR ...] [--seeds 3 5 10]
        [--iterations 750 1000] [--out CSV]

Each RESULTS_DIR is a finished run's results/ (per_sequence.csv, rule_times.csv, runs.csv and
training_loss.csv, whose main_only runs give the main stage's length). The half-width is the claims table's (``pipelines.common.intervals.paired_interval``)
with its two variance parts measured in that run: the seed part (the per-seed differences' variance) over
S seeds, plus the sequence part (the bootstrap variance over the val videos), which more seeds do not
shrink: t(S - 1) * sqrt(seed_var / S + seq_var). It assumes the seed and sequence variances measured at 3
seeds hold at S; the seed-by-video interaction inside the sequence part would shrink with S, so the widths
at 5 and 10 seeds are, if anything, a little wide. CPU-minutes: the run's CPU seconds (rule_times.csv)
split into the per-seed jobs and the rest, the per-seed part scaled to S seeds; another main-stage length
(``--iterations``) is priced at the run's seconds per main-stage iteration (training_loss.csv's elapsed
time, held-out checks included), with no half-width: its variances are not measured by this run.

A claim's seeds needed: the fewest seeds at which the half-width is below the distance from the measured
difference to the verdict's threshold (0 for an ordering claim, -margin for "about equal"), if the true
difference were the measured one; "none" when the sequence part alone is wider than that distance (no
number of seeds decides it on these videos). Beside it the half-width no seed count goes below, the
sequence part alone (its normal quantile): only more val videos shrink that (the synthetic generator can
write a larger val split).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError, atomic_save, check_output_file
from pipelines.common.intervals import LEVEL, paired_half_width, paired_variance_parts
from pipelines.experiment.datasets import CLAIMS_DATASET
from pipelines.experiment.stages import STAGES
from pipelines.tables.claims import ACCURACY_CLAIMS, EQUAL_MARGIN, paired_matrix
from pipelines.tables.scores import read_csv

SEEDS = (3, 5, 10)
MOST_SEEDS = 200
"""The search for the seeds a claim needs stops here ("none" beyond)."""


def main_stage_runs(results: Path) -> pd.DataFrame:
    """training_loss.csv's rows of the runs that train the main stage (main_only, full)."""
    loss = read_csv(results / "training_loss.csv", "training loss")
    main = loss[loss["stage"].map(lambda name: name in STAGES and STAGES[name].on_videos)]
    if main.empty:
        raise DataError(results / "training_loss.csv", "no run trains the main stage: cannot tell its length")
    return main


def main_iterations(results: Path) -> int:
    """The main stage's length of a run: the last iteration its main-stage runs logged."""
    return int(main_stage_runs(results)["iteration"].max())


def main_stage_rate(results: Path) -> tuple[int, float]:
    """(main-stage runs per seed, seconds per main-stage iteration, held-out checks included: the median
    over those runs of their logged elapsed time over their logged iterations)."""
    main = main_stage_runs(results)
    per_run = []
    for _, run in main.sort_values("iteration").groupby(["variant", "stage", "seed"]):
        span = run["iteration"].iloc[-1] - run["iteration"].iloc[0]
        if span > 0:
            per_run.append((run["elapsed_s"].iloc[-1] - run["elapsed_s"].iloc[0]) / span)
    runs_per_seed = main.groupby("seed")[["variant", "stage"]].apply(lambda g: len(g.drop_duplicates())).max()
    return int(runs_per_seed), float(np.median(per_run)) if per_run else float("nan")


def cpu_split(results: Path) -> tuple[float, float, int]:
    """(CPU seconds of one seed's jobs, CPU seconds of the jobs not per seed, seeds of the run)."""
    times = read_csv(results / "rule_times.csv", "rule times")
    rules = times[~times["rule"].astype(str).str.startswith("total")]
    seeds = read_csv(results / "runs.csv", "runs")
    n_seeds = int(seeds.loc[seeds["stage"] != "none", "seed"].nunique())
    per_seed_share = rules["per_seed_jobs"] / rules["jobs"]
    per_seed = float((rules["cpu_s"] * per_seed_share).sum()) / n_seeds
    rest = float((rules["cpu_s"] * (1 - per_seed_share)).sum())
    return per_seed, rest, n_seeds


def seeds_needed(measured: float, threshold: float, seed_var: float, seq_var: float) -> int | None:
    """The fewest seeds (2..MOST_SEEDS) whose half-width is below |measured - threshold|; None if none."""
    distance = abs(measured - threshold)
    for n in range(2, MOST_SEEDS + 1):
        if paired_half_width(seed_var, seq_var, n) < distance:
            return n
    return None


def frontier_rows(results: Path, seeds: tuple[int, ...] = SEEDS, lengths: tuple[int, ...] = ()) -> list[dict]:
    """The rows of one measured run; ``lengths``: other main-stage lengths to price (CPU-minutes from the
    run's seconds per main-stage iteration; no half-width: their variances were not measured)."""
    per_sequence = read_csv(results / "per_sequence.csv", "per-object scores")
    iterations = main_iterations(results)
    per_seed_cpu, rest_cpu, run_seeds = cpu_split(results)
    runs_per_seed, rate = main_stage_rate(results)
    rows = [{"main_iterations": length, "seeds": n, "claim": "", "metric": "", "measured": float("nan"),
             "seed_sd": float("nan"), "sequence_sd": float("nan"), "half_width": float("nan"),
             "cpu_minutes": (rest_cpu + n * (per_seed_cpu + runs_per_seed * (length - iterations) * rate)) / 60,
             "seeds_needed": None, "val_videos": None, "floor": float("nan"), "measured_at_seeds": run_seeds, "source": str(results)}
            for length in lengths if length != iterations for n in seeds]
    for claim in ACCURACY_CLAIMS:
        metric, label = claim.metrics[0]  # J&F (J&F_r for the claim after a reappearance)
        if metric not in per_sequence:  # tables of a version without the column
            continue
        diffs, objects, have, _ = paired_matrix(per_sequence, claim.a, claim.b, CLAIMS_DATASET, metric)
        if len(have) < 2:
            continue
        measured, seed_var, seq_var = paired_variance_parts(diffs, objects)
        threshold = 0.0 if claim.kind == "greater" else -EQUAL_MARGIN
        needed = seeds_needed(measured, threshold, seed_var, seq_var)
        for n in seeds:
            rows.append({"main_iterations": iterations, "seeds": n, "claim": claim.claim, "metric": label,
                         "measured": measured, "seed_sd": float(np.sqrt(seed_var)),
                         "sequence_sd": float(np.sqrt(seq_var)),
                         "half_width": paired_half_width(seed_var, seq_var, n),
                         "cpu_minutes": (rest_cpu + n * per_seed_cpu) / 60, "seeds_needed": needed,
                         "val_videos": diffs.shape[1], "floor": float(stats.norm.ppf(0.5 + LEVEL / 2) * np.sqrt(seq_var)),
                         "measured_at_seeds": run_seeds, "source": str(results)})
    return rows


def markdown(table: pd.DataFrame) -> str:
    """One line per claim and main-stage length: half-widths at each seed count, CPU-minutes, seeds needed."""
    seeds = sorted(table["seeds"].unique())
    head = (["main-stage iterations", "claim", "measured", "seed SD", "video part SD"]
            + [f"± at {n} seeds" for n in seeds] + ["± at any seeds (the videos' part)", "seeds needed"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (iterations, claim), group in table[table["claim"] != ""].groupby(["main_iterations", "claim"], sort=False):
        group = group.set_index("seeds")
        first = group.iloc[0]
        needed = "none" if pd.isna(first["seeds_needed"]) else str(int(first["seeds_needed"]))
        cells = [str(iterations), f"{claim} ({first['metric']})", f"{first['measured']:+.1f}",
                 f"{first['seed_sd']:.1f}", f"{first['sequence_sd']:.1f}"]
        cells += [f"{group.loc[n, 'half_width']:.1f}" for n in seeds] + [f"{first['floor']:.1f}", needed]
        lines.append("| " + " | ".join(cells) + " |")
    costs = table.groupby(["main_iterations", "seeds"])["cpu_minutes"].first()
    lines.append("")
    lines.append("| main-stage iterations | " + " | ".join(f"CPU-minutes at {n} seeds" for n in seeds) + " |")
    lines.append("|---|" + "---|" * len(seeds))
    for iterations in sorted(table["main_iterations"].unique()):
        lines.append(f"| {iterations} | " + " | ".join(f"{costs[(iterations, n)]:.0f}" for n in seeds) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tools.frontier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, type=Path,
                        help="a finished run's results folder (repeat for runs of other main-stage lengths)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help="seed counts to price")
    parser.add_argument("--iterations", nargs="*", type=int, default=[],
                        help="other main-stage lengths to price in CPU-minutes (no half-width: not measured)")
    parser.add_argument("--out", type=Path, help="also write the rows as CSV")
    args = parser.parse_args(argv)
    if min(args.seeds) < 2:
        parser.error("--seeds: an interval needs at least 2 seeds")
    if any(length < 1 for length in args.iterations):
        parser.error("--iterations: lengths must be positive")
    rows = [row for results in args.run
            for row in frontier_rows(results, tuple(args.seeds), tuple(args.iterations))]
    if not rows:
        raise DataError(args.run[0], "no accuracy claim with two or more seeds on both sides")
    table = pd.DataFrame(rows)
    print(markdown(table))
    if args.out:
        out = check_output_file(args.out)
        atomic_save(out, lambda tmp: table.to_csv(tmp, index=False))
    return 0


if __name__ == "__main__":
    run_cli(main)
