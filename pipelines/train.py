"""Train one variant for one stage: ``pretrain`` (static COCO-style clips), ``main`` (videos) or
``full`` (main initialised from the same variant's pretrain checkpoint).

    python -m pipelines.train --config CONFIG --variant NAME --stage {pretrain,main,full} \
        --out RUN_DIR [--init CKPT] [--seed N] [--device auto|cpu|cuda]

Writes RUN_DIR/config.yaml (effective config), RUN_DIR/loss.csv and, at the end,
RUN_DIR/checkpoint.pt. RUN_DIR/state.pt is the resumable state, rewritten atomically every
``train.checkpoint_every`` iterations; rerunning the same command after a kill resumes from it and
ends with the same weights as an uninterrupted run (CPU, same seed). A finished RUN_DIR is left alone.

Determinism: the clip drawn for batch slot ``j`` of iteration ``i`` depends only on
``(seed, i, j)`` and every RNG is reseeded from ``(seed, i)`` before each step, so the data
position is simply the iteration number, and the global batch does not depend on the number of
DDP processes (under torchrun each rank takes its slice of the global batch).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn
from tqdm import tqdm

from pipelines.checkpoint import capture_rng, load_checkpoint, load_file, restore_rng, save_atomic
from pipelines.cli import run_cli
from pipelines.config_file import load_config
from pipelines.data.errors import DataError
from pipelines.data.masks import atomic_save
from pipelines.provenance import config_hash
from pipelines.train_config import StageConfig, TrainConfig

log = logging.getLogger("gvos.train")

STAGES = ("pretrain", "main", "full")
CHECKPOINT = "checkpoint.pt"
STATE = "state.pt"
CONFIG = "config.yaml"
LOSS_CSV = "loss.csv"


# ---------------------------------------------------------------- config


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    return torch.device(name)


def _dataset_root(data_section: dict, key: str, config_path: Path) -> Path:
    root = data_section.get(key)
    if not root:
        raise DataError(config_path, f"data.{key} is not set: the training datasets need it")
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, f"dataset folder does not exist (data.{key} in {config_path})")
    return root


# ---------------------------------------------------------------- data

def build_clip_dataset(stage: str, stage_cfg: StageConfig, data_section: dict, config_path: Path, seed: int):
    """The clip dataset of a stage: StaticClipDataset over COCO for ``pretrain``, VideoClipDataset over
    the configured training videos for ``main`` / ``full``. Missing folders raise DataError."""
    from pipelines.data import clips

    if stage == "pretrain":
        from pipelines.data.coco import CocoImages

        coco = CocoImages(_dataset_root(data_section, "coco", config_path))
        return clips.StaticClipDataset(coco, num_frames=stage_cfg.num_frames, crop=tuple(stage_cfg.crop),
                                       max_objects=stage_cfg.max_objects, seed=seed)
    videos = []
    for name in stage_cfg.datasets:
        if name.startswith("davis"):
            from pipelines.data.davis import DavisDataset

            key = "davis2016" if name == "davis2016" and data_section.get("davis2016") else "davis"
            reader = DavisDataset(_dataset_root(data_section, key, config_path), year=name[-4:], split="train")
        else:
            from pipelines.data.youtubevos import YouTubeVOSDataset

            reader = YouTubeVOSDataset(_dataset_root(data_section, "youtubevos", config_path), split="train")
        videos.extend(clips.lazy_videos(reader))  # only the sampled frames are read
    if not videos:
        raise DataError(config_path, f"no training videos found in {', '.join(stage_cfg.datasets)}")
    return clips.VideoClipDataset(videos, num_frames=stage_cfg.num_frames, max_skip=stage_cfg.max_skip.start,
                                  crop=tuple(stage_cfg.crop), max_objects=stage_cfg.max_objects, seed=seed)


def _derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class IterationBatches(torch.utils.data.Dataset):
    """Item ``k`` = this rank's slice of the global batch of iteration ``start + k``.

    Each clip is drawn with every RNG seeded from ``(seed, iteration, slot)``, so a batch is a pure
    function of the iteration: resuming needs no sampler state and worker processes need no seeding.
    The frame-skip curriculum is evaluated here too (workers hold copies of the dataset).
    """

    def __init__(self, clips, stage_cfg: StageConfig, seed: int, start: int, rank: int, world: int):
        if stage_cfg.batch_size % world:
            raise ValueError(f"batch_size {stage_cfg.batch_size} is not divisible by {world} processes")
        self.clips = clips
        self.cfg = stage_cfg
        self.seed = seed
        self.start = start
        self.per_rank = stage_cfg.batch_size // world
        self.rank = rank
        self.iterations_per_epoch = max(1, len(clips) // stage_cfg.batch_size)

    def __len__(self) -> int:
        return self.cfg.iterations - self.start

    def max_skip_at(self, iteration: int) -> int | None:
        schedule = getattr(self.cfg, "max_skip", None)
        return None if schedule is None else schedule.at(iteration, self.iterations_per_epoch)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        iteration = self.start + k
        skip = self.max_skip_at(iteration)
        if skip is not None:
            self.clips.set_max_skip(skip)
        items = []
        for j in range(self.rank * self.per_rank, (self.rank + 1) * self.per_rank):
            slot_seed = _derive_seed(self.seed, iteration, j)
            seed_everything(slot_seed)
            if hasattr(self.clips, "rng"):  # datasets that keep their own generator
                self.clips.rng = np.random.default_rng(slot_seed)
            items.append(self.clips[int(np.random.randint(len(self.clips)))])
        return {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in items[0]}


# ---------------------------------------------------------------- distributed

def distributed_context() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment; ``(0, 1, 0)`` otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, world, local_rank


def init_distributed(world: int, device: torch.device) -> None:
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def _mean_over_ranks(values: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        values = values.clone()
        torch.distributed.all_reduce(values)
        values /= world
    return values


# ---------------------------------------------------------------- run folder

def effective_config(config: dict, train_cfg: TrainConfig, model_cfg: dict, run: dict) -> dict:
    out = {key: value for key, value in config.items() if key not in ("model", "train")}
    out["model"] = model_cfg
    out["train"] = train_cfg.to_dict()
    out["run"] = run
    return out


NOT_AFFECTING_WEIGHTS = ("checkpoint_every", "log_every", "num_workers")


def run_hash(effective: dict, stage: str) -> str:
    """Hash of what determines a run's weights: data roots, model, this stage's schedule, global
    train keys (less bookkeeping ones), variant, stage, seed and the init checkpoint's own hash
    (not its path, which may move). Editing the other stage's schedule leaves it unchanged."""
    train_section = {k: v for k, v in effective["train"].items()
                     if k not in ("pretrain", "main", *NOT_AFFECTING_WEIGHTS)}
    train_section["schedule"] = effective["train"]["pretrain" if stage == "pretrain" else "main"]
    run = {k: v for k, v in effective["run"].items() if k != "init"}
    return config_hash({"data": effective.get("data"), "model": effective["model"], "train": train_section,
                        "run": run})


