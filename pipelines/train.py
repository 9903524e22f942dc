"""Train one variant for one stage: ``pretrain_only`` (static COCO-style clips), ``main_only`` (videos)
or ``full`` (videos, initialised from the same variant's pretrain_only checkpoint; pipelines.experiment.stages).

    python -m pipelines.train --config CONFIG --variant NAME --stage {pretrain_only,main_only,full} \
        --out RUN_DIR [--init CKPT] [--seed N] [--device auto|cpu|cuda] [--threads N] [--workers N]

Writes RUN_DIR/config.yaml (effective config), RUN_DIR/loss.csv, RUN_DIR/validation.csv (J&F on the
held-out videos, when ``train.main.validate_every`` is set) and, at the end, RUN_DIR/checkpoint.pt. RUN_DIR/state.pt is the resumable state, rewritten atomically every
``train.checkpoint_every`` iterations; rerunning the same command after a kill resumes from it and
ends with the same weights as an uninterrupted run (CPU, same seed). A finished RUN_DIR is left alone.
A non-empty RUN_DIR that this suite did not write, or that holds a run of another config, is refused
unless ``--overwrite`` (which never touches a folder holding an input). Data determinism:
``pipelines.training.data``.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from methods import variants
from methods.checkpoint import CheckpointError, model_from_checkpoint, read_checkpoint, read_file
from methods.precision import precision_name
from pipelines.common.checkpoint import capture_rng, restore_rng, save_atomic
from pipelines.common.cli import progress_bar, run_cli
from pipelines.common.compiling import compile_network
from pipelines.common.config_file import load_config
from pipelines.common.files import (
    DataError,
    OutputLock,
    atomic_write_text,
    check_output_folder,
    make_folder,
    written_by_suite,
)
from pipelines.common.provenance import device_name, run_hash
from pipelines.common.runtime import distributed_context, resolve_device, set_threads
from pipelines.experiment import stages
from pipelines.experiment.datasets import DATASETS, PRETRAIN_ROOT_KEY
from pipelines.experiment.roots import dataset_roots
from pipelines.experiment.runs import RunFolder
from pipelines.experiment.stages import FULL, STAGES, Stage
from pipelines.training.config import StageConfig, TrainConfig
from pipelines.training.data import IterationBatches, build_clip_dataset, seed_everything, validation_set
from pipelines.training.trainer import NonFiniteTraining, Trainer, configure_torch
from pipelines.training.validation import load_holdout, validate

log = logging.getLogger("gvos.train")

CHECKPOINT, STATE, CONFIG = RunFolder.CHECKPOINT, RunFolder.STATE, RunFolder.CONFIG
LOSS_CSV, VALIDATION_CSV = RunFolder.LOSS, RunFolder.VALIDATION
TRAIN_STEP = "train"
"""The step named in a run folder's marker (``pipelines.common.files``): no other step may replace the folder."""


@dataclass
class Run:
    """Everything a run is, settled before the run folder is touched."""

    args: argparse.Namespace
    stage: Stage
    config: dict
    train_cfg: TrainConfig
    stage_cfg: StageConfig
    model_cfg: dict
    effective: dict
    chash: str
    init_ckpt: dict | None
    out: Path


# ---------------------------------------------------------------- set-up

def effective_config(config: dict, train_cfg: TrainConfig, model_cfg: dict, run: dict) -> dict:
    out = {key: value for key, value in config.items() if key not in ("model", "train")}
    out["model"] = model_cfg
    out["train"] = train_cfg.to_dict()
    out["run"] = run
    return out


def write_rows_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="YAML config (data, model, train sections)")
    parser.add_argument("--variant", required=True, help="variant name (methods.variants, or experiments.variant_defs)")
    parser.add_argument("--stage", required=True, choices=list(STAGES), help="pretrain_only (images), main_only (videos), full (videos from --init)")
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--init", type=Path, help="pretrain_only checkpoint of the same variant (required for --stage full)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, the data order and every RNG")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA if available")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run folder of another config (or one this suite did not write)")
    return parser.parse_args(argv)


