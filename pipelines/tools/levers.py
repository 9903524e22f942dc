"""Compare training recipes ("levers") on the held-out videos, over seeds at equal budget.

    python -m pipelines.tools.levers --arm default=runs_a --arm spotlight=runs_b [--out levers.csv]

Each ARM folder holds one run folder per seed (``seed0/``, ``seed1/``, ...; the train CLI's --out), each
with its validation.csv (train.main.holdout_split, validate_every). Printed, as a markdown table per
arm: the final held-out J&F and its multi-object part per seed, the multi-object J&F averaged over every
check (how early identity arrives: the area under the curve over the check count), the final J&F on the
frames after a reappearance (pipelines.evaluation.frame_groups), mean ± SD over
seeds, the first checked iteration at which the multi-object J&F reached ``--click`` (the identity "click"; never: -), and the
SCM gate inside / outside the previous mask at the end; then each arm against the first, paired by
seed, with a Student-t interval over seeds (pipelines.common.intervals.seed_interval). Never the val split:
a recipe is chosen here, then frozen, and the claims are computed once with it.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError, atomic_save, check_output_file
from pipelines.common.intervals import seed_interval
from pipelines.tables.scores import read_csv

CLICK = 50.0
"""Multi-object held-out J&F that counts as past the transition (the bar every run is held to)."""
COMPARED = ("J&F", "J&F_multi", "J&F_multi_over_checks", "J&F_r")
"""The per-seed columns given as mean ± SD and compared between arms, paired by seed (J&F_r: on the frames
after a reappearance, NaN for a run whose held-out videos have none)."""


def arm_runs(name: str, folder: Path, click: float = CLICK) -> pd.DataFrame:
    """One row per seed of an arm: final J&F, multi-object J&F, gate, first iteration past ``click``."""
    rows = []
    for run in sorted(folder.glob("seed*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0)):
        checks = read_csv(run / "validation.csv", f"validation curve of arm {name!r}")
        if "J&F_multi" not in checks.columns:
            raise DataError(run / "validation.csv", "no J&F_multi column: the run predates the held-out split "
                                                    "(train.main.holdout_split); retrain it")
        last = checks.iloc[-1]
        past = checks.loc[checks["J&F_multi"] >= click, "iteration"]
        rows.append({"arm": name, "seed": int(re.sub(r"\D", "", run.name)), "iterations": int(last["iteration"]),
                     "J&F": float(last["J&F"]), "J&F_multi": float(last["J&F_multi"]),
                     "J&F_multi_over_checks": float(checks["J&F_multi"].mean()),
                     "J&F_r": float(last.get("J&F_r", np.nan)),
                     "click_iteration": int(past.iloc[0]) if len(past) else None,
                     "gate_inside": float(last.get("gate_inside", np.nan)),
                     "gate_outside": float(last.get("gate_outside", np.nan))})
    if not rows:
        raise DataError(folder, f"arm {name!r}: no seed*/ run folders here")
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame, reference: str, arm: str, column: str = "J&F") -> dict:
    """``arm`` minus ``reference`` in ``column`` over the seeds both have: mean, SD, t-interval."""
    table = runs.pivot(index="seed", columns="arm", values=column)[[reference, arm]].dropna()
    mean, sd, low, high = seed_interval((table[arm] - table[reference]).to_numpy())
    return {"arm": arm, "reference": reference, "column": column, "seeds": len(table), "difference": mean,
            "sd": sd, "low": low, "high": high}


def markdown(runs: pd.DataFrame, comparisons: list[dict], click: float) -> str:
    lines = ["| arm | seed | held-out J&F | multi-object J&F | multi-object J&F, mean over checks | "
             f"J&F after a reappearance | first check with multi >= {click:g} | gate inside / outside |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, group in runs.groupby("arm", sort=False):
        for _, row in group.iterrows():
            click_at = "-" if pd.isna(row["click_iteration"]) else str(int(row["click_iteration"]))
            lines.append(f"| {arm} | {row['seed']} | {row['J&F']:.1f} | {row['J&F_multi']:.1f} | "
                         f"{row['J&F_multi_over_checks']:.1f} | {row['J&F_r']:.1f} | {click_at} | "
                         f"{row['gate_inside']:.2f} / {row['gate_outside']:.2f} |")
        spread = {c: "-" if group[c].isna().all() else f"{group[c].mean():.1f} ± {group[c].std(ddof=1):.1f}"
                  for c in COMPARED}
        lines.append(f"| {arm} | mean ± SD | {' | '.join(spread[c] for c in COMPARED)} | | |")
    lines.append("")
    for c in comparisons:
        if not c["seeds"]:
            continue  # a column no run has (no reappearance in the held-out videos)
        lines.append(f"{c['arm']} - {c['reference']} ({c['column']}, {c['seeds']} seeds, paired): "
                     f"{c['difference']:+.1f} [{c['low']:+.1f}, {c['high']:+.1f}] (t-interval over seeds)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tools.levers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--arm", action="append", required=True, metavar="NAME=FOLDER",
                        help="a recipe's run folders (FOLDER/seed*/validation.csv); the first is the reference")
    parser.add_argument("--click", type=float, default=CLICK, help="multi-object J&F counted as past the click")
    parser.add_argument("--out", type=Path, help="also write the per-seed rows as CSV")
    args = parser.parse_args(argv)
    arms = []
    for text in args.arm:
        name, sep, folder = text.partition("=")
        if not sep or not name or not folder:
            raise ValueError(f"--arm {text!r}: expected NAME=FOLDER")
        arms.append((name, Path(folder)))
    if args.out:
        check_output_file(args.out)
    runs = pd.concat([arm_runs(name, folder, args.click) for name, folder in arms], ignore_index=True)
    reference = arms[0][0]
    comparisons = [paired(runs, reference, name, column) for name, _ in arms[1:] for column in COMPARED]
    print(markdown(runs, comparisons, args.click))
    if args.out:
        atomic_save(args.out, lambda tmp: runs.to_csv(tmp, index=False))
    return 0


if __name__ == "__main__":
    run_cli(main)
