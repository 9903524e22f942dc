"""Every run's outputs as the tidy tables of results/ (long format, one observation per row): accuracy,
per-sequence scores, the summary over seeds with its intervals, training loss and validation curves, the
runs' provenance, J&F per attribute, and the workflow's own time per kind of job. Columns:
results/README.md."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.common.files import DataError
from pipelines.common.intervals import bootstrap_interval, seed_interval
from pipelines.common.provenance import changed_keys, git_commit, run_hash
from pipelines.evaluation.metrics import HEADLINE, METRICS, object_columns
from pipelines.experiment.roots import effective_config
from pipelines.experiment.runs import RunFolder
from pipelines.tables.scores import (
    PROVENANCE_KEYS,
    RUN_KEYS,
    accuracy_metrics,
    data_kind,
    read_csv,
    run_device,
    run_of,
    run_record,
)
from pipelines.training.validation import VALIDATION_COLUMNS

RUNS_COLUMNS = ["variant", "stage", "seed", "run_hash", "commit", "device", "precision", "changed_keys"]


def accuracy_table(summaries: list[Path]) -> pd.DataFrame:
    frames = [read_csv(path, "evaluation summary") for path in summaries]
    if not frames:
        return pd.DataFrame(columns=RUN_KEYS + accuracy_metrics() + PROVENANCE_KEYS)
    return pd.concat(frames, ignore_index=True).sort_values(RUN_KEYS, kind="stable").reset_index(drop=True)


def per_sequence_table(summaries: list[Path]) -> pd.DataFrame:
    frames = [read_csv(path.with_name("per_object.csv"), "per-object evaluation") for path in summaries]
    if not frames:
        return pd.DataFrame(columns=RUN_KEYS + ["sequence", "object", HEADLINE, *object_columns()])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(RUN_KEYS + ["sequence", "object"], kind="stable").reset_index(drop=True)


def summary_table(accuracy: pd.DataFrame, per_sequence: pd.DataFrame, samples: int, seed: int) -> pd.DataFrame:
    """One row per variant, stage, dataset, split: metric means over seeds, the Student-t 95% interval
    of J&F over seeds, and the bootstrap interval over objects of the seed-averaged per-object J&F."""
    keys = ["variant", "stage", "dataset", "split"]
    metrics = [c for c in accuracy_metrics() if c in accuracy.columns]
    rows = []
    for key, group in accuracy.groupby(keys, sort=True):
        row = dict(zip(keys, key, strict=True))
        row.update(n_seeds=len(group), seeds=";".join(str(s) for s in sorted(group["seed"])))
        for name in metrics:
            row[name] = float(group[name].mean())
        _, sd, low, high = seed_interval(group[HEADLINE])
        row.update(JF_seed_sd=sd, JF_seed_ci_low=low, JF_seed_ci_high=high)
        for name in METRICS:
            row[f"{name}_seed_sd"] = seed_interval(group[f"{name}-Mean"])[1] if f"{name}-Mean" in group else np.nan
        objects = per_sequence
        for name in keys:
            objects = objects[objects[name] == row[name]]
        per_object_mean = objects.groupby(["sequence", "object"])[HEADLINE].mean()
        row["JF_ci_low"], row["JF_ci_high"] = bootstrap_interval(per_object_mean.to_numpy(), samples, seed)
        row["n_objects"] = int(per_object_mean.size)
        for name in [k for k in PROVENANCE_KEYS if k in group]:
            row[name] = ";".join(sorted({str(v) for v in group[name]}))
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else keys + ["n_seeds", HEADLINE])


def training_loss_table(losses: list[Path], config: dict) -> pd.DataFrame:
    """Every run's loss.csv (iteration, loss, ...) with the run's identity and provenance."""
    frames = []
    for path in losses:
        run = run_of(path)
        frame = read_csv(Path(path), "training loss log")
        missing = {"iteration", "loss"} - set(frame.columns)
        if missing:
            raise DataError(path, f"training loss log lacks column(s) {', '.join(sorted(missing))}")
        variant, stage, seed = run.variant, run.stage, run.seed
        ident = {"variant": variant, "stage": stage, "seed": seed, "data": data_kind(config),
                 "device": run_device(Path(path).parent, stage), "commit": git_commit(),
                 "config_hash": run_hash(config, variant, stage, seed)}
        frames.append(frame.assign(**ident)[list(ident) + list(frame.columns)])
    if not frames:
        return pd.DataFrame(columns=["variant", "stage", "seed", "iteration", "loss"])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["variant", "stage", "seed", "iteration"], kind="stable").reset_index(drop=True)


def validation_table(losses: list[Path]) -> pd.DataFrame:
    """Every run's validation.csv (held-out J&F during the main stage), beside its loss.csv."""
    frames = []
    for path in losses:
        run = run_of(path)
        path = Path(path).with_name(RunFolder.VALIDATION)
        if not path.is_file():
            continue
        frame = read_csv(path, "validation log")
        frames.append(frame.assign(variant=run.variant, stage=run.stage, seed=run.seed))
    if not frames:
        return pd.DataFrame(columns=["variant", "stage", "seed", *VALIDATION_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["variant", "stage", "seed", "iteration"], kind="stable").reset_index(drop=True)


def runs_table(accuracy: pd.DataFrame, losses: list[Path], config: dict, default: dict) -> pd.DataFrame:
    """Provenance, one row per run (evaluated or trained): variant, stage, seed, run hash, commit, device,
    precision, and the settings the run depends on that differ from the default config. ``config`` is the
    workflow's effective config; ``default`` is read the same way (roots resolved, schema defaults filled),
    so the embedded default run differs in nothing."""
    default = effective_config(default)
    found: dict[tuple, Path | None] = {}
    for row in accuracy[["variant", "stage", "seed"]].drop_duplicates().itertuples(index=False):
        found[(row.variant, row.stage, int(row.seed))] = None
    for path in losses:
        run = run_of(path)
        found[(run.variant, run.stage, run.seed)] = Path(path).parent
    rows = []
    for (variant, stage, seed), folder in sorted(found.items()):
        changed = changed_keys(config, default, stage)
        device, precision = run_record(folder, stage, ["device", "precision"])
        rows.append({"variant": variant, "stage": stage, "seed": seed,
                     "run_hash": run_hash(config, variant, stage, seed), "commit": git_commit(),
                     "device": device, "precision": precision,
                     "changed_keys": "; ".join(changed) if changed else "none"})
    return pd.DataFrame(rows, columns=RUNS_COLUMNS)


def per_attribute_table(per_sequence: pd.DataFrame, attributes: dict[str, Path]) -> pd.DataFrame:
    """J&F of every run (variant, stage) per attribute: mean over seeds of the object mean over the videos
    with (has=1) and without (has=0) the attribute. attributes: dataset -> its attributes.csv."""
    rows = []
    for dataset, path in attributes.items():
        table = read_csv(Path(path), "attribute table")
        names = [c for c in table.columns if c not in ("sequence", "split")]
        objects = per_sequence[per_sequence["dataset"] == dataset].merge(table, on="sequence", how="inner")
        for (variant, stage), group in objects.groupby(["variant", "stage"], sort=True):
            for name in names:
                for has in (1, 0):
                    part = group[group[name] == has]
                    if part.empty:
                        continue
                    per_seed = part.groupby("seed")[HEADLINE].mean()
                    rows.append({"variant": variant, "stage": stage, "dataset": dataset, "attribute": name,
                                 "has": has, HEADLINE: float(per_seed.mean()), "n_seeds": int(per_seed.size),
                                 "n_sequences": int(part["sequence"].nunique()),
                                 "n_objects": int(len(part) / per_seed.size)})
    return pd.DataFrame(rows, columns=["variant", "stage", "dataset", "attribute", "has", HEADLINE, "n_seeds",
                                       "n_sequences", "n_objects"])


def rule_times_table(benchmarks: Path) -> pd.DataFrame:
    """One row per kind of job of the workflow (the first folder under benchmarks/): jobs, wall seconds
    and CPU seconds summed over its benchmarks/**/*.tsv (Snakemake's per-job measurements)."""
    rows = []
    for path in sorted(Path(benchmarks).rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        kind = path.relative_to(benchmarks).parts[0]
        seed = next((int(part[4:]) for part in path.with_suffix("").parts if re.fullmatch(r"seed\d+", part)), None)
        rows.append({"rule": kind, "seed": seed, "wall_s": float(frame["s"].iloc[0]),
                     "cpu_s": float(frame["cpu_time"].iloc[0]), "max_rss_mb": float(frame["max_rss"].iloc[0])})
    jobs = pd.DataFrame(rows, columns=["rule", "seed", "wall_s", "cpu_s", "max_rss_mb"])
    summary = jobs.groupby("rule", sort=True).agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"),
                                                  cpu_s=("cpu_s", "sum"), max_rss_mb=("max_rss_mb", "max"))
    summary["per_seed_jobs"] = jobs.groupby("rule")["seed"].apply(lambda s: int(s.notna().sum()))
    return summary.reset_index()
