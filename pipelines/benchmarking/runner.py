"""Time every variant at every t on one input: the rows of speed.csv / memory_vs_t.csv.

Every variant's engine has its memory filled to each t (``engine_state.fill_memory``), the states kept
side by side; then ``warmup + repeats`` rounds are timed **round robin**: each round steps every (variant,
t) once on the same new frame, starting from that state, the order rotated by one each round, so that a
load that comes and goes hits every variant and every t alike and their ratios hold on a busy machine
(the medians and the min-max spread come from the ``repeats`` rounds after the warm-up ones). A step is
a real ``engine.step`` (query encoder, readout, ASPP, SCM, decoder, refinement, soft aggregation and the
write of the frame into the memory: the whole per-frame cost of a video, no disk I/O); every timed step
reads exactly t frames (``memory_frames`` column) and warm-up does not grow the bank; an engine whose
state cannot be copied (SAM 2, ``exact_snapshot = False``) is stepped successively instead, its state at
t + i frames in round i (``timing_mode``). Then, one
(variant, t) at a time with no other state alive, the peak memory of one step from the t-frame state and,
when asked, the per-section breakdown. Each row's ``timing_flag`` says when its times cannot be trusted
(``pipelines.benchmarking.flags``); an empty flag means the sanity checks held.
"""

from __future__ import annotations

import gc
import logging
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from methods import peers
from methods.checkpoint import load_model, read_checkpoint
from methods.config import ModelConfig
from methods.inference import InferenceEngine, build_engine
from methods.network import GVOSNet
from methods.precision import emulates_bfloat16, precision_name
from methods.variants import is_learned, model_config
from pipelines.benchmarking.breakdown import COLUMNS as BREAKDOWN_COLUMNS
from pipelines.benchmarking.breakdown import measure_breakdown
from pipelines.benchmarking.engine_state import EngineSnapshot, fill_memory, is_exact
from pipelines.benchmarking.flags import flag_timings
from pipelines.benchmarking.measure import PeakMemory, available_bytes, time_call
from pipelines.benchmarking.memory_budget import check_budget
from pipelines.benchmarking.peaks import conv_peak_gflops, fp32_precision_in_force, matmul_peak_gflops
from pipelines.benchmarking.settings import BenchmarkSettings
from pipelines.benchmarking.synthetic_input import make_frame, make_mask
from pipelines.common.cli import progress_bar
from pipelines.common.compiling import compile_network
from pipelines.common.files import DataError
from pipelines.common.provenance import device_name, provenance
from pipelines.common.results_tables import OURS_SETTING, TIMING_MODES

log = logging.getLogger("gvos.benchmark")

COLUMNS = [
    "variant", "backbone", "height", "width", "dtype", "t", "seconds_per_frame", "seconds_per_frame_min",
    "seconds_per_frame_max", "fps", "memory_bytes", "peak_memory_bytes", "peak_memory_kind", "repeats",
    "warmup", "device", "torch", "threads", "commit", "config_hash",
    # beyond the agreed columns: what was really measured
    "backbone_stage", "objects", "memory_frames", "weights", "fp32_precision", "compiled", "first_step_seconds",
    # the distance to this machine's limit in the step's precision (with the breakdown's FLOP count)
    "achieved_gflops_per_second", "matmul_peak_gflops_per_second", "conv_peak_gflops_per_second",
    "fraction_of_conv_peak",
    # where the time and the FLOPs of a step go (benchmarking.breakdown)
    *BREAKDOWN_COLUMNS,
    # why these times cannot be trusted (benchmarking.flags); empty: the sanity checks held
    "timing_flag",
    # the network's size: with the FLOPs, what carries a ratio across machines (0: non-learned); the inference
    # setting it ran at (a peer's published defaults)
    "parameters", "setting",
    # each timed step from the t-frame state ("from t frames") or successive steps from it ("t, t+1, ...")
    "timing_mode",
    # memory in two parts: memory_bytes is what the per-video state keeps; this, what one step needs on top
    # of everything already resident (its peak less the bytes in use before it: activations, workspace)
    "step_memory_bytes",
]


