"""Mechanism probes: each test-time intervention of ``methods.interventions`` applied to a trained
checkpoint on a DAVIS split, scored with the suite's evaluator, and the paired difference to the model as
trained.

    python -m pipelines.probes run --checkpoint CKPT --variant V --stage S --seed N --config-hash H \\
        --data DAVIS_ROOT --dataset davis2017 --split val --interventions NAME ... --out PROBE.csv
    python -m pipelines.probes table --probes PROBE.csv ... --reference per_object.csv ... --config CFG \\
        --out results/probes.csv

``run`` segments the split once per intervention the network has (no SCM: no SCM-mask interventions),
all interventions in lockstep over the frames so that each frame's query encoding is computed once for
all of them (``methods.inference.QueryCache``; every intervention's prediction is what it would be
alone), writes the palette PNGs to a temporary folder beside ``--out``, scores them as ``pipelines.score``
scores a prediction and writes one row per intervention and object (J&F-Mean, J-Mean, F-Mean and
J&F_r, the J&F after a reappearance, in percent). ``table`` joins them with the unmodified model's per-object scores (the workflow's
own evaluation of the same checkpoint: the same inference, so not recomputed) into results/probes.csv:
one row per run, seed and intervention with its J&F, J and F, the per-seed difference to the model as
trained, and the paired interval over seeds and sequences of the claims table (``pipelines.common.intervals.
paired_interval``) for the seed mean of that difference.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from methods import interventions
from methods.inference import InferenceEngine, QueryCache
from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import atomic_save, check_output_file
from pipelines.common.runtime import resolve_device, set_threads
from pipelines.experiment import datasets
from pipelines.experiment.defaults import bootstrap_settings
from pipelines.predicting.engine import add_model_arguments, build_engine, open_dataset
from pipelines.predicting.segment import write_predictions_together
from pipelines.tables.probes import SCORES, probes_table, read_tables
from pipelines.tables.scores import per_object_table

log = logging.getLogger("gvos.probes")

PROBED_DATASETS = [name for name, d in datasets.DATASETS.items() if d.layout is datasets.DAVIS]
"""The probes score DAVIS-layout splits (every frame annotated, so the oracle interventions can run)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
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
                       help="per_object.csv of the unmodified models (pipelines.score)")
    table.add_argument("--config", type=Path, help="the effective config (evaluate.bootstrap_samples, bootstrap_seed)")
    table.add_argument("--out", required=True, type=Path, help="results/probes.csv to write")
    args = parser.parse_args(argv)
    if args.command == "run":
        if args.checkpoint is None:
            parser.error("run: --checkpoint is required (interventions act on a trained network)")
        if datasets.get(args.dataset).layout is not datasets.DAVIS:
            parser.error(f"run: probes score DAVIS-layout splits ({', '.join(PROBED_DATASETS)})")
    return args


def selected_interventions(names: list[str], cfg) -> list:
    """The registered interventions named, those the network has (an unknown name is an error)."""
    chosen = [interventions.get(name) for name in dict.fromkeys(names)]
    skipped = [i.name for i in chosen if not i.applies_to(cfg)]
    if skipped:
        log.info("not applicable to this network (no module to act on): %s", ", ".join(skipped))
    return [i for i in chosen if i.applies_to(cfg)]


def segment_with_interventions(engine, reader, args: argparse.Namespace, chosen: list, scratch: Path) -> list[Path]:
    """The split segmented once per intervention, all in lockstep over the frames: one engine per
    intervention on the same model, sharing each frame's query encoding (the query encoder reads only the
    frame), so the query encoder runs once per frame instead of once per intervention; each engine's
    predictions are what it would give alone. Returns the prediction folders, in ``chosen``'s order."""
    cache = QueryCache()
    engines = [InferenceEngine(engine.model, device=engine.device, amp=engine.amp, query_cache=cache)
               for _ in chosen]
    folders = [scratch / intervention.name for intervention in chosen]
    with contextlib.ExitStack() as stack:
        for each, intervention in zip(engines, chosen, strict=True):
            stack.enter_context(each.intervene(intervention))
        write_predictions_together(engines, reader, folders, args.dataset, [i.needs_truth for i in chosen])
    return folders


def score_intervention(folder: Path, args: argparse.Namespace, intervention) -> pd.DataFrame:
    """Per-object J&F, J, F (percent) of the split's predictions with ``intervention`` in ``folder``."""
    result = datasets.get(args.dataset).evaluate(args.data, folder, split=args.split, workers=args.workers)
    shutil.rmtree(folder)
    scores = per_object_table(result)[["sequence", "object", *SCORES.values()]]  # J&F_r NaN where none
    log.info("%s: J&F %.1f", intervention.name, scores["J&F-Mean"].mean())
    return scores.assign(intervention=intervention.name, target=intervention.target)


def cmd_run(args: argparse.Namespace) -> int:
    out = check_output_file(args.out)
    config = load_config(args.config)
    device = resolve_device(args.device)
    set_threads(args.threads)
    reader = open_dataset(args.dataset, args.data, args.split)
    engine = build_engine(args, config, device)
    chosen = selected_interventions(args.interventions, engine.cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as scratch:
        folders = segment_with_interventions(engine, reader, args, chosen, Path(scratch)) if chosen else []
        frames = [score_intervention(folder, args, intervention)
                  for folder, intervention in zip(folders, chosen, strict=True)]
    columns = ["intervention", "target", "sequence", "object", *SCORES.values()]
    scores = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    ident = {"variant": args.variant, "stage": args.stage, "seed": args.seed, "dataset": args.dataset,
             "split": args.split, "config_hash": args.config_hash}
    scores = scores.assign(**ident)[[*ident, *columns]]
    atomic_save(out, lambda tmp: scores.to_csv(tmp, index=False))
    print(f"{out}: {len(chosen)} interventions x {scores['sequence'].nunique()} videos")
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    out = check_output_file(args.out)
    probes = read_tables(args.probes, "probe scores")
    reference = read_tables(args.reference, "reference per-object scores")
    table = probes_table(probes, reference, *bootstrap_settings(load_config(args.config)))
    atomic_save(out, lambda tmp: table.to_csv(tmp, index=False))
    print(f"{out}: {len(table)} rows ({table['intervention'].nunique()} interventions)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return cmd_run(args) if args.command == "run" else cmd_table(args)


if __name__ == "__main__":
    run_cli(main)
