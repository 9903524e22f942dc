"""Training speed: iterations per second of one stage of a variant, and where an iteration's time goes.

    python -m pipelines.benchmark train --config CONFIG [--variants gvos_scm] [--stages main] \\
        [--iterations 10] [--warmup 2] [--threads N] [--device auto] --out results/

Each (variant, stage) trains from a fresh model on the config's real training data and schedule
(crop, batch, frames, objects), exactly as ``pipelines.train`` does (``pipelines.training.Trainer``),
for ``warmup`` untimed then ``iterations`` timed iterations. Per iteration the clock splits the time
into ``data`` (drawing, decoding and augmenting the clips, and moving them to the device), ``forward``
(network and loss), ``backward`` and ``optimizer``; on CUDA each section is synchronised. The FLOPs of
an iteration (convolutions and matrix products of forward and backward, ``torch.utils.flop_counter``;
the mean over the timed batches, counted after the clock) give the achieved GFLOP/s, printed beside this
machine's own matrix-product and 3x3-convolution rates in the precision the iteration runs in (float32,
or the same autocast), measured in the same process with the same threads: the distance to the limit;
``fp32_precision`` names whether float32 convolutions and matrix products run as TF32 on CUDA (PyTorch's
defaults, as ``pipelines.train`` leaves them). Writes ``OUT/train_speed.csv``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from methods import variants
from methods.precision import precision_name, resolve_amp
from pipelines.benchmarking.breakdown import SectionClock
from pipelines.benchmarking.measure import PeakMemory
from pipelines.benchmarking.peaks import conv_peak_gflops, fp32_precision_in_force, matmul_peak_gflops
from pipelines.common.provenance import provenance, section_hash
from pipelines.experiment import stages
from pipelines.experiment.defaults import MIB
from pipelines.training.config import TrainConfig
from pipelines.training.data import IterationBatches, build_clip_dataset, seed_everything
from pipelines.training.trainer import STEP_SECTIONS, Trainer, configure_torch

SECTION_COLUMNS = [f"seconds_{name}" for name in STEP_SECTIONS]
COLUMNS = [
    "variant", "stage", "backbone", "crop_height", "crop_width", "batch_size", "num_frames", "max_objects",
    "iterations", "warmup", "seconds_per_iteration", "seconds_per_iteration_min", "seconds_per_iteration_max",
    "iterations_per_second", *SECTION_COLUMNS, "gflops_per_iteration", "achieved_gflops_per_second",
    "precision", "fp32_precision", "matmul_peak_gflops_per_second", "conv_peak_gflops_per_second", "fraction_of_conv_peak",
    "peak_memory_bytes", "peak_memory_kind",
    "device", "torch", "threads", "commit", "config_hash",
]


@dataclass
class TrainBenchSettings:
    variants: list[str]
    stages: list[str]
    iterations: int
    warmup: int
    device: str


def _fresh_trainer(config: dict, variant: str, stage: str, device: torch.device):
    configure_torch(device)
    train_cfg = TrainConfig.from_dict(config.get("train"))
    stage_cfg = train_cfg.schedule(stages.from_scratch(stage))
    seed_everything(0)
    model = variants.build_model(variant, config.get("model"), variants.variant_defs(config))
    return Trainer(model, stage_cfg, device, train_cfg.amp), stage_cfg


def count_flops(trainer, batches, iterations: range) -> dict[str, int]:
    """FLOPs by operation (``aten.convolution``, ``aten.mm``, ...) of training steps on ``batches[i]`` for i in
    ``iterations``, counted after the timing: the counts depend on the batches' shapes (object rows differ
    from batch to batch), not on the weights, which move on."""
    with FlopCounterMode(display=False) as counter:
        for iteration in iterations:
            trainer.step(batches[iteration], iteration)
    return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}


def measure_stage(config: dict, config_path: Path | None, variant: str, stage: str, settings: TrainBenchSettings,
                  peak: PeakMemory) -> dict:
    """One row: the timing of ``settings.iterations`` training iterations after ``settings.warmup``."""
    device = torch.device(settings.device)
    trainer, stage_cfg = _fresh_trainer(config, variant, stage, device)
    clips = build_clip_dataset(stages.from_scratch(stage), stage_cfg, config.get("data") or {}, config_path, seed=0)
    total = settings.warmup + settings.iterations
    if stage_cfg.iterations < total:
        stage_cfg.iterations = total  # the schedule's length only bounds the batches drawn here
    batches = IterationBatches(clips, stage_cfg, seed=0, start=0)
    per_iteration, sections = [], {name: [] for name in STEP_SECTIONS}
    peak.reset()
    for iteration in range(settings.warmup + settings.iterations):
        clock = SectionClock(settings.device)
        start = time.perf_counter()
        with clock("data"):
            batch = batches[iteration]
        trainer.step(batch, iteration, hook=clock)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        if iteration >= settings.warmup:
            per_iteration.append(seconds)
            for name in STEP_SECTIONS:
                sections[name].append(clock.seconds[name])
    peak_bytes = peak.read()
    timed = range(settings.warmup, settings.warmup + settings.iterations)
    median = statistics.median(per_iteration)
    gflops = sum(count_flops(trainer, batches, timed).values()) / 1e9 / len(timed)
    model_cfg = trainer.model.cfg
    return {
        "variant": variant, "stage": stage, "backbone": model_cfg.backbone,
        "crop_height": stage_cfg.crop[0], "crop_width": stage_cfg.crop[1], "batch_size": stage_cfg.batch_size,
        "num_frames": stage_cfg.num_frames, "max_objects": stage_cfg.max_objects,
        "iterations": settings.iterations, "warmup": settings.warmup,
        "seconds_per_iteration": median, "seconds_per_iteration_min": min(per_iteration),
        "seconds_per_iteration_max": max(per_iteration), "iterations_per_second": 1.0 / median,
        **{f"seconds_{name}": statistics.median(values) for name, values in sections.items()},
        "gflops_per_iteration": gflops, "achieved_gflops_per_second": gflops / median,
        "peak_memory_bytes": peak_bytes, "peak_memory_kind": peak.kind,
    }


def run_training_benchmark(config: dict, config_path: Path | None, settings: TrainBenchSettings) -> list[dict]:
    """One row per (variant, stage), with the provenance columns and the machine's matmul rate."""
    peak = PeakMemory(settings.device)
    amp = resolve_amp(TrainConfig.from_dict(config.get("train")).amp, settings.device)
    limit = matmul_peak_gflops(settings.device, amp=amp)
    conv_limit = conv_peak_gflops(settings.device, amp=amp)
    fp32_precision = fp32_precision_in_force(settings.device)  # as pipelines.train leaves it
    prov = provenance(settings.device)
    prov["config_hash"] = section_hash({"train": config.get("train"), "model": config.get("model"),
                                        "data": config.get("data")})
    rows = []
    for variant in settings.variants:
        for stage in settings.stages:
            row = measure_stage(config, config_path, variant, stage, settings, peak)
            rows.append({**row, "precision": precision_name(amp, settings.device),
                         "fp32_precision": fp32_precision,
                         "matmul_peak_gflops_per_second": limit, "conv_peak_gflops_per_second": conv_limit,
                         "fraction_of_conv_peak": row["achieved_gflops_per_second"] / conv_limit, **prov})
            print(f"{variant}/{stage}: {row['iterations_per_second']:.2f} it/s ({row['seconds_per_iteration']:.3f} s/it, "
                  f"min {row['seconds_per_iteration_min']:.3f}, max {row['seconds_per_iteration_max']:.3f})", flush=True)
    return [{column: row[column] for column in COLUMNS} for row in rows]


