"""results/probes.csv: each test-time intervention's per-object scores beside the unmodified model's, with
the per-seed differences and the claims' paired interval over seeds and sequences of their mean, over all
frames and (``_r``) over the frames after a reappearance, where only the memory can find the object again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.common.files import DataError
from pipelines.common.intervals import paired_differences, paired_interval
from pipelines.experiment.defaults import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED
from pipelines.tables.scores import read_csv

SCORES = {"J&F": "J&F-Mean", "J": "J-Mean", "F": "F-Mean", "J&F_r": "J&F_r"}
"""The probes table's score columns and the per-object columns they are read from (J&F_r: on the frames after
a reappearance, pipelines.evaluation.frame_groups; NaN for an object without one)."""


RUN_KEYS = ["variant", "stage", "seed", "dataset", "split"]


OBJECT_KEYS = ["seed", "sequence", "object"]


COLUMNS = [*RUN_KEYS, "intervention", "target", "J&F", "J", "F", "reference_J&F", "delta_J&F", "delta_J",
           "delta_F", "mean_delta_J&F", "ci_low", "ci_high", "n_seeds", "n_objects", "J&F_r", "reference_J&F_r",
           "delta_J&F_r", "mean_delta_J&F_r", "ci_low_r", "ci_high_r", "n_objects_r", "config_hash"]


def read_tables(paths: list[Path], what: str) -> pd.DataFrame:
    frames = [read_csv(path, what) for path in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def probes_table(probes: pd.DataFrame, reference: pd.DataFrame, samples: int = BOOTSTRAP_SAMPLES,
                 bootstrap_seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """results/probes.csv (module docstring) from the per-object probe scores and the reference scores.

    probes: rows of ``run`` (variant, stage, seed, dataset,
    intervention, sequence, object, J&F-Mean, J-Mean, F-Mean); reference: per_object.csv rows of the
    same runs. An intervention is paired with the reference on the seeds and objects both have."""
    if probes.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for (variant, stage, dataset, split, name), group in probes.groupby(
            ["variant", "stage", "dataset", "split", "intervention"], sort=False):
        ref = reference[(reference["variant"] == variant) & (reference["stage"] == stage)
                        & (reference["dataset"] == dataset)]
        if ref.empty:
            raise DataError(None, f"probes of {variant}/{stage} on {dataset}: no scores of the unmodified model")
        ours, theirs = group.set_index(OBJECT_KEYS), ref.set_index(OBJECT_KEYS)
        what = f"{variant}/{stage} {name} on {dataset}"
        diffs, objects, seeds, n_objects = paired_differences(ours["J&F-Mean"], theirs["J&F-Mean"], what)
        mean, low, high = paired_interval(diffs, objects, samples, bootstrap_seed) if seeds else (float("nan"),) * 3
        mean_r = low_r = high_r = float("nan")
        n_objects_r = 0
        if "J&F_r" in ours and "J&F_r" in theirs:  # the interval over the objects that reappear
            diffs_r, objects_r, seeds_r, n_objects_r = paired_differences(ours["J&F_r"], theirs["J&F_r"],
                                                                          f"{what}, after a reappearance")
            if seeds_r:
                mean_r, low_r, high_r = paired_interval(diffs_r, objects_r, samples, bootstrap_seed)
        for seed, per_seed in group.groupby("seed"):
            base = ref[ref["seed"] == seed].set_index(["sequence", "object"])
            own = per_seed.set_index(["sequence", "object"])
            paired = own.index.intersection(base.index)
            if paired.empty:
                raise DataError(None, f"{what}, seed {seed}: no object scored both with and without it")
            row = {"variant": variant, "stage": stage, "seed": int(seed), "dataset": dataset, "split": split,
                   "intervention": name, "target": per_seed["target"].iloc[0]}
            for label, column in SCORES.items():
                if column not in own or column not in base:
                    row[label] = row[f"delta_{label}"] = float("nan")
                    continue
                row[label] = float(own.loc[paired, column].mean())  # NaN-skipping: J&F_r over its objects
                row[f"delta_{label}"] = row[label] - float(base.loc[paired, column].mean())
            row["reference_J&F"] = float(base.loc[paired, "J&F-Mean"].mean())
            row["reference_J&F_r"] = float(base.loc[paired, "J&F_r"].mean()) if "J&F_r" in base else float("nan")
            row.update({"mean_delta_J&F": mean, "ci_low": low, "ci_high": high, "n_seeds": len(seeds),
                        "n_objects": n_objects, "mean_delta_J&F_r": mean_r, "ci_low_r": low_r, "ci_high_r": high_r,
                        "n_objects_r": n_objects_r, "config_hash": per_seed["config_hash"].iloc[0]})
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
