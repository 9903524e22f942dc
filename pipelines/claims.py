"""The paper's claims tested on this run's results: results/claims.csv, the first section of the report
(the claims, their intervals and the verdict rule: ``pipelines.tables.claims``).

    python -m pipelines.claims --results results --out results/claims.csv [--config CFG]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import DataError, atomic_save, check_output_file
from pipelines.common.results_tables import read_results_table
from pipelines.experiment.defaults import bootstrap_settings
from pipelines.tables.claims import VERDICT_RULE, claims_table


def _read(path: Path) -> pd.DataFrame | None:
    return read_results_table(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.claims", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="folder with per_sequence.csv, speed.csv, memory_vs_t.csv")
    parser.add_argument("--out", default="results/claims.csv", help="the claims table to write")
    parser.add_argument("--config", type=Path, help="the effective config (evaluate.bootstrap_samples, bootstrap_seed)")
    args = parser.parse_args(argv)
    samples, seed = bootstrap_settings(load_config(args.config))
    results = Path(args.results)
    out = check_output_file(args.out)
    if not results.is_dir():
        raise DataError(results, "results folder does not exist")
    table = claims_table(_read(results / "per_sequence.csv"), _read(results / "speed.csv"),
                         _read(results / "memory_vs_t.csv"), samples, seed)
    atomic_save(out, lambda tmp: table.to_csv(tmp, index=False))
    with pd.option_context("display.width", 200, "display.max_colwidth", 48):
        print(table[["claim", "metric", "reported", "measured", "ci_low", "ci_high", "verdict"]].to_string(index=False))
    print(f"\n{VERDICT_RULE}\nwrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