def find_checkpoint(checkpoint_dir: str | Path | None, variant: str) -> Path | None:
    """``DIR/<variant>/checkpoint.pt``, ``DIR/<variant>.pt``, else the first ``DIR/**/<variant>/**/checkpoint.pt``."""
    if checkpoint_dir is None:
        return None
    root = Path(checkpoint_dir)
    if not root.is_dir():
        raise DataError(root, "checkpoint directory does not exist")
    for candidate in (root / variant / "checkpoint.pt", root / f"{variant}.pt"):
        if candidate.is_file():
            return candidate
    nested = sorted(root.glob(f"**/{variant}/**/checkpoint.pt"))
    return nested[0] if nested else None


@dataclass
class VariantSpec:
    """What will be timed for one variant: its ModelConfig (None: non-learned or a peer) and weights source."""

    variant: str
    config: object | None  # methods.config.ModelConfig
    checkpoint: Path | None
    peer: bool = False  # another method (methods.peers), random weights

    @property
    def weights(self) -> str:
        if self.peer:
            return "random"
        if self.config is None:
            return "none"
        return "random" if self.checkpoint is None else str(self.checkpoint)

    @property
    def setting(self) -> str:
        """The inference setting it runs at: a peer's published defaults, else this suite's config."""
        return peers.PEERS[self.variant].setting if self.peer else OURS_SETTING



def resolve_variant(variant: str, settings: BenchmarkSettings, checkpoint_dir: str | Path | None) -> VariantSpec:
    """The variant's config: the checkpoint's when one is found, else the model section (+ --backbone)."""
    if not is_learned(variant, settings.variant_defs):
        return VariantSpec(variant, None, None)
    checkpoint = find_checkpoint(checkpoint_dir, variant)
    if checkpoint is not None:
        config = ModelConfig.from_dict(dict(read_checkpoint(checkpoint, variant=variant)["model_config"]))
        if settings.backbone is not None and config.backbone != settings.backbone:
            raise DataError(checkpoint, f"was trained with backbone {config.backbone!r}, "
                                        f"but backbone {settings.backbone} was asked for")
        return VariantSpec(variant, config, checkpoint)
    base = dict(settings.model)
    if settings.backbone is not None:
        base["backbone"] = settings.backbone
    if checkpoint_dir is not None:
        log.warning("%s: no checkpoint under %s, timing random weights", variant, checkpoint_dir)
    return VariantSpec(variant, model_config(variant, base, settings.variant_defs), None)


def build_variant_engine(spec: VariantSpec, settings: BenchmarkSettings):
    """The spec's inference engine on the settings' device, weights seeded random or from the checkpoint,
    and whether its network was compiled (settings.compile, where inductor runs here)."""
    if spec.peer:
        torch.manual_seed(0)
        return peers.build_peer(spec.variant, settings.device, settings.height, settings.width), False
    if spec.config is None:
        return build_engine(spec.variant), False
    if spec.checkpoint is not None:
        model, _ = load_model(spec.checkpoint, variant=spec.variant)
    else:
        torch.manual_seed(0)
        model = GVOSNet(spec.config)
    engine = InferenceEngine(model, device=settings.device, amp=settings.amp)
    compiled = settings.compile and compile_network(engine.model, torch.device(settings.device), "benchmark.compile")
    return engine, compiled


def check_memory(specs: list[VariantSpec], settings: BenchmarkSettings) -> None:
    """Refuse (ValueError) before allocating anything if some (variant, t) would not fit the device."""
    where = device_name(settings.device)
    check_budget([(s.variant, s.config) for s in specs], settings.t, settings.objects,
                 settings.height, settings.width, available_bytes(settings.device), where)


def dtype_name(settings: BenchmarkSettings) -> str:
    """What the engine computes in: float16 autocast on CUDA, bfloat16 autocast on the CPU, or float32."""
    return precision_name(settings.amp, settings.device)


def apply_fp32_precision(settings: BenchmarkSettings) -> str:
    """On CUDA, allow or forbid TF32 in convolutions and matrix products as ``settings.tf32`` asks (None
    keeps PyTorch's defaults: cuDNN convolutions use TF32, matrix products do not, which favours the
    convolution-heavy GCM step over the STM read) and name what is in force; ``ieee`` on the CPU."""
    if torch.device(settings.device).type == "cuda" and settings.tf32 is not None:
        torch.backends.cudnn.allow_tf32 = settings.tf32
        torch.backends.cuda.matmul.allow_tf32 = settings.tf32
    return fp32_precision_in_force(settings.device)