def setup(args: argparse.Namespace) -> Run:
    """Validate everything before touching the run folder."""
    config = load_config(args.config)
    train_cfg = TrainConfig.from_dict(config.get("train"))
    defs = variants.variant_defs(config)
    if not variants.is_learned(args.variant, defs):
        raise ValueError(f"variant {args.variant!r} has nothing to train")
    if args.threads < 0 or args.workers < 0:
        raise ValueError("--threads and --workers must be >= 0")
    model = variants.model_config(args.variant, config.get("model"), defs)
    train_cfg.check_backbone(model)
    stage = stages.stage(args.stage)
    if stage.init_from and args.init is None:
        raise ValueError(f"--stage {stage.name} needs --init: the {stage.init_from} checkpoint of the same variant")
    if not stage.init_from and args.init is not None:
        raise ValueError(f"--init is only used with --stage {FULL.name} (got --stage {args.stage})")
    init_ckpt = read_checkpoint(args.init, variant=args.variant, stage=stage.init_from) if args.init else None
    model_cfg = model.to_dict()
    if init_ckpt is not None:
        theirs, ours = ({k: v for k, v in cfg.items() if k != "weights"} for cfg in (init_ckpt["model_config"], model_cfg))
        if theirs != ours:
            raise CheckpointError(args.init, f"--init was trained with another model config than this run's "
                                             f"({theirs} vs {ours})")
    run_info = {"variant": args.variant, "stage": args.stage, "seed": args.seed,
                "init": str(args.init) if args.init else None,
                "init_config_hash": init_ckpt["config_hash"] if init_ckpt else None}
    effective = effective_config(config, train_cfg, model_cfg, run_info)
    chash = run_hash(config, args.variant, stage.name, args.seed)
    inputs = [args.config, args.init, *_data_roots(config, stage)]
    out = check_output_folder(args.out, inputs, overwrite=args.overwrite, replace=False, step=TRAIN_STEP)
    return Run(args, stage, config, train_cfg, train_cfg.schedule(stage), model_cfg, effective, chash, init_ckpt, out)


def _data_roots(config: dict, stage: Stage) -> list[str]:
    """The dataset roots a stage may read (inputs the run folder must never be)."""
    roots = dataset_roots(config.get("data"))
    if not stage.on_videos:
        return [roots[PRETRAIN_ROOT_KEY]]
    return [roots[dataset.root_key] for dataset in DATASETS.values()]


def prepare_folder(run: Run) -> tuple[dict | None, bool]:
    """(resumable state or None, finished already) after checking what the run folder holds.

    A folder of another config (finished or resumable) or one the suite did not write is refused
    unless --overwrite, which empties it first."""
    out, chash = run.out, run.chash
    if not out.is_dir() or not any(out.iterdir()):
        return None, False
    problem = None
    if not written_by_suite(out):
        problem = "the folder is not empty and was not written by this suite"
    elif (out / CHECKPOINT).exists():
        done = read_checkpoint(out / CHECKPOINT)
        if done["config_hash"] == chash and done["variant"] == run.args.variant:
            print(f"{out}: already finished ({done['iteration']} iterations), nothing to do")
            return None, True
        problem = (f"run folder already holds a finished run of another config (variant {done['variant']}, "
                   f"hash {done['config_hash']} vs {chash})")
    elif (out / STATE).exists():
        try:
            state = read_file(out / STATE)
        except CheckpointError as err:
            raise DataError(out / STATE, f"{err.problem}; delete this file to restart the run from its "
                                         "beginning (or rerun with --overwrite)") from None
        if state.get("config_hash") == chash:
            return state, False
        problem = f"resumable state belongs to another config (hash {state.get('config_hash')} vs {chash})"
    if problem is None:
        return None, False
    if not run.args.overwrite:
        raise DataError(out, f"{problem}; use another --out, or --overwrite to replace it")
    log.warning("%s: %s; replacing it (--overwrite)", out, problem)
    for child in out.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return None, False


def prepare_on_ranks(run: Run, rank: int, world: int) -> tuple[dict | None, bool]:
    """prepare_folder on rank 0 first (only it may empty the folder under --overwrite), then, after a
    barrier, on the other ranks, which then find the folder as rank 0 left it."""
    if rank == 0:
        result = prepare_folder(run)
    if world > 1:
        torch.distributed.barrier()
    return result if rank == 0 else prepare_folder(run)


# ---------------------------------------------------------------- loop

