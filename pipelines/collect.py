"""Per-run evaluation outputs -> the tidy tables in results/ (long format, one observation per row).

Two steps, both run by the workflow (rules/evaluate.smk):

    python -m pipelines.collect evaluate --config CFG --dataset davis2017 --gt ROOT --pred PRED_DIR \
        --split val --variant gvos_scm --stage full --seed 0 --out evaluations/gvos_scm/full/seed0/davis2017
    python -m pipelines.collect tables --config CFG --out results \
        --evaluations evaluations/*/*/seed*/*/global.csv --losses runs/*/*/seed*/loss.csv

``evaluate`` scores one prediction folder with the suite's evaluator (pipelines.evaluate API) and
writes ``global.csv`` (one row: J&F / J / F statistics in percent, the bootstrap 95% interval of J&F
over objects, YouTube-VOS seen / unseen / overall) and ``per_object.csv`` (one row per object).
``tables`` concatenates them into results/accuracy.csv and results/per_sequence.csv, adds
results/accuracy_summary.csv (mean and 95% interval over seeds) and turns every run's loss.csv into
results/training_loss.csv. Columns: results/README.md.
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
from pipelines.data.errors import DataError
from pipelines.data.masks import atomic_save
from pipelines.provenance import config_hash, device_name, git_commit

DATASET_SPLITS = {"davis2017": "val", "davis2016": "val", "youtubevos": "valid"}
BASELINE_STAGE = "none"
DAVIS_METRICS = ["J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay"]
YTVOS_METRICS = ["J_seen", "J_unseen", "F_seen", "F_unseen", "overall"]
RUN_KEYS = ["variant", "stage", "seed", "dataset", "split"]
PROVENANCE_KEYS = ["data", "device", "commit", "config_hash"]
LOSS_PATH = re.compile(r"(?P<variant>[^/]+)/(?P<stage>[^/]+)/seed(?P<seed>\d+)/loss\.csv$")


# ---------------------------------------------------------------- hashes shared with the workflow

def section_hash(section) -> str:
    """Hash of one config section (or any JSON-able value)."""
    return config_hash({"section": section})


def run_config_hash(config: dict, variant: str, stage: str, seed: int) -> str:
    """Hash of what one run depends on: data, model and the training stages it runs (pretrain_only
    ignores train.main, main_only ignores train.pretrain), plus variant, stage and seed. Baselines
    (stage "none") depend on the data only. The workflow uses it as the rerun trigger of a run."""
    if stage == BASELINE_STAGE:
        return config_hash({"data": config.get("data"), "variant": variant})
    train = copy.deepcopy(config.get("train") or {})
    if stage == "pretrain_only":
        train.pop("main", None)
    elif stage == "main_only":
        train.pop("pretrain", None)
    return config_hash({"data": config.get("data"), "model": config.get("model"), "train": train,
                        "variant": variant, "stage": stage, "seed": int(seed)})


# ---------------------------------------------------------------- statistics

def bootstrap_interval(values, samples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampling them with replacement)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def seed_interval(values, level: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sd, low, high): Student-t interval of the mean over seeds; NaN spread below 2 seeds."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (float("nan"),) * 4
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1)) * sd / np.sqrt(values.size)
    return mean, sd, mean - half, mean + half


# ---------------------------------------------------------------- one run: evaluate

_ALIASES = {
    "jfmean": "J&F-Mean", "jmean": "J-Mean", "jrecall": "J-Recall", "jdecay": "J-Decay",
    "fmean": "F-Mean", "frecall": "F-Recall", "fdecay": "F-Decay",
    "jseen": "J_seen", "junseen": "J_unseen", "fseen": "F_seen", "funseen": "F_unseen", "overall": "overall",
    "sequence": "sequence", "object": "object", "objectid": "object", "obj": "object",
    "category": "category", "seen": "seen",
}


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the evaluator's columns to the names used here ('J&F-Mean', 'J_seen', 'sequence', ...)."""
    rename = {}
    for column in frame.columns:
        key = re.sub(r"[^a-z]", "", str(column).lower())
        if key in _ALIASES:
            rename[column] = _ALIASES[key]
    return frame.rename(columns=rename)


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
    """One row per object: sequence, object, J-Mean, F-Mean, J&F-Mean (+ recall / decay / category
    when the evaluator gives them), in percent."""
    frame = getattr(result, "per_object", None)
    if frame is None or len(frame) == 0:
        frame = result.per_sequence  # official per-sequence table: one row per object "<seq>_<id>"
    frame = pd.DataFrame(frame)
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame = _canonical(frame)
    if "sequence" not in frame.columns:
        raise ValueError("evaluator result has no sequence column in its per-object table")
    if "object" not in frame.columns:
        split = frame["sequence"].astype(str).str.rsplit("_", n=1, expand=True)
        frame["sequence"], frame["object"] = split[0], pd.to_numeric(split[1], errors="coerce")
    frame = _as_percent(frame, DAVIS_METRICS, "per-object table")
    if "J&F-Mean" not in frame.columns:
        frame["J&F-Mean"] = (frame["J-Mean"] + frame["F-Mean"]) / 2
    keep = ["sequence", "object", "J&F-Mean", "J-Mean", "F-Mean"]
    keep += [c for c in ("J-Recall", "J-Decay", "F-Recall", "F-Decay", "category", "seen") if c in frame.columns]
    return frame[keep].reset_index(drop=True)