def _frames(settings: BenchmarkSettings) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The benchmark's input: the first frame, its mask, and one new frame per warm-up and timed round."""
    height, width, device = settings.height, settings.width, settings.device
    first = make_frame(height, width, 0).to(device)
    mask = make_mask(height, width, settings.objects).to(device)
    frames = [make_frame(height, width, 1 + i).to(device) for i in range(settings.warmup + settings.repeats)]
    return first, mask, frames


def _filled(engine, settings: BenchmarkSettings, first: torch.Tensor, mask: torch.Tensor, t: int) -> EngineSnapshot:
    """The engine with its memory at t frames, and that state to return to."""
    with torch.inference_mode():
        fill_memory(engine, first, mask, list(range(1, settings.objects + 1)), t)
    return EngineSnapshot(engine)


def time_round_robin(states: dict, frames: list[torch.Tensor], warmup: int, device: str,
                     bar: tqdm | None = None) -> dict:
    """key -> (first step's seconds, seconds of the steps after ``warmup``) for ``states``, key -> (engine,
    snapshot of one of its states): each round steps every state once on that round's frame, from its
    snapshot, the order rotated by one each round."""
    keys = list(states)
    times: dict = {key: [] for key in keys}
    for index, frame in enumerate(frames):
        shift = index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            engine, snapshot = states[key]
            snapshot.restore()
            times[key].append(time_call(lambda engine=engine, frame=frame: engine.step(frame), device))
            if bar is not None:
                bar.update(1)
    return {key: (seconds[0], seconds[warmup:]) for key, seconds in times.items()}


def _memory_and_breakdown(engine, settings: BenchmarkSettings, first, mask, frames, t: int, peak: PeakMemory,
                          bar: tqdm) -> dict:
    """One variant alone: its memory at t frames, the peak around one step from there, and the breakdown."""
    snapshot = _filled(engine, settings, first, mask, t)
    memory_bytes = engine.memory_bytes()
    memory_frames = engine.memory_frames() if hasattr(engine, "memory_frames") else engine.memory.num_frames
    snapshot.restore()
    peak.reset()  # after the restore: a peer's restore is a deep copy of its state, not part of the step
    engine.step(frames[-1])
    peak_bytes = peak.read()
    step_bytes = peak.above_start(peak_bytes)
    if settings.breakdown:
        breakdown = measure_breakdown(engine, frames[settings.warmup:], snapshot, settings.device)
        bar.update(settings.repeats)
    else:
        breakdown = dict.fromkeys(BREAKDOWN_COLUMNS)
    snapshot.restore()
    if is_exact(engine) and engine.memory_bytes() != memory_bytes:
        raise RuntimeError(f"memory state changed during timing ({memory_bytes} -> {engine.memory_bytes()} bytes)")
    engine.reset()
    return {**breakdown, "memory_bytes": int(memory_bytes), "memory_frames": int(memory_frames),
            "peak_memory_bytes": peak_bytes, "step_memory_bytes": step_bytes}


def _timing_columns(first_step: float, times: list[float]) -> dict:
    median = statistics.median(times)
    return {"seconds_per_frame": median, "seconds_per_frame_min": min(times), "seconds_per_frame_max": max(times),
            "fps": 1.0 / median if median > 0 else float("inf"), "first_step_seconds": first_step}


