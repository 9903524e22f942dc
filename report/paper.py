"""The paper's tables as CSV, shipped in report/paper_tables/ (all values *reported* by the paper;
where each number comes from and the paper's inconsistencies: report/paper_tables/README.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def default_paper_dir() -> Path:
    """report/paper_tables/ inside the repository."""
    return Path(__file__).resolve().parent / "paper_tables"


def load_paper(paper_dir: str | Path | None) -> dict[str, pd.DataFrame | None]:
    """Each paper table by key (see PAPER_FILES); None where the file is missing."""
    root = Path(paper_dir) if paper_dir else default_paper_dir()
    if not root.is_dir() or not any((root / name).is_file() for name in PAPER_FILES.values()):
        from pipelines.files import DataError

        raise DataError(root, "--paper: no paper table here (expected " + ", ".join(PAPER_FILES.values()) +
                        "); every 'as reported by the paper' row would be missing")
    tables = {}
    for key, name in PAPER_FILES.items():
        path = root / name
        tables[key] = pd.read_csv(path) if path.is_file() else None
    return tables
