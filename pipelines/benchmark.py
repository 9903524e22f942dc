"""One benchmark harness for every variant: seconds per frame and memory versus t (inference), and
iterations per second (training).

    python -m pipelines.benchmark --variants gvos_scm,stm_read,no_scm --backbone resnet50 \\
        --size 480x854 --t 1,10,100,1000 --out results/
    python -m pipelines.benchmark train --config config/config.yaml --variants gvos_scm --stages main \\
        --iterations 10 --out results/          (pipelines.benchmarking.training: results/train_speed.csv)

Every variant is timed in this one process on the same synthetic frame and mask
(``benchmarking.synthetic_input``) at the same resolution, with randomly initialised weights unless
``--checkpoint-dir`` holds trained ones (speed does not depend on training). For each variant and t the
memory is filled to t frames with one repeated encoded frame (``benchmarking.engine_state``), then
warm-up and timed ``engine.step`` calls run round robin over every (variant, t), each on a new frame
shared by the round and each starting from its t-frame memory (``benchmarking.runner``); a timing whose
sanity checks fail is flagged in its row (``benchmarking.flags``). Writes ``OUT/speed.csv`` and ``OUT/memory_vs_t.csv`` (the same
tidy rows, one per variant x t) and prints the paper's targets computed from them
(``benchmarking.summary``). Refuses, before allocating, t values whose memory would not fit.

Unless ``--no-breakdown``, a second pass times each section of the step (query encoder, readout,
decoder, memorize) and counts its FLOPs (``benchmarking.breakdown``): the FLOP ratio of two variants
is the same on every machine, the time ratio depends on how fast the machine runs the STM read's
matrix products relative to the convolutions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from methods.variants import catalogue, is_learned, variant_defs
from pipelines.benchmarking.runner import COLUMNS, run_benchmark
from pipelines.benchmarking.settings import DEFAULTS as BENCHMARK_DEFAULTS
from pipelines.benchmarking.settings import BenchmarkSettings, merge
from pipelines.benchmarking.summary import results_table, target_lines
from pipelines.benchmarking.training import COLUMNS as TRAIN_COLUMNS
from pipelines.benchmarking.training import TrainBenchSettings, run_training_benchmark, summary_lines
from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import atomic_save, check_output_folder
from pipelines.common.runtime import resolve_device, set_threads
from pipelines.experiment.stages import SCHEDULES

OUTPUT_FILES = ("speed.csv", "memory_vs_t.csv")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.benchmark", description=__doc__.split("\n\n")[0],
                                     epilog="subcommand: python -m pipelines.benchmark train --help (training "
                                            "iterations per second and where their time goes)")
    parser.add_argument("--variants", help="comma-separated variant names (methods.variants.VARIANTS)")
    parser.add_argument("--peers", help="comma-separated other methods to time beside them (methods.peers, e.g. "
                                        "cutie_small,cutie_base; installed apart: make peers)")
    parser.add_argument("--backbone", help="override the model section's backbone, e.g. resnet50")
    parser.add_argument("--size", help="HEIGHTxWIDTH of the synthetic frame, e.g. 480x854")
    parser.add_argument("--t", help="comma-separated memory sizes in frames, e.g. 1,10,100,1000")
    parser.add_argument("--out", required=True, help="folder for speed.csv and memory_vs_t.csv")
    parser.add_argument("--config", help="YAML config: model section and benchmark section give defaults")
    parser.add_argument("--checkpoint-dir", help="load DIR/<variant>/checkpoint.pt where present")
    parser.add_argument("--device", help="auto, cpu or cuda")
    parser.add_argument("--repeats", type=int, help="timed steps per variant and t (median reported)")
    parser.add_argument("--warmup", type=int, help="untimed steps before the timed ones")
    parser.add_argument("--objects", type=int, help="objects in the synthetic mask (default 1)")
    parser.add_argument("--amp", nargs="?", const="on", choices=["auto", "on", "off"], default=None,
                        help="autocast: float16 on CUDA, bfloat16 on the CPU; auto: where the hardware runs it "
                             "natively (bare --amp: on; default: the config's benchmark.amp, else off)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--breakdown", action=argparse.BooleanOptionalAction, default=None,
                        help="also time each section of the step (query encoder, readout, decoder, memorize) "
                             "in a second pass and count FLOPs (default: on)")
    parser.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=None,
                        help="CUDA: allow TF32 in both convolutions and matrix products (--no-tf32: in neither; "
                             "default: PyTorch's, TF32 convolutions and IEEE float32 matrix products)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile the network's shape-stable parts (pipelines.common.compiling); the first "
                             "step's time, compiling included, is the first_step_seconds column (default: the "
                             "config's benchmark.compile, else off)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> BenchmarkSettings:
    cli = {key: getattr(args, key) for key in
           ("variants", "peers", "backbone", "size", "t", "repeats", "warmup", "device", "objects", "amp", "threads",
            "breakdown", "tf32", "compile")}
    return merge(load_config(args.config), cli)


def write_rows(rows: list[dict], out_dir: str | Path) -> list[Path]:
    """Write the rows to every file of ``OUTPUT_FILES`` under ``out_dir`` (temp file + rename each)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    paths = [Path(out_dir) / name for name in OUTPUT_FILES]
    for path in paths:
        atomic_save(path, lambda tmp: table.to_csv(tmp, index=False))
    return paths


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.benchmark train",
                                     description="Training iterations per second and where their time goes.")
    parser.add_argument("--config", required=True,
                        help="YAML config: data, model and train sections; benchmark.training and the learned "
                             "variants of benchmark.variants say what is timed")
    parser.add_argument("--variants", help="comma-separated variant names (default: the config's learned "
                                           "benchmark.variants)")
    parser.add_argument("--stages", help=f"comma-separated schedules of {', '.join(SCHEDULES)}, each timed from "
                                          "scratch (default: benchmark.training.stages)")
    parser.add_argument("--iterations", type=int, help="timed iterations per variant and schedule "
                                                       "(default: benchmark.training.iterations)")
    parser.add_argument("--warmup", type=int, help="untimed iterations before them (default: benchmark.training.warmup)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the training runs (auto: CUDA if available)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", required=True, help="folder for train_speed.csv")
    return parser.parse_args(argv)