def run_benchmark(settings: BenchmarkSettings, checkpoint_dir: str | Path | None = None,
                  progress: bool = True) -> list[dict]:
    """One row per variant x t, in the order given; see the module docstring for what is timed."""
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    specs = [resolve_variant(v, settings, checkpoint_dir) for v in settings.variants]
    specs += [VariantSpec(name, None, None, peer=True) for name in settings.peers]
    check_memory(specs, settings)

    if emulates_bfloat16(settings.amp, settings.device):
        log.warning("--amp on a CPU without native bfloat16: PyTorch emulates it, far slower than float32")
    if settings.tf32 is not None and torch.device(settings.device).type != "cuda":
        log.warning("--tf32 / --no-tf32 have no effect on %s (CUDA only)", settings.device)
    common = {
        "height": settings.height, "width": settings.width, "dtype": dtype_name(settings),
        "repeats": settings.repeats, "warmup": settings.warmup, "objects": settings.objects,
        "fp32_precision": apply_fp32_precision(settings),
        **provenance(settings.device, settings.to_dict()),
    }
    common["matmul_peak_gflops_per_second"] = (matmul_peak_gflops(settings.device, amp=settings.amp)
                                                if settings.breakdown else None)
    common["conv_peak_gflops_per_second"] = (conv_peak_gflops(settings.device, amp=settings.amp)
                                              if settings.breakdown else None)
    peak = PeakMemory(settings.device)
    built = {spec.variant: (spec, *build_variant_engine(spec, settings)) for spec in specs}
    order = {name: index for index, name in enumerate(built)}  # the rows of one variant together, as given
    engines = {name: engine for name, (_, engine, _) in built.items()}
    first, mask, frames = _frames(settings)
    rows = []
    steps = len(frames) + 1 + (settings.repeats if settings.breakdown else 0)
    total = len(specs) * len(settings.t) * steps
    try:
        with progress_bar(total=total, desc="benchmark", unit="step", disable=not progress) as bar:
            bar.set_postfix_str("round robin")
            states = {(name, t): (engine, _filled(engine, settings, first, mask, t))
                      for t in settings.t for name, engine in engines.items()}
            timed = time_round_robin(states, frames, settings.warmup, settings.device, bar)
            states.clear()  # every state let go before one is measured alone
            for engine in engines.values():
                engine.reset()
            for t in settings.t:
                for name, (spec, engine, compiled) in built.items():
                    bar.set_postfix_str(f"{name} t={t}, memory")
                    measured = _memory_and_breakdown(engine, settings, first, mask, frames, t, peak, bar)
                    bar.update(1)
                    row = {"variant": name, "t": t, **_identity(spec, engine, compiled), **measured,
                           **_timing_columns(*timed[(name, t)])}
                    # so that a run stopped later still shows what it measured
                    tqdm.write(f"{name} t={t}: {row['seconds_per_frame']:.4f} s/frame "
                               f"(min {row['seconds_per_frame_min']:.4f}, max {row['seconds_per_frame_max']:.4f}), "
                               f"memory {row['memory_bytes']} bytes, peak {row['peak_memory_bytes']} bytes")
                    rows.append({**common, "peak_memory_kind": peak.kind, **row, **_rates(row, common)})
    finally:
        for engine in engines.values():
            engine.reset()
        engines.clear()
        built.clear()
        gc.collect()
        if torch.device(settings.device).type == "cuda":
            torch.cuda.empty_cache()
    rows = sorted(flag_timings(rows), key=lambda row: (order[row["variant"]], settings.t.index(row["t"])))
    return [{column: row[column] for column in COLUMNS} for row in rows]


def _identity(spec: VariantSpec, engine, compiled: bool) -> dict:
    model = getattr(engine, "model", None)
    return {"parameters": 0 if model is None else sum(p.numel() for p in model.parameters()), "setting": spec.setting,
            "backbone": "none" if spec.config is None else spec.config.backbone,
            "backbone_stage": "none" if spec.config is None else spec.config.backbone_stage,
            "weights": spec.weights, "compiled": compiled, "timing_mode": TIMING_MODES[is_exact(engine)]}


def _rates(row: dict, common: dict) -> dict:
    """Achieved GFLOP/s of a step and its fraction of the convolution peak (None without a FLOP count)."""
    gflops, conv_peak = row["gflops_per_frame"], common["conv_peak_gflops_per_second"]
    if not gflops or not row["seconds_per_frame"]:
        return {"achieved_gflops_per_second": None, "fraction_of_conv_peak": None}
    achieved = gflops / row["seconds_per_frame"]
    return {"achieved_gflops_per_second": achieved, "fraction_of_conv_peak": achieved / conv_peak if conv_peak else None}
