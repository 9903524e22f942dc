"""Every run's outputs -> the tidy tables in results/ (long format, one observation per row; the tables
themselves: pipelines.tables.results).

    python -m pipelines.collect tables --config CFG --out results \
        --evaluations evaluations/*/*/seed*/*/global.csv --losses runs/*/*/seed*/loss.csv
    python -m pipelines.collect rule-times --benchmarks benchmarks --seeds 3 --out results/rule_times.csv

``tables`` concatenates the runs' global.csv and per_object.csv (``pipelines.score``) into
results/accuracy.csv and results/per_sequence.csv, adds results/accuracy_summary.csv (mean and 95%
interval over seeds), turns every run's loss.csv and validation.csv into results/training_loss.csv and
results/validation.csv, writes results/runs.csv (provenance) and, given the dataset's attributes.csv,
results/per_attribute.csv (J&F of the objects of the videos with and without each attribute).
``rule-times`` sums the workflow's own benchmarks/**/*.tsv by kind of job. Columns: results/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import DataError, check_output_folder
from pipelines.common.provenance import DEFAULT_CONFIG
from pipelines.experiment import runs
from pipelines.experiment.defaults import bootstrap_settings
from pipelines.experiment.runs import RunFolder
from pipelines.tables.results import (
    accuracy_table,
    per_attribute_table,
    per_sequence_table,
    rule_times_table,
    runs_table,
    summary_table,
    training_loss_table,
    validation_table,
)
from pipelines.tables.scores import write_csv


def cmd_rule_times(args: argparse.Namespace) -> int:
    benchmarks = Path(args.benchmarks)
    if not benchmarks.is_dir():
        raise DataError(benchmarks, "benchmarks folder does not exist")
    out = check_output_folder(Path(args.out).parent, replace=False) / Path(args.out).name
    table = rule_times_table(benchmarks)
    total_cpu = float(table["cpu_s"].sum())
    table.loc[len(table)] = {"rule": "total", "jobs": int(table["jobs"].sum()), "wall_s": float(table["wall_s"].sum()),
                             "cpu_s": total_cpu, "max_rss_mb": float(table["max_rss_mb"].max()),
                             "per_seed_jobs": int(table["per_seed_jobs"].sum())}
    table.loc[len(table)] = {"rule": "total per seed", "jobs": float("nan"), "wall_s": float("nan"),
                             "cpu_s": total_cpu / max(1, args.seeds), "max_rss_mb": float("nan"),
                             "per_seed_jobs": float("nan")}
    write_csv(table, out)
    print(table.to_string(index=False))
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    out = check_output_folder(args.out, replace=False)
    samples, seed = bootstrap_settings(config)
    summaries = [Path(p) for p in args.evaluations]
    accuracy = accuracy_table(summaries)
    per_sequence = per_sequence_table(summaries)
    summary = summary_table(accuracy, per_sequence, samples, seed)
    losses = training_loss_table([Path(p) for p in args.losses], config)
    validation = validation_table([Path(p) for p in args.losses])
    attributes = dict(item.split("=", 1) for item in args.attributes)
    per_attribute = per_attribute_table(per_sequence, attributes)
    runs = runs_table(accuracy, [Path(p) for p in args.losses], config, load_config(args.default_config))
    for name, frame in (("accuracy", accuracy), ("accuracy_summary", summary), ("per_sequence", per_sequence),
                        ("training_loss", losses), ("validation", validation), ("per_attribute", per_attribute),
                        ("runs", runs)):
        write_csv(frame, out / f"{name}.csv")
        print(f"{out / name}.csv: {len(frame)} rows")
    return 0




def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.collect", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tables = commands.add_parser("tables", help="per-run outputs -> results/*.csv")
    tables.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    tables.add_argument("--evaluations", nargs="*", default=[], help="global.csv files written by pipelines.score")
    tables.add_argument("--losses", nargs="*", default=[], help=f"{runs.pattern(runs.RUNS_ROOT, RunFolder.LOSS)} files")
    tables.add_argument("--attributes", nargs="*", default=[],
                        help="DATASET=attributes.csv pairs (the synthetic data's per-sequence attributes)")
    tables.add_argument("--default-config", default=str(DEFAULT_CONFIG),
                        help="the config runs are compared with in results/runs.csv (changed_keys)")
    tables.add_argument("--out", required=True, help="results folder")
    times = commands.add_parser("rule-times", help="benchmarks/**/*.tsv -> time and CPU seconds per kind of job")
    times.add_argument("--benchmarks", default="benchmarks", help="the workflow's benchmarks/ folder (one .tsv a job)")
    times.add_argument("--seeds", type=int, default=1, help="seeds of the run (for the CPU seconds per seed)")
    times.add_argument("--out", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return {"tables": cmd_tables, "rule-times": cmd_rule_times}[args.command](args)


if __name__ == "__main__":
    run_cli(main)
