"""Mechanism probes: each test-time intervention of ``methods.interventions`` applied to a trained
checkpoint on a DAVIS split, scored with the suite's evaluator, and the paired difference to the model as
trained.

    python -m pipelines.probes run --checkpoint CKPT --variant V --stage S --seed N --config-hash H \\
        --data DAVIS_ROOT --dataset davis2017 --split val --interventions NAME ... --out PROBE.csv
    python -m pipelines.probes table --probes PROBE.csv ... --reference per_object.csv ... --out results/probes.csv

``run`` segments the split once per intervention the network has (no SCM: no SCM-mask interventions),
writes the palette PNGs to a temporary folder beside ``--out``, scores them as ``pipelines.collect
evaluate`` scores a prediction and writes one row per intervention and object (J&F-Mean, J-Mean,
F-Mean in percent). ``table`` joins them with the unmodified model's per-object scores (the workflow's
own evaluation of the same checkpoint: the same inference, so not recomputed) into results/probes.csv:
one row per run, seed and intervention with its J&F, J and F, the per-seed difference to the model as
trained, and the paired interval over seeds and sequences of the claims table (``pipelines.intervals.
paired_interval``) for the seed mean of that difference.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from pipelines.cli import run_cli
from pipelines.config_file import at_least_schema_minimum
from pipelines.experiment import datasets
from pipelines.experiment.defaults import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED
from pipelines.files import DataError, atomic_save, check_output_file
from pipelines.intervals import paired_differences, paired_interval

log = logging.getLogger("gvos.probes")

PROBED_DATASETS = [name for name, d in datasets.DATASETS.items() if d.layout is datasets.DAVIS]
"""The probes score DAVIS-layout splits (every frame annotated, so the oracle interventions can run)."""
SCORES = {"J&F": "J&F-Mean", "J": "J-Mean", "F": "F-Mean"}
"""The probes table's score columns and the per-object columns they are read from."""
RUN_KEYS = ["variant", "stage", "seed", "dataset", "split"]
OBJECT_KEYS = ["seed", "sequence", "object"]
COLUMNS = [*RUN_KEYS, "intervention", "target", "J&F", "J", "F", "reference_J&F", "delta_J&F", "delta_J",
           "delta_F", "mean_delta_J&F", "ci_low", "ci_high", "n_seeds", "n_objects", "config_hash"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from pipelines.predict import add_model_arguments

    parser = argparse.ArgumentParser(prog="python -m pipelines.probes", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="every intervention on one checkpoint -> per-object scores")
    add_model_arguments(run)
    run.add_argument("--interventions", nargs="+", required=True, help="registered intervention names")
    run.add_argument("--workers", type=int, default=1, help="evaluator processes")
    run.add_argument("--out", required=True, type=Path, help="CSV of per-object scores per intervention")
    table = commands.add_parser("table", help="per-checkpoint probe CSVs + reference scores -> results/probes.csv")
    table.add_argument("--probes", nargs="*", default=[], type=Path, help="CSVs written by `run`")
    table.add_argument("--reference", nargs="*", default=[], type=Path,
                       help="per_object.csv of the unmodified models (pipelines.collect evaluate)")
    table.add_argument("--samples", type=at_least_schema_minimum("evaluate.bootstrap_samples"), default=BOOTSTRAP_SAMPLES,
                       help="bootstrap samples of the sequence part")
    table.add_argument("--bootstrap-seed", type=int, default=BOOTSTRAP_SEED)
    table.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        if args.checkpoint is None:
            parser.error("run: --checkpoint is required (interventions act on a trained network)")
        if datasets.get(args.dataset).layout is not datasets.DAVIS:
            parser.error(f"run: probes score DAVIS-layout splits ({', '.join(PROBED_DATASETS)})")
    return args


def selected_interventions(names: list[str], cfg) -> list:
    """The registered interventions named, those the network has (an unknown name is an error)."""
    from methods import interventions

    chosen = [interventions.get(name) for name in dict.fromkeys(names)]
    skipped = [i.name for i in chosen if not i.applies_to(cfg)]
    if skipped:
        log.info("not applicable to this network (no module to act on): %s", ", ".join(skipped))
    return [i for i in chosen if i.applies_to(cfg)]


def score_intervention(engine, reader, args: argparse.Namespace, intervention, scratch: Path) -> pd.DataFrame:
    """Per-object J&F, J, F (percent) of the split segmented with ``intervention``."""
    from pipelines.collect import per_object_table
    from pipelines.predict import write_predictions

    folder = scratch / intervention.name
    with engine.intervene(intervention):
        write_predictions(engine, reader, folder, args.dataset, with_truth=intervention.needs_truth)
    result = datasets.get(args.dataset).evaluate(args.data, folder, split=args.split, workers=args.workers)
    shutil.rmtree(folder)
    scores = per_object_table(result)[["sequence", "object", *SCORES.values()]]
    log.info("%s: J&F %.1f", intervention.name, scores["J&F-Mean"].mean())
    return scores.assign(intervention=intervention.name, target=intervention.target)


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.config_file import load_config
    from pipelines.predict import build_engine, open_dataset
    from pipelines.runtime import resolve_device, set_threads

    out = check_output_file(args.out)
    config = load_config(args.config)
    device = resolve_device(args.device)
    set_threads(args.threads)
    reader = open_dataset(args.dataset, args.data, args.split)
    engine = build_engine(args, config, device)
    chosen = selected_interventions(args.interventions, engine.cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as scratch:
        for intervention in chosen:
            frames.append(score_intervention(engine, reader, args, intervention, Path(scratch)))
    columns = ["intervention", "target", "sequence", "object", *SCORES.values()]
    scores = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    ident = {"variant": args.variant, "stage": args.stage, "seed": args.seed, "dataset": args.dataset,
             "split": args.split, "config_hash": args.config_hash}
    scores = scores.assign(**ident)[[*ident, *columns]]
    atomic_save(out, lambda tmp: scores.to_csv(tmp, index=False))
    print(f"{out}: {len(chosen)} interventions x {scores['sequence'].nunique()} videos")
    return 0


def read_tables(paths: list[Path], what: str) -> pd.DataFrame:
    from pipelines.collect import read_csv

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
        for seed, per_seed in group.groupby("seed"):
            base = ref[ref["seed"] == seed].set_index(["sequence", "object"])
            own = per_seed.set_index(["sequence", "object"])
            paired = own.index.intersection(base.index)
            if paired.empty:
                raise DataError(None, f"{what}, seed {seed}: no object scored both with and without it")
            row = {"variant": variant, "stage": stage, "seed": int(seed), "dataset": dataset, "split": split,
                   "intervention": name, "target": per_seed["target"].iloc[0]}
            for label, column in SCORES.items():
                row[label] = float(own.loc[paired, column].mean())
                row[f"delta_{label}"] = row[label] - float(base.loc[paired, column].mean())
            row["reference_J&F"] = float(base.loc[paired, "J&F-Mean"].mean())
            row.update({"mean_delta_J&F": mean, "ci_low": low, "ci_high": high, "n_seeds": len(seeds),
                        "n_objects": n_objects, "config_hash": per_seed["config_hash"].iloc[0]})
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def cmd_table(args: argparse.Namespace) -> int:
    out = check_output_file(args.out)
    probes = read_tables(args.probes, "probe scores")
    reference = read_tables(args.reference, "reference per-object scores")
    table = probes_table(probes, reference, args.samples, args.bootstrap_seed)
    atomic_save(out, lambda tmp: table.to_csv(tmp, index=False))
    print(f"{out}: {len(table)} rows ({table['intervention'].nunique()} interventions)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cmd_run(args) if args.command == "run" else cmd_table(args)


if __name__ == "__main__":
    run_cli(main)
