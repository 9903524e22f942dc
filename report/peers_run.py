"""Other methods timed beside ours, for the README: the peers benchmark's tables of every run (one a
frame size or a set of t) merged into one snapshot, and Fig. 7 and the memory figure drawn from it beside
the default run's accuracy (docs/default-run/results).

    python -m report.peers_run --runs BENCH/240x432 BENCH/480x854 --out docs/peers-run

Writes OUT/results/speed.csv and OUT/results/memory_vs_t.csv (every row of every run) and
OUT/fig7_speed_accuracy.png and OUT/memory_vs_t.png, drawn at the default run's frame size (240x432:
Fig. 7's speeds and the memory figure's bytes mean one size at a time). `make peers-run` runs it all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError, atomic_save
from pipelines.common.results_tables import TABLE_KEYS, read_results_table
from pipelines.experiment.paper import load_paper
from report import figures
from report.build import measured_label, provenance
from report.readme import SNAPSHOT
from report.results import load_results

TABLES = ("speed", "memory_vs_t")
FIGURE_SIZE = (240, 432)
"""The frame size the figures draw: the default run's, whose accuracy Fig. 7 places the speeds beside."""


def merged_tables(runs: list[Path]) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each table of ``TABLES`` with the rows of every run (DataError naming a run that lacks one), and a
    line for each row left out: every run times gvos_scm beside its peers (the round robin needs ours in
    the same rounds), so where two runs measured the same method at the same size and t, the first run's
    row is kept."""
    merged, left_out = {}, []
    key = TABLE_KEYS["speed"]
    for name in TABLES:
        parts = []
        for run in runs:
            table = read_results_table(run / f"{name}.csv", name)
            if table is None:
                raise DataError(run / f"{name}.csv", "missing or empty: not a finished benchmark run")
            if parts:
                seen = pd.concat(parts)[key].drop_duplicates()
                repeated = table.merge(seen, on=key, how="left", indicator=True)["_merge"].eq("both").to_numpy()
                if name == TABLES[0]:
                    left_out += [f"{run}: {row.variant} t={row.t} ({row.height}x{row.width}), measured in an earlier run"
                                 for row in table[repeated].itertuples()]
                table = table[~repeated]
            parts.append(table)
        merged[name] = pd.concat(parts, ignore_index=True)
    return merged, left_out


def write_snapshot(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """OUT/results/<table>.csv, each checked by reading it back as the report would."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = out / "results" / f"{name}.csv"
        atomic_save(path, lambda tmp, table=table: table.to_csv(tmp, index=False))
        read_results_table(path, name)  # a key measured twice is refused here, naming the file
        paths.append(path)
    return paths


def draw(tables: dict[str, pd.DataFrame], accuracy_from: Path, out: Path) -> list[Path]:
    """Fig. 7 and the memory figure at ``FIGURE_SIZE``, beside the accuracy of ``accuracy_from``."""
    results = load_results(accuracy_from)
    height, width = FIGURE_SIZE
    for name, table in tables.items():
        at_size = table[(table["height"] == height) & (table["width"] == width)]
        if at_size.empty:
            raise DataError(out, f"no {name} rows at {height}x{width}, the size the figures draw")
        results[name] = at_size
    paper = load_paper(None)
    label = measured_label(provenance(results)) + f", {height}x{width}"
    return [figures.speed_accuracy(paper, results, out, label), figures.memory_vs_t(paper, results, out, label)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report.peers_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", required=True, help="benchmark output folders (speed.csv, memory_vs_t.csv)")
    parser.add_argument("--out", default="docs/peers-run", help="folder for results/ and the two figures")
    parser.add_argument("--accuracy", default=str(SNAPSHOT / "results"),
                        help="results folder whose accuracy Fig. 7 draws (default: the default run's snapshot)")
    args = parser.parse_args(argv)
    tables, left_out = merged_tables([Path(run) for run in args.runs])
    for line in left_out:
        print(f"left out: {line}")
    out = Path(args.out)
    written = write_snapshot(tables, out) + draw(tables, Path(args.accuracy), out)
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    run_cli(main)