def summary_row(result, per_object: pd.DataFrame, bootstrap_samples: int, bootstrap_seed: int) -> dict:
    """Global statistics of one run in percent, with the bootstrap interval of J&F over objects."""
    glob = _canonical(pd.DataFrame(result.global_).reset_index(drop=True))
    glob = _as_percent(glob, DAVIS_METRICS + YTVOS_METRICS, "global table")
    row = {name: float(glob[name].iloc[0]) for name in DAVIS_METRICS + YTVOS_METRICS if name in glob.columns}
    for name in ("J-Mean", "F-Mean", "J&F-Mean"):
        row.setdefault(name, float(per_object[name].mean()))
    for name in DAVIS_METRICS:
        row.setdefault(name, float("nan"))
    low, high = bootstrap_interval(per_object["J&F-Mean"], bootstrap_samples, bootstrap_seed)
    row.update(JF_ci_low=low, JF_ci_high=high, n_objects=len(per_object))
    return row


def run_evaluator(dataset: str, gt: Path, pred: Path, split: str, workers: int):
    from pipelines import evaluate

    if dataset.startswith("davis"):
        return evaluate.evaluate_davis(gt, pred, split=split, year=dataset[-4:], workers=workers)
    return evaluate.evaluate_youtubevos(gt, pred, split=split)


def resolved_device(config: dict) -> str:
    """Name of the device the run's config asks for, as seen on this machine."""
    import torch

    wanted = str((config.get("train") or {}).get("device", "auto"))
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        return wanted
    return device_name(wanted)


def data_kind(config: dict) -> str:
    return "synthetic" if (config.get("data") or {}).get("synthetic") else "real"


def identity(config: dict, variant: str, stage: str, seed: int, dataset: str, split: str) -> dict:
    return {"variant": variant, "stage": stage, "seed": int(seed), "dataset": dataset, "split": split,
            "data": data_kind(config), "device": resolved_device(config), "commit": git_commit(),
            "config_hash": run_config_hash(config, variant, stage, seed)}


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_save(path, lambda tmp: frame.to_csv(tmp, index=False))
    path.chmod(0o644)


def cmd_evaluate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    pred = Path(args.pred)
    if not pred.is_dir():
        raise DataError(pred, "prediction folder does not exist")
    options = config.get("evaluate") or {}
    result = run_evaluator(args.dataset, Path(args.gt), pred, args.split, args.workers)
    per_object = per_object_table(result)
    if per_object.empty:
        raise DataError(pred, "the evaluator returned no objects")
    ident = identity(config, args.variant, args.stage, args.seed, args.dataset, args.split)
    row = {**ident, **summary_row(result, per_object, int(options.get("bootstrap_samples", 2000)),
                                  int(options.get("bootstrap_seed", 0)))}
    out = Path(args.out)
    objects = per_object.assign(**ident)
    write_csv(objects[list(ident) + [c for c in per_object.columns]], out / "per_object.csv")
    write_csv(pd.DataFrame([row]), out / "global.csv")
    print(f"{out}: J&F {row['J&F-Mean']:.1f} [{row['JF_ci_low']:.1f}, {row['JF_ci_high']:.1f}] "
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
        return pd.DataFrame(columns=RUN_KEYS + DAVIS_METRICS + PROVENANCE_KEYS)
    return pd.concat(frames, ignore_index=True).sort_values(RUN_KEYS, kind="stable").reset_index(drop=True)


def per_sequence_table(summaries: list[Path]) -> pd.DataFrame:
    frames = [read_csv(path.with_name("per_object.csv"), "per-object evaluation") for path in summaries]
    if not frames:
        return pd.DataFrame(columns=RUN_KEYS + ["sequence", "object", "J&F-Mean", "J-Mean", "F-Mean"])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(RUN_KEYS + ["sequence", "object"], kind="stable").reset_index(drop=True)


def summary_table(accuracy: pd.DataFrame, per_sequence: pd.DataFrame, samples: int, seed: int) -> pd.DataFrame:
    """One row per variant, stage, dataset, split: metric means over seeds, the Student-t 95% interval
    of J&F over seeds, and the bootstrap interval over objects of the seed-averaged per-object J&F."""
    keys = ["variant", "stage", "dataset", "split"]
    metrics = [c for c in DAVIS_METRICS + YTVOS_METRICS if c in accuracy.columns]
    rows = []
    for key, group in accuracy.groupby(keys, sort=True):
        row = dict(zip(keys, key, strict=True))
        row.update(n_seeds=len(group), seeds=";".join(str(s) for s in sorted(group["seed"])))
        for name in metrics:
            row[name] = float(group[name].mean())
        _, sd, low, high = seed_interval(group["J&F-Mean"])
        row.update(JF_seed_sd=sd, JF_seed_ci_low=low, JF_seed_ci_high=high)
        objects = per_sequence
        for name, value in row.items():
            if name in keys:
                objects = objects[objects[name] == value]
        per_object_mean = objects.groupby(["sequence", "object"])["J&F-Mean"].mean()
        row["JF_ci_low"], row["JF_ci_high"] = bootstrap_interval(per_object_mean.to_numpy(), samples, seed)
        row["n_objects"] = int(per_object_mean.size)
        for name in PROVENANCE_KEYS:
            row[name] = ";".join(sorted({str(v) for v in group[name]}))
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else keys + ["n_seeds", "J&F-Mean"])


