"""Per-run evaluation outputs -> the tidy tables in results/ (long format, one observation per row).

Two steps, both run by the workflow (rules/evaluate.smk):

    python -m pipelines.collect evaluate --config CFG --dataset davis2017 --gt ROOT --pred PRED_DIR \
        --split val --variant gvos_scm --stage full --seed 0 --out evaluations/gvos_scm/full/seed0/davis2017
    python -m pipelines.collect tables --config CFG --out results \
        --evaluations evaluations/*/*/seed*/*/global.csv --losses runs/*/*/seed*/loss.csv

    python -m pipelines.collect rule-times --benchmarks benchmarks --seeds 3 --out results/rule_times.csv

``evaluate`` scores one prediction folder with the suite's evaluator (pipelines.evaluate API) and
writes ``global.csv`` (one row: J&F and every registered metric's statistics in percent, the
bootstrap 95% interval of J&F over objects, YouTube-VOS seen / unseen / overall) and
``per_object.csv`` (one row per object). ``tables`` concatenates them into results/accuracy.csv and
results/per_sequence.csv, adds results/accuracy_summary.csv (mean and 95% interval over seeds), turns
every run's loss.csv and validation.csv into results/training_loss.csv and results/validation.csv, and,
given the dataset's attributes.csv, writes results/per_attribute.csv (J&F of the objects of the videos
with and without each attribute). ``rule-times`` sums the workflow's own benchmarks/**/*.tsv by kind of
job. Columns: results/README.md.
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.cli import run_cli
from pipelines.config_file import load_config
from pipelines.evaluation.metrics import HEADLINE, HEADLINE_PARTS, METRICS, global_columns, object_columns
from pipelines.experiment import datasets, runs, stages
from pipelines.experiment.datasets import PRETRAIN_ROOT_KEY
from pipelines.experiment.defaults import bootstrap_settings
from pipelines.experiment.runs import RunFolder
from pipelines.experiment.stages import BASELINE_STAGE
from pipelines.files import DataError, atomic_save, check_output_folder
from pipelines.intervals import bootstrap_interval, seed_interval
from pipelines.provenance import DEFAULT_CONFIG, changed_keys, git_commit, run_hash
from pipelines.training.config import TrainConfig

RUN_KEYS = ["variant", "stage", "seed", "dataset", "split"]
PROVENANCE_KEYS = ["data", "train_data", "device", "commit", "config_hash"]
OBJECT_EXTRA = ["category", "seen"]
RUNS_COLUMNS = ["variant", "stage", "seed", "run_hash", "commit", "device", "precision", "changed_keys"]


def accuracy_metrics() -> list[str]:
    """The accuracy columns of global.csv / accuracy.csv, in order: J&F, every metric's statistics,
    then the YouTube-VOS groups (``overall`` and ``<metric>_seen`` / ``_unseen``)."""
    groups = [f"{name}_{label}" for name in METRICS for label in ("seen", "unseen")]
    return [*global_columns(), "overall", *groups]


# ---------------------------------------------------------------- one run: evaluate

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
    frame = _as_percent(result.per_object.reset_index(drop=True), object_columns(), "per-object table")
    parts = [frame[f"{name}-Mean"] for name in HEADLINE_PARTS]
    frame[HEADLINE] = (parts[0] + parts[1]) / 2
    keep = ["sequence", "object", HEADLINE, *object_columns(), *[c for c in OBJECT_EXTRA if c in frame.columns]]
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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_save(path, lambda tmp: frame.to_csv(tmp, index=False))


def cmd_evaluate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    pred = Path(args.pred)
    if not pred.is_dir():
        raise DataError(pred, "prediction folder does not exist")
    out = check_output_folder(args.out, inputs=[args.pred, args.gt], replace=False)
    samples, seed = bootstrap_settings(config)
    result = run_evaluator(args.dataset, Path(args.gt), pred, args.split, args.workers)
    per_object = per_object_table(result)
    if per_object.empty:
        raise DataError(pred, "the evaluator returned no objects")
    ident = identity(config, args.variant, args.stage, args.seed, args.dataset, args.split, run_device(args.run_dir, args.stage))
    row = {**ident, **summary_row(result, per_object, samples, seed)}
    objects = per_object.assign(**ident)
    write_csv(objects[list(ident) + list(per_object.columns)], out / "per_object.csv")
    write_csv(pd.DataFrame([row]), out / "global.csv")
    print(f"{out}: J&F {row[HEADLINE]:.1f} [{row['JF_ci_low']:.1f}, {row['JF_ci_high']:.1f}] "
          f"over {row['n_objects']} objects")
    return 0


# ---------------------------------------------------------------- all runs: tables

def read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, f"{what} does not exist")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read {what} as CSV ({err})") from err


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
        from pipelines.training.validation import VALIDATION_COLUMNS

        return pd.DataFrame(columns=["variant", "stage", "seed", *VALIDATION_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["variant", "stage", "seed", "iteration"], kind="stable").reset_index(drop=True)


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
    path = RunFolder(Path(run_dir)).config if run_dir else None
    if path is None or not path.is_file():
        return ["unknown"] * len(keys)
    record = load_config(path, check_schema=False).get("run") or {}
    return [str(record.get(key) or "unknown") for key in keys]


def runs_table(accuracy: pd.DataFrame, losses: list[Path], config: dict, default: dict) -> pd.DataFrame:
    """Provenance, one row per run (evaluated or trained): variant, stage, seed, run hash, commit, device,
    precision, and the settings the run depends on that differ from the default config."""
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


# ---------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.collect", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="score one prediction folder -> global.csv, per_object.csv")
    ev.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    ev.add_argument("--dataset", required=True, choices=datasets.names())
    ev.add_argument("--gt", required=True, help="dataset root (DAVIS or YouTube-VOS)")
    ev.add_argument("--pred", required=True, help="prediction folder <sequence>/<frame>.png")
    ev.add_argument("--split", help="default: val for DAVIS, valid for YouTube-VOS")
    ev.add_argument("--variant", required=True)
    ev.add_argument("--stage", required=True)
    ev.add_argument("--seed", required=True, type=int)
    ev.add_argument("--workers", type=int, default=2)
    ev.add_argument("--run-dir", help="the run folder of the evaluated checkpoint (none for a baseline)")
    ev.add_argument("--out", required=True, help="folder for global.csv and per_object.csv")
    tables = commands.add_parser("tables", help="per-run outputs -> results/*.csv")
    tables.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    tables.add_argument("--evaluations", nargs="*", default=[], help="global.csv files written by `evaluate`")
    tables.add_argument("--losses", nargs="*", default=[], help=f"{runs.pattern(runs.RUNS_ROOT, RunFolder.LOSS)} files")
    tables.add_argument("--attributes", nargs="*", default=[],
                        help="DATASET=attributes.csv pairs (the synthetic data's per-sequence attributes)")
    tables.add_argument("--default-config", default=str(DEFAULT_CONFIG),
                        help="the config runs are compared with in results/runs.csv (changed_keys)")
    tables.add_argument("--out", required=True, help="results folder")
    times = commands.add_parser("rule-times", help="benchmarks/**/*.tsv -> time and CPU seconds per kind of job")
    times.add_argument("--benchmarks", default="benchmarks")
    times.add_argument("--seeds", type=int, default=1, help="seeds of the run (for the CPU seconds per seed)")
    times.add_argument("--out", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.command == "evaluate" and args.split is None:
        args.split = datasets.get(args.dataset).split("val")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return {"evaluate": cmd_evaluate, "tables": cmd_tables, "rule-times": cmd_rule_times}[args.command](args)


if __name__ == "__main__":
    run_cli(main)