def write_loss_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_save(path, lambda tmp: Path(tmp).write_text(buffer.getvalue()))


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="YAML config (data, model, train sections)")
    parser.add_argument("--variant", required=True, help="variant name from methods.variants.VARIANTS")
    parser.add_argument("--stage", required=True, choices=STAGES)
    parser.add_argument("--out", required=True, type=Path, help="run folder")
    parser.add_argument("--init", type=Path, help="pretrain checkpoint of the same variant (required for --stage full)")
    parser.add_argument("--seed", type=int, help="overrides train.seed")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="overrides train.device")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from methods import variants

    # --- validate everything before touching the run folder
    config = load_config(args.config)
    train_cfg = TrainConfig.from_dict(config.get("train"))
    if args.seed is not None:
        train_cfg.seed = args.seed
    if args.device is not None:
        train_cfg.device = args.device
    if args.variant not in variants.VARIANTS:
        raise ValueError(f"unknown variant {args.variant!r}; known: {', '.join(variants.VARIANTS)}")
    if not variants.is_learned(args.variant):
        raise ValueError(f"variant {args.variant!r} has nothing to train")
    model_cfg = variants.model_config(args.variant, config.get("model")).to_dict()
    if args.stage == "full" and args.init is None:
        raise ValueError("--stage full needs --init: the pretrain checkpoint of the same variant")
    if args.stage != "full" and args.init is not None:
        raise ValueError(f"--init is only used with --stage full (got --stage {args.stage})")
    init_ckpt = None
    if args.init is not None:
        init_ckpt = load_checkpoint(args.init, variant=args.variant)
        if init_ckpt["stage"] != "pretrain":
            raise DataError(args.init, f"--init must be a pretrain checkpoint, this one is from stage {init_ckpt['stage']!r}")
    stage_cfg = train_cfg.stage(args.stage)
    run_info = {"variant": args.variant, "stage": args.stage, "seed": train_cfg.seed,
                "init": str(args.init) if args.init else None,
                "init_config_hash": init_ckpt["config_hash"] if init_ckpt else None}
    effective = effective_config(config, train_cfg, model_cfg, run_info)
    chash = run_hash(effective, args.stage)

    out: Path = args.out
    final_path = out / CHECKPOINT
    if final_path.exists():
        done = load_checkpoint(final_path)
        if done["config_hash"] != chash or done["variant"] != args.variant:
            raise DataError(final_path, f"run folder already holds a finished run with another config "
                                        f"(variant {done['variant']}, hash {done['config_hash']} vs {chash}); "
                                        "use another --out")
        print(f"{out}: already finished ({done['iteration']} iterations), nothing to do")
        return 0
    state = None
    if (out / STATE).exists():
        state = load_file(out / STATE)
        if state.get("config_hash") != chash:
            raise DataError(out / STATE, f"resumable state belongs to another config (hash "
                                         f"{state.get('config_hash')} vs {chash}); use another --out")

    device = resolve_device(train_cfg.device)
    clips = build_clip_dataset(args.stage, stage_cfg, config.get("data") or {}, args.config, train_cfg.seed)

    rank, world, local_rank = distributed_context()
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    init_distributed(world, device)
    if train_cfg.threads:
        torch.set_num_threads(train_cfg.threads)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)

    seed_everything(train_cfg.seed)
    model = variants.build_model(args.variant, config.get("model"))
    if init_ckpt is not None:
        model.load_state_dict(init_ckpt["state_dict"])
    model.to(device)
    model.train()  # frozen BatchNorm (model.freeze_bn) is FrozenBatchNorm2d: train() leaves it alone
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=stage_cfg.lr, weight_decay=stage_cfg.weight_decay)
    amp = bool(train_cfg.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=amp)

    start, rows, window, elapsed_before = 0, [], [], 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"])
        start, rows, window = state["iteration"], state["rows"], state["window"]
        elapsed_before = state["elapsed_s"]
        if rank == 0:
            log.info("resuming %s from iteration %d", out, start)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_save(out / CONFIG, lambda tmp: Path(tmp).write_text(yaml.safe_dump(effective, sort_keys=False)))

    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    batches = IterationBatches(clips, stage_cfg, train_cfg.seed, start, rank, world)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False, num_workers=train_cfg.num_workers,
                                         persistent_workers=False)
    from methods.losses import total_loss

    t0 = time.perf_counter()
    bar = tqdm(total=stage_cfg.iterations, initial=start, disable=rank != 0, desc=f"{args.variant}/{args.stage}",
               unit="it", dynamic_ncols=True)
    iteration = start
    for iteration, batch in enumerate(loader, start=start):
        seed_everything(_derive_seed(train_cfg.seed, iteration, 1_000_003 + rank))
        lr = stage_cfg.lr_at(iteration)
        for group in optimizer.param_groups:
            group["lr"] = lr
        frames = batch["frames"].to(device, non_blocking=True)
        masks = batch["masks"].to(device, non_blocking=True)
        valid = batch["valid"].to(device, non_blocking=True)
        with torch.autocast(device.type, enabled=amp):
            output = net(frames, masks[:, 0], valid)
        loss, parts = total_loss({k: v.float() for k, v in output.items()}, masks[:, 1:], valid)
        parts.pop("total", None)  # the same number as loss
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if stage_cfg.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, stage_cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()

        names = ["loss", *parts]
        values = _mean_over_ranks(torch.tensor([float(loss.detach()), *[float(v) for v in parts.values()]]), world)
        window.append(dict(zip(names, values.tolist(), strict=True)))
        bar.set_postfix(loss=f"{values[0]:.4f}", refresh=False)
        bar.update(1)
        done = iteration + 1
        if done % train_cfg.log_every == 0 or done == stage_cfg.iterations:
            row = {"iteration": done}
            row |= {name: float(np.mean([w[name] for w in window])) for name in names}
            row |= {"lr": lr, "max_skip": batches.max_skip_at(iteration) if args.stage != "pretrain" else 0,
                    "elapsed_s": round(elapsed_before + time.perf_counter() - t0, 3)}
            rows.append(row)
            window = []
        if rank == 0 and done % train_cfg.checkpoint_every == 0 and done < stage_cfg.iterations:
            save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                         "rng": capture_rng(), "iteration": done, "rows": rows, "window": window, "config_hash": chash,
                         "elapsed_s": elapsed_before + time.perf_counter() - t0}, out / STATE)
            write_loss_csv(out / LOSS_CSV, rows)
    bar.close()

    if rank == 0:
        write_loss_csv(out / LOSS_CSV, rows)
        save_atomic({"variant": args.variant, "model_config": model_cfg,
                     "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                     "stage": args.stage, "iteration": stage_cfg.iterations,
                     "seed": train_cfg.seed, "config_hash": chash}, final_path)
        (out / STATE).unlink(missing_ok=True)
        total = elapsed_before + time.perf_counter() - t0
        print(f"{out}: trained {args.variant}/{args.stage} for {stage_cfg.iterations} iterations in {total:.1f} s")
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    run_cli(main)