def train_loop(run: Run, trainer: Trainer, clips, state: dict | None, rank: int, world: int, workers: int) -> float:
    """Iterations from the resumable state (or 0) to the end; returns the training seconds. ``trainer``
    holds the state's weights already (``_resume``)."""
    args, stage_cfg, out = run.args, run.stage_cfg, run.out
    start, rows, window, elapsed_before, checks = 0, [], [], 0.0, []
    if state is not None:
        restore_rng(state["rng"])  # again, here: nothing between the set-up and the loop may draw from them
        start, rows, window = int(state["iteration"]), list(state["rows"]), list(state["window"])
        elapsed_before, checks = float(state["elapsed_s"]), list(state.get("validation", []))
        if rank == 0:
            log.info("resuming %s from iteration %d", out, start)
    holdout = _holdout_videos(run) if rank == 0 else []
    batches = IterationBatches(clips, stage_cfg, args.seed, start, rank, world)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=workers,
                                         persistent_workers=False)
    t0 = time.perf_counter()
    bar = progress_bar(total=stage_cfg.iterations, initial=start, disable=rank != 0,
                       desc=f"{args.variant}/{args.stage}", unit="it", dynamic_ncols=True)
    for iteration, batch in enumerate(loader, start=start):
        try:
            loss, parts = trainer.step(batch, iteration)
        except NonFiniteTraining as err:
            bar.close()
            if rank == 0:
                write_rows_csv(out / LOSS_CSV, rows)
            raise DataError(out, _divergence_message(run, err, start)) from None
        if iteration == start and run.effective["run"].get("compiled") and rank == 0:
            bar.write(f"first iteration, compiling included: {time.perf_counter() - t0:.1f} s")
        names = ["loss", *parts]
        values = _mean_over_ranks(torch.tensor([float(loss), *[float(v) for v in parts.values()]]), world,
                                  trainer.device)
        window.append(dict(zip(names, values.tolist(), strict=True)))
        bar.set_postfix(loss=f"{values[0]:.4f}", refresh=False)
        bar.update(1)
        done = iteration + 1
        if done % run.train_cfg.log_every == 0 or done == stage_cfg.iterations:
            row = {"iteration": done}
            row |= {name: float(np.mean([w[name] for w in window])) for name in names}
            row |= {"lr": stage_cfg.lr_at(iteration),
                    "max_skip": batches.max_skip_at(iteration) if run.stage.on_videos else 0,
                    "elapsed_s": round(elapsed_before + time.perf_counter() - t0, 3)}
            rows.append(row)
            window = []
        if holdout and (done % (stage_cfg.validate_every or stage_cfg.iterations) == 0 or done == stage_cfg.iterations):
            checks.append({"iteration": done, **validate(trainer.model, holdout, trainer.device, trainer.amp)})
            bar.write(_validation_line(done, checks[-1]))
            write_rows_csv(out / VALIDATION_CSV, checks)
        if rank == 0 and done % run.train_cfg.checkpoint_every == 0 and done < stage_cfg.iterations:
            save_atomic({**trainer.state_dict(), "rng": capture_rng(), "iteration": done, "rows": rows,
                         "window": window, "validation": checks, "config_hash": run.chash,
                         "elapsed_s": elapsed_before + time.perf_counter() - t0}, out / STATE)
            write_rows_csv(out / LOSS_CSV, rows)
    bar.close()
    if rank == 0:
        write_rows_csv(out / LOSS_CSV, rows)
    return elapsed_before + time.perf_counter() - t0


def _resume(trainer: Trainer, state: dict, path: Path) -> None:
    """Load a resumable state into ``trainer`` and the RNGs, before anything is written, and check that the
    loop finds what it reads. DataError naming the file when it does not fit this code or this network."""
    try:
        trainer.load_state_dict(state)
        restore_rng(state["rng"])
        missing = [key for key in ("iteration", "rows", "window", "elapsed_s") if key not in state]
        if missing:
            raise KeyError(", ".join(missing))
    except (KeyError, RuntimeError, TypeError, ValueError) as err:
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise DataError(path, f"cannot resume from this state: it was written by other code of the suite or "
                              f"for another network layout ({err.__class__.__name__}: {detail}); delete it to "
                              "restart the run from its beginning") from None