def training_loss_table(losses: list[Path], config: dict) -> pd.DataFrame:
    """Every run's loss.csv (iteration, loss, ...) with the run's identity and provenance."""
    frames = []
    for path in losses:
        match = LOSS_PATH.search(Path(path).as_posix())
        if match is None:
            raise DataError(path, "expected a path ending in <variant>/<stage>/seed<N>/loss.csv")
        frame = read_csv(Path(path), "training loss log")
        missing = {"iteration", "loss"} - set(frame.columns)
        if missing:
            raise DataError(path, f"training loss log lacks column(s) {', '.join(sorted(missing))}")
        variant, stage, seed = match["variant"], match["stage"], int(match["seed"])
        ident = {"variant": variant, "stage": stage, "seed": seed, "data": data_kind(config),
                 "device": resolved_device(config), "commit": git_commit(),
                 "config_hash": run_config_hash(config, variant, stage, seed)}
        frames.append(frame.assign(**ident)[list(ident) + list(frame.columns)])
    if not frames:
        return pd.DataFrame(columns=["variant", "stage", "seed", "iteration", "loss"])
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["variant", "stage", "seed", "iteration"], kind="stable").reset_index(drop=True)


def cmd_tables(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    options = config.get("evaluate") or {}
    samples, seed = int(options.get("bootstrap_samples", 2000)), int(options.get("bootstrap_seed", 0))
    summaries = [Path(p) for p in args.evaluations]
    accuracy = accuracy_table(summaries)
    per_sequence = per_sequence_table(summaries)
    summary = summary_table(accuracy, per_sequence, samples, seed)
    losses = training_loss_table([Path(p) for p in args.losses], config)
    out = Path(args.out)
    for name, frame in (("accuracy", accuracy), ("accuracy_summary", summary),
                        ("per_sequence", per_sequence), ("training_loss", losses)):
        write_csv(frame, out / f"{name}.csv")
        print(f"{out / name}.csv: {len(frame)} rows")
    return 0


# ---------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.collect", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="score one prediction folder -> global.csv, per_object.csv")
    ev.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    ev.add_argument("--dataset", required=True, choices=sorted(DATASET_SPLITS))
    ev.add_argument("--gt", required=True, help="dataset root (DAVIS or YouTube-VOS)")
    ev.add_argument("--pred", required=True, help="prediction folder <sequence>/<frame>.png")
    ev.add_argument("--split", help="default: val for DAVIS, valid for YouTube-VOS")
    ev.add_argument("--variant", required=True)
    ev.add_argument("--stage", required=True)
    ev.add_argument("--seed", required=True, type=int)
    ev.add_argument("--workers", type=int, default=2)
    ev.add_argument("--out", required=True, help="folder for global.csv and per_object.csv")
    tables = commands.add_parser("tables", help="per-run outputs -> results/*.csv")
    tables.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    tables.add_argument("--evaluations", nargs="*", default=[], help="global.csv files written by `evaluate`")
    tables.add_argument("--losses", nargs="*", default=[], help="runs/<variant>/<stage>/seed<N>/loss.csv files")
    tables.add_argument("--out", required=True, help="results folder")
    args = parser.parse_args(argv)
    if args.command == "evaluate" and args.split is None:
        args.split = DATASET_SPLITS[args.dataset]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cmd_evaluate(args) if args.command == "evaluate" else cmd_tables(args)


if __name__ == "__main__":
    run_cli(main)
