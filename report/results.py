"""Read results/*.csv (any of them may be missing) and pick measured values out of them."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from pipelines.common.results_tables import read_results_table

RESULT_FILES = ["claims", "probes", "scm_gates", "accuracy", "accuracy_summary", "per_sequence", "per_attribute", "training_loss",
                "validation", "runs", "speed", "memory_vs_t", "train_speed", "rule_times"]
"""Every table of results/ (results/README.md): what the workflow's report target asks for and the page reads."""


def load_results(results_dir: str | Path) -> dict[str, pd.DataFrame | None]:
    """Each results table by name; None when its CSV is missing or empty. DataError naming the file for a
    table that lacks a column or repeats a key (``pipelines.common.results_tables``)."""
    tables = {name: read_results_table(Path(results_dir) / f"{name}.csv", name) for name in RESULT_FILES}
    if tables["accuracy_summary"] is None and tables["accuracy"] is not None:
        tables["accuracy_summary"] = seed_means(tables["accuracy"])
    return tables


def seed_means(accuracy: pd.DataFrame) -> pd.DataFrame:
    keys = ["variant", "stage", "dataset", "split"]
    numeric = accuracy.drop(columns=["seed"], errors="ignore").select_dtypes("number").columns
    return accuracy.groupby(keys, as_index=False)[list(numeric)].mean()


def accuracy_value(summary: pd.DataFrame | None, variant: str, stage: str, dataset: str, metric: str) -> float:
    """Seed-mean of ``metric`` for one run and dataset, NaN when not measured."""
    if summary is None or metric not in summary.columns:
        return math.nan
    rows = summary[(summary["variant"] == variant) & (summary["stage"] == stage) & (summary["dataset"] == dataset)]
    return float(rows[metric].iloc[0]) if len(rows) else math.nan


def accuracy_spread(summary: pd.DataFrame | None, variant: str, stage: str, dataset: str, metric: str) -> float:
    """Standard deviation over seeds of ``metric`` (J&F-Mean, J-Mean, F-Mean), NaN below two seeds."""
    column = {"J&F-Mean": "JF_seed_sd"}.get(metric, f"{metric.removesuffix('-Mean')}_seed_sd")
    return accuracy_value(summary, variant, stage, dataset, column)


def reference_t(speed: pd.DataFrame | None, t_max: int = 100) -> int | None:
    """The t at which seconds per frame stands for a variant's speed: the largest measured t <= t_max
    (DAVIS videos mostly have <= 100 frames), else the smallest measured t."""
    if speed is None or "t" not in speed.columns or speed.empty:
        return None
    ts = sorted(int(t) for t in speed["t"].unique())
    below = [t for t in ts if t <= t_max]
    return below[-1] if below else ts[0]


def seconds_per_frame(speed: pd.DataFrame | None, variant: str, t: int | None = None) -> float:
    if speed is None or "seconds_per_frame" not in speed.columns:
        return math.nan
    t = reference_t(speed) if t is None else t
    rows = speed[(speed["variant"] == variant) & (speed["t"] == t)]
    return float(rows["seconds_per_frame"].median()) if len(rows) else math.nan


def distinct(tables: dict, column: str) -> list[str]:
    """Sorted distinct values of ``column`` over every loaded results table; "none" (not applicable, as
    the device or training data of the copy-first-frame baseline) is left out."""
    values = set()
    for frame in tables.values():
        if frame is not None and column in frame.columns:
            values.update(str(v) for v in frame[column].dropna().unique() if str(v) and str(v) != "none")
    return sorted(values)


def stage_switch_losses(losses: pd.DataFrame | None) -> pd.DataFrame | None:
    """gvos_scm's training-loss rows of the main stage from scratch (main_only) and from pretraining
    (full); None unless both are there."""
    if losses is None:
        return None
    sel = losses[(losses["variant"] == "gvos_scm") & losses["stage"].isin(["main_only", "full"])]
    return sel if set(sel["stage"]) == {"main_only", "full"} else None


QUALITATIVE_FILE = "qualitative.npz"
"""results/qualitative.npz (pipelines.qualitative): the pixels of Fig. 5 and Figs. 8-10 and their layout."""


def load_qualitative(results_dir: str | Path) -> dict | None:
    """{"layout": the selection pipelines.qualitative made, "arrays": name -> array}, or None when missing."""
    import json

    import numpy as np

    path = Path(results_dir) / QUALITATIVE_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    layout = json.loads(str(arrays.pop("layout")))
    return {"layout": layout, "arrays": arrays}


def gate_summary(gates: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per SCM run: the mean over objects of the gate inside and outside the previous mask, and which it is:
    a spotlight (inside above outside) or a hole."""
    if gates is None or gates.empty:
        return None
    runs = gates.groupby(["variant", "stage"], sort=False)[["gate_inside", "gate_outside"]].mean().reset_index()
    runs["shape"] = ["spotlight" if i > o else "hole" for i, o in zip(runs["gate_inside"], runs["gate_outside"],
                                                                      strict=True)]
    runs["objects"] = gates.groupby(["variant", "stage"], sort=False).size().to_numpy()
    return runs

