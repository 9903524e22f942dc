"""The paper's tables as CSV, shipped in report/paper_tables/: the only home of a number the paper reports
(where each comes from and the paper's inconsistencies: report/paper_tables/README.md). Everything that
compares with the paper (the claims, the benchmark summary, the report) reads it from here."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from pipelines.common.files import DataError

PAPER_FILES = {
    "table1": "ablation_training_stages.csv",
    "table2": "ablation_memory_read.csv",
    "table3": "memory_vs_t.csv",
    "table4": "ablation_scm.csv",
    "table5_davis16": "results_davis16.csv",
    "table5_davis17": "results_davis17.csv",
    "table6": "results_youtubevos18.csv",
    "fig7": "fig7_points_derived_from_table5.csv",
}
QUOTED_FILE = "text_quoted_numbers.csv"
"""Numbers the paper states in its text (quantity -> value)."""
ABLATION_SCORES = {
    "table1": {"J-Mean": "davis2017_J", "F-Mean": "davis2017_F"},
    "table2": {"J-Mean": "J_pct", "F-Mean": "F_pct"},
    "table4": {"J-Mean": "J_pct", "F-Mean": "F_pct"},
}
"""The DAVIS-2017 val J and F columns of the ablation tables (rows named in their ``variant`` column)."""


def default_paper_dir() -> Path:
    """report/paper_tables/ inside the repository."""
    return Path(__file__).resolve().parents[2] / "report" / "paper_tables"


def read_paper_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def load_paper(paper_dir: str | Path | None) -> dict[str, pd.DataFrame | None]:
    """Each paper table by key (see PAPER_FILES); None where the file is missing."""
    root = Path(paper_dir) if paper_dir else default_paper_dir()
    if not root.is_dir() or not any((root / name).is_file() for name in PAPER_FILES.values()):
        raise DataError(root, "--paper: no paper table here (expected " + ", ".join(PAPER_FILES.values()) +
                        "); every 'as reported by the paper' row would be missing")
    tables = {}
    for key, name in PAPER_FILES.items():
        path = root / name
        tables[key] = read_paper_csv(path) if path.is_file() else None
    return tables


@cache
def shipped_table(key: str) -> pd.DataFrame:
    """One of the shipped tables (PAPER_FILES key, or ``quoted`` for the numbers stated in the text)."""
    name = QUOTED_FILE if key == "quoted" else PAPER_FILES[key]
    path = default_paper_dir() / name
    if not path.is_file():
        raise DataError(path, "a shipped table of the paper is missing from the checkout")
    return read_paper_csv(path)


def reported_scores(table: str, row: str) -> dict[str, float]:
    """{'J-Mean', 'F-Mean'} of one row of an ablation table (Tables 1, 2, 4) on DAVIS-2017 val."""
    frame = shipped_table(table)
    match = frame[frame["variant"] == row]
    if len(match) != 1:
        raise ValueError(f"{PAPER_FILES[table]}: no single row {row!r}")
    return {metric: float(match[column].iloc[0]) for metric, column in ABLATION_SCORES[table].items()}


def quoted_number(quantity: str) -> float:
    """A number the paper states in its text, by the ``quantity`` of text_quoted_numbers.csv."""
    frame = shipped_table("quoted")
    match = frame[frame["quantity"] == quantity]
    if len(match) != 1:
        raise ValueError(f"{QUOTED_FILE}: no single quantity {quantity!r}")
    return float(match["value"].iloc[0])


def stm_memory_mib() -> dict[int, float]:
    """Table 3's STM memory ('MB', which match MiB) by stored frames. The paper prints 4 MB at t = 0: the
    first frame already stored, so it is the memory of one stored frame here."""
    frame = shipped_table("table3")
    stm = frame[frame["method"] == "STM"]
    return {max(1, int(t)): float(mb) for t, mb in zip(stm["t"], stm["megabytes"], strict=True)}


def stm_memory_per_frame_mib() -> float:
    """Table 3's STM growth per stored frame: first to last row."""
    frame = shipped_table("table3")
    stm = frame[frame["method"] == "STM"].sort_values("t")
    return float((stm["megabytes"].iloc[-1] - stm["megabytes"].iloc[0]) / (stm["t"].iloc[-1] - stm["t"].iloc[0]))


def gcm_memory_mib() -> float:
    """Table 3's memory of the paper's method at any t."""
    frame = shipped_table("table3")
    return float(frame[frame["method"] == "Ours"]["megabytes"].iloc[0])


def gcm_speedup() -> float:
    """How many times faster the paper says GCM reads than STM (Sec. 4.3.2, Table 2)."""
    return quoted_number("speed-up of GCM over STM memory read")