def summary_lines(rows: list[dict]) -> list[str]:
    """The section split and the distance to the machine's matmul rate, one block per row."""
    lines = []
    for row in rows:
        total = sum(row[c] for c in SECTION_COLUMNS)
        split = ", ".join(f"{c.removeprefix('seconds_')} {row[c]:.3f} s ({row[c] / total:.0%})" for c in SECTION_COLUMNS)
        lines.append(
            f"{row['variant']}/{row['stage']} (crop {row['crop_height']}x{row['crop_width']}, batch "
            f"{row['batch_size']}, {row['num_frames']} frames, {row['max_objects']} objects, {row['threads']} threads, "
            f"{row['device']}): {row['iterations_per_second']:.2f} it/s, {row['seconds_per_iteration']:.3f} s/it "
            f"[{row['seconds_per_iteration_min']:.3f}, {row['seconds_per_iteration_max']:.3f}]\n"
            f"    {split}\n"
            f"    {row['gflops_per_iteration']:.2f} GFLOP/it -> {row['achieved_gflops_per_second']:.1f} GFLOP/s achieved, "
            f"in {row['precision']}: {row['matmul_peak_gflops_per_second']:.1f} GFLOP/s matmul "
            f"({row['achieved_gflops_per_second'] / row['matmul_peak_gflops_per_second']:.0%} of it) and "
            f"{row['conv_peak_gflops_per_second']:.1f} GFLOP/s 3x3 conv ({row['fraction_of_conv_peak']:.0%}) in the "
            f"same precision on this machine; peak memory "
            f"{row['peak_memory_bytes'] / MIB:.0f} MiB ({row['peak_memory_kind']})")
    return lines
