"""One run's scores: the evaluator's result as percent tables (``global.csv``: J&F and every metric's
statistics with the bootstrap interval of J&F over objects; ``per_object.csv``), the run's identity and
provenance columns, and reading a run's record back from its folder. Columns: results/README.md."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.common.config_file import load_config
from pipelines.common.files import DataError, atomic_save
from pipelines.common.intervals import bootstrap_interval
from pipelines.common.provenance import git_commit, run_hash
from pipelines.evaluation.frame_groups import global_group_scores, group_columns
from pipelines.evaluation.metrics import HEADLINE, HEADLINE_PARTS, METRICS, global_columns, object_columns
from pipelines.experiment import datasets, runs, stages
from pipelines.experiment.datasets import PRETRAIN_ROOT_KEY
from pipelines.experiment.defaults import bootstrap_settings
from pipelines.experiment.runs import RunFolder
from pipelines.experiment.stages import BASELINE_STAGE
from pipelines.training.config import TrainConfig

RUN_KEYS = ["variant", "stage", "seed", "dataset", "split"]


PROVENANCE_KEYS = ["data", "train_data", "device", "commit", "config_hash"]


OBJECT_EXTRA = ["category", "seen"]


def accuracy_metrics() -> list[str]:
    """The accuracy columns of global.csv / accuracy.csv, in order: J&F, every metric's statistics,
    the YouTube-VOS groups (``overall`` and ``<metric>_seen`` / ``_unseen``), then the frame groups'
    (``J_r``, ``F_r``, ``J&F_r``, ...: pipelines.evaluation.frame_groups)."""
    groups = [f"{name}_{label}" for name in METRICS for label in ("seen", "unseen")]
    return [*global_columns(), "overall", *groups, *group_columns()]


def _as_percent(frame: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
    """The evaluator reports fractions (official DAVIS format); the tables use percent like the paper."""
    frame = frame.copy()
    present = [c for c in columns if c in frame.columns]
    means = [c for c in present if not c.endswith("Decay")]
    if means and (frame[means].abs().max().max() > 1.0 + 1e-9):
        raise ValueError(f"{what}: expected fractions in [0, 1] from the evaluator, got values above 1")
    frame[present] = frame[present].astype(float) * 100.0
    return frame


def per_object_table(result) -> pd.DataFrame:
    """One row per object: sequence, object, J&F-Mean and every metric's statistics (percent), plus the
    YouTube-VOS category and seen flag."""
    frame = _as_percent(result.per_object.reset_index(drop=True), [*object_columns(), *group_columns()],
                        "per-object table")
    parts = [frame[f"{name}-Mean"] for name in HEADLINE_PARTS]
    frame[HEADLINE] = (parts[0] + parts[1]) / 2
    for column in group_columns():  # NaN where the evaluator has no frame groups (YouTube-VOS)
        if column not in frame:
            frame[column] = float("nan")
    keep = ["sequence", "object", HEADLINE, *object_columns(), *group_columns(),
            *[c for c in OBJECT_EXTRA if c in frame.columns]]
    return frame[keep]


def summary_row(result, per_object: pd.DataFrame, bootstrap_samples: int, bootstrap_seed: int) -> dict:
    """Global statistics of one run in percent, with the bootstrap interval of J&F over objects. Columns
    the evaluator does not give for this dataset (YouTube-VOS: recall, decay) are NaN; means over
    objects fill J&F and the metric means where the global table lacks them."""
    glob = _as_percent(result.global_.reset_index(drop=True), accuracy_metrics(), "global table")
    row = {name: float(glob[name].iloc[0]) if name in glob.columns else float("nan") for name in accuracy_metrics()}
    for name in (HEADLINE, *[f"{m}-Mean" for m in METRICS]):
        if np.isnan(row[name]):
            row[name] = float(per_object[name].mean())
    low, high = bootstrap_interval(per_object[HEADLINE], bootstrap_samples, bootstrap_seed)
    row.update(JF_ci_low=low, JF_ci_high=high, n_objects=len(per_object))
    row.update(global_group_scores(per_object))
    return row


def run_evaluator(dataset: str, gt: Path, pred: Path, split: str, workers: int):
    """The suite's evaluator of a registered dataset (pipelines.experiment.datasets) on a prediction folder."""
    return datasets.get(dataset).evaluate(gt, pred, split=split, workers=workers)


def data_kind(config: dict) -> str:
    return "synthetic" if (config.get("data") or {}).get("synthetic") else "real"


def train_data(config: dict, stage: str) -> str:
    """The main-stage training datasets of a run ('davis2017+youtubevos': the paper's "+YV" rows), or
    'none' for a non-learned baseline; pretraining only: 'coco'."""
    if stage == BASELINE_STAGE:
        return "none"
    if not stages.stage(stage).on_videos:
        return PRETRAIN_ROOT_KEY
    return "+".join(TrainConfig.from_dict(copy.deepcopy(config.get("train"))).main.datasets)


def identity(config: dict, variant: str, stage: str, seed: int, dataset: str, split: str, device: str) -> dict:
    return {"variant": variant, "stage": stage, "seed": int(seed), "dataset": dataset, "split": split,
            "data": data_kind(config), "train_data": train_data(config, stage), "device": device,
            "commit": git_commit(), "config_hash": run_hash(config, variant, stage, seed)}


def run_device(run_dir: str | Path | None, stage: str) -> str:
    """The device a run trained on, as pipelines.train recorded it in RUN_DIR/config.yaml."""
    return run_record(run_dir, stage, ["device"])[0]


def run_of(path: str | Path) -> runs.Run:
    """The run of a file in its run folder (``runs/<variant>/<stage>/seed<N>/loss.csv``)."""
    try:
        return runs.Run.from_path(Path(path).parent)
    except ValueError:
        raise DataError(path, f"expected a path ending in {runs.PART}/{Path(path).name}") from None


def run_record(run_dir: str | Path | None, stage: str, keys: list[str]) -> list[str]:
    """Values of the ``run:`` block pipelines.train wrote in RUN_DIR/config.yaml, one per key ('none' for a
    baseline, 'unknown' where no run folder says)."""
    if stage == BASELINE_STAGE:
        return ["none"] * len(keys)
    path = Path(run_dir) / RunFolder.CONFIG if run_dir else None
    if path is None or not path.is_file():
        return ["unknown"] * len(keys)
    record = load_config(path, check_schema=False).get("run") or {}
    return [str(record.get(key) or "unknown") for key in keys]


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_save(path, lambda tmp: frame.to_csv(tmp, index=False))


def read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, f"{what} does not exist")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read {what} as CSV ({err})") from err


def score_run(config: dict, dataset: str, gt: Path, predictions: Path, split: str, workers: int, variant: str,
              stage: str, seed: int, run_dir: Path | None) -> tuple[pd.DataFrame, dict]:
    """(per-object table, global row) of one run's prediction folder, each with the run's identity."""
    samples, bootstrap_seed = bootstrap_settings(config)
    result = run_evaluator(dataset, gt, predictions, split, workers)
    per_object = per_object_table(result)
    if per_object.empty:
        raise DataError(predictions, "the evaluator returned no objects")
    ident = identity(config, variant, stage, seed, dataset, split, run_device(run_dir, stage))
    row = {**ident, **summary_row(result, per_object, samples, bootstrap_seed)}
    objects = per_object.assign(**ident)
    return objects[list(ident) + list(per_object.columns)], row