def _divergence_message(run: Run, err: NonFiniteTraining, start: int) -> str:
    """One line: which run, which iteration, the likely cause, what is left to resume from."""
    args, stage = run.args, run.stage.schedule
    saved = (run.out / STATE).exists()
    keep = (f"the last good state ({STATE}) is kept" if saved else "no state was saved yet")
    return (f"{args.variant}/{args.stage} seed {args.seed}: training diverged: {err}; likely cause: "
            f"train.{stage}.lr ({run.stage_cfg.lr:g}) too high or a bad batch; stopped before the optimiser "
            f"step, {keep}; nothing was scored (started at iteration {start})")


def _validation_line(done: int, check: dict) -> str:
    line = (f"iteration {done}: held-out J&F {check['J&F']:.1f} [{check['J&F_low']:.1f}, {check['J&F_high']:.1f}] "
            f"({check['objects']} objects; multi-object videos {check['J&F_multi']:.1f}")
    if check["gate_inside"] == check["gate_inside"]:
        line += f"; SCM gate {check['gate_inside']:.2f} inside the previous mask, {check['gate_outside']:.2f} outside"
    return line + ")"


def _holdout_videos(run: Run) -> list:
    """The held-out videos of the main stage (none for pretraining or without train.main.holdout or
    holdout_split)."""
    if not run.stage.on_videos or not run.stage_cfg.has_holdout:
        return []

    split, names = validation_set(run.stage_cfg, run.config.get("data") or {}, run.args.config)
    return load_holdout(run.config.get("data") or {}, run.args.config, names, split)


def _mean_over_ranks(values: torch.Tensor, world: int, device: torch.device) -> torch.Tensor:
    """The mean over ranks of a CPU tensor; the all-reduce runs on the training device (NCCL takes
    only CUDA tensors, gloo CPU ones)."""
    if world > 1:
        values = values.to(device)
        torch.distributed.all_reduce(values)
        values = values.cpu() / world
    return values


# ---------------------------------------------------------------- finish

def finish(run: Run, model: torch.nn.Module, seconds: float) -> None:
    save_atomic({"variant": run.args.variant, "model_config": run.model_cfg,
                 "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                 "stage": run.args.stage, "iteration": run.stage_cfg.iterations,
                 "seed": run.args.seed, "config_hash": run.chash,
                 "init_config_hash": run.effective["run"]["init_config_hash"]}, run.out / CHECKPOINT)
    (run.out / STATE).unlink(missing_ok=True)
    print(f"{run.out}: trained {run.args.variant}/{run.args.stage} for {run.stage_cfg.iterations} iterations "
          f"in {seconds:.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = setup(args)
    device = resolve_device(args.device)
    rank, world, local_rank = distributed_context()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    # one writer per run folder: a second training into the same --out is refused, not interleaved
    lock = OutputLock(run.out) if rank == 0 else None
    try:
        return _train(run, device, rank, world)
    finally:
        if lock is not None:
            lock.release()


def _train(run: Run, device: torch.device, rank: int, world: int) -> int:
    args = run.args
    state, finished = prepare_on_ranks(run, rank, world)
    if finished:
        return 0
    clips = build_clip_dataset(run.stage, run.stage_cfg, run.config.get("data") or {}, args.config, args.seed)
    set_threads(args.threads)
    configure_torch(device)


    seed_everything(args.seed)
    if run.init_ckpt is None:
        model = variants.build_model(args.variant, run.config.get("model"), variants.variant_defs(run.config))
        if run.train_cfg.scm_init == "spotlight" and model.scm is not None:
            model.scm.init_spotlight()
    else:  # the one loader (methods.checkpoint): the pretraining's own model (its config checked in setup)
        model = model_from_checkpoint(run.init_ckpt, args.init)
    trainer = Trainer(model, run.stage_cfg, device, run.train_cfg.amp, args.seed, rank, world)
    if state is not None:
        _resume(trainer, state, run.out / STATE)
    run.effective["run"]["compiled"] = run.train_cfg.compile and compile_network(model, device, "train.compile")
    run.effective["run"]["device"] = device_name(device)
    run.effective["run"]["precision"] = precision_name(trainer.amp, device)
    if rank == 0:
        make_folder(run.out, TRAIN_STEP)
        atomic_write_text(run.out / CONFIG, yaml.safe_dump(run.effective, sort_keys=False))
    seconds = train_loop(run, trainer, clips, state, rank, world, args.workers)
    if rank == 0:
        finish(run, model, seconds)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    run_cli(main)