def train_settings(args: argparse.Namespace, config: dict) -> TrainBenchSettings:
    """What the training benchmark times: the flags given, else the config's benchmark section, else the
    schema's defaults."""
    section = {**BENCHMARK_DEFAULTS, **(config.get("benchmark") or {})}
    training = {**BENCHMARK_DEFAULTS["training"], **(section.get("training") or {})}
    defs = variant_defs(config)
    variants = ([v for v in args.variants.split(",") if v] if args.variants is not None
                else [v for v in section["variants"] if v in catalogue(defs) and is_learned(v, defs)])
    for variant in variants:
        if variant not in catalogue(defs) or not is_learned(variant, defs):
            raise ValueError(f"--variants: {variant!r} is not a learned variant ({', '.join(catalogue(defs))})")
    stages = [s for s in args.stages.split(",") if s] if args.stages is not None else list(training["stages"])
    bad = [s for s in stages if s not in SCHEDULES]
    if bad or not stages:
        raise ValueError(f"--stages: expected some of {', '.join(SCHEDULES)}, got {stages}")
    iterations = args.iterations if args.iterations is not None else int(training["iterations"])
    warmup = args.warmup if args.warmup is not None else int(training["warmup"])
    if iterations < 1 or warmup < 0:
        raise ValueError("--iterations must be >= 1 and --warmup >= 0")
    return TrainBenchSettings(variants, stages, iterations, warmup, str(resolve_device(args.device)))


def train_main(argv: list[str]) -> int:
    args = parse_train_args(argv)
    config = load_config(args.config)
    settings = train_settings(args, config)
    out = check_output_folder(args.out, inputs=[args.config], replace=False)
    set_threads(args.threads)
    rows = run_training_benchmark(config, Path(args.config), settings)
    path = out / "train_speed.csv"
    table = pd.DataFrame(rows, columns=TRAIN_COLUMNS)
    atomic_save(path, lambda tmp: table.to_csv(tmp, index=False))
    print("\n".join(summary_lines(rows)))
    print(f"\nwrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        return train_main(argv[1:])
    args = parse_args(argv)
    settings = settings_from_args(args)
    out_dir = check_output_folder(args.out, inputs=[args.config, args.checkpoint_dir], replace=False)
    rows = run_benchmark(settings, args.checkpoint_dir, progress=not args.quiet)
    paths = write_rows(rows, out_dir)
    print(results_table(rows))
    print(f"\ntargets (device {rows[0]['device']}, {settings.height}x{settings.width}, threads {rows[0]['threads']}):")
    for line in target_lines(rows):
        print(f"  {line}")
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
