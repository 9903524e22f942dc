"""One prepared check of the GPU path, for a machine where only ``make install`` has been done.

    bash pipelines/tools/gpu_check.sh                          # one GPU, < 8 minutes: OUT = results/gpu_check
    bash pipelines/tools/gpu_check.sh --device cpu --tiny      # the same steps on the CPU at toy sizes (a test)

Steps, each a CLI of the suite run as a user would run it (its log in OUT/logs/STEP.log):

1. ``data``: the synthetic dataset (``default`` preset; ``smoke`` with --tiny) under OUT/data.
2. ``infer``: the inference benchmark, gvos_scm and stm_read, ResNet-50 at 480x854, t = 1, 10, 100,
   with autocast off and on, TF32 off and on (CUDA events, peak allocated memory; the FLOP breakdown in
   the first setting, for the STM / GCM time ratio beside the FLOP ratio).
3. ``train_speed``: the training benchmark of both variants.
4. ``train``: 200 iterations of the default config's main stage on the device, and on the CPU beside it
   (one run with --device cpu): their loss curves side by side.
5. ``torchrun``: 20 iterations under torchrun with 2 processes where 2 GPUs exist (2 gloo processes on
   the CPU), the command the workflow starts for ``resources.train.gpu: 2``.
6. ``peers``: where other methods are installed (``make peers``), the inference benchmark of gvos_scm beside
   every installed one (methods.peers) at 480x854, t = 1, 10, 100; skipped, saying so, where none is
   (with --tiny: DeAOT-T and SAM 2.1 tiny at equal pixels, at 128x224).

Writes OUT/gpu_check.csv (step, variant, setting, t, metric, value: one figure a row), OUT/loss_curves.csv
and OUT/summary.md; exit 1 when a step failed (the summary names it and its log).
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import yaml

from methods import peers
from methods.config import TOY_MODEL
from pipelines.common.cli import run_cli
from pipelines.common.files import OutputFolder
from pipelines.common.provenance import DEFAULT_CONFIG, REPO_ROOT
from pipelines.common.runtime import visible_gpus
from pipelines.experiment.stages import MAIN_ONLY

VARIANTS = ("gvos_scm", "stm_read")
CSV_COLUMNS = ["step", "variant", "setting", "t", "metric", "value"]


@dataclass(frozen=True)
class Sizes:
    """What each step runs at: the GPU check's sizes, or the CPU test's (--tiny)."""

    preset: str
    backbone: str
    frame: str
    t: str
    repeats: int
    warmup: int
    train_iterations: int
    speed_iterations: int
    torchrun_iterations: int
    model: dict = field(default_factory=dict)
    stage: dict = field(default_factory=dict)
    peers: tuple[str, ...] | None = None  # the peers timed where installed (None: every registered one)
    peers_frame: str = ""  # their frame size (the smallest Cutie's and STCN's top-k allow is larger than toy)


FULL = Sizes("default", "resnet50", "480x854", "1,10,100", repeats=5, warmup=2, train_iterations=200,
             speed_iterations=20, torchrun_iterations=20, peers_frame="480x854")
TINY = Sizes("smoke", "resnet18", "48x80", "1,3", repeats=1, warmup=1, train_iterations=4, speed_iterations=2,
             torchrun_iterations=2, model=TOY_MODEL,
             stage={"batch_size": 2, "crop": [32, 48], "max_objects": 2},
             peers=("deaot_t", "sam2.1_tiny_equal_pixels"), peers_frame="128x224")


@dataclass
class Step:
    name: str
    seconds: float
    returncode: int
    log: Path
    skipped: str = ""  # why the step did not run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bash pipelines/tools/gpu_check.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: the same steps without a GPU (with --tiny, a test)")
    parser.add_argument("--tiny", action="store_true", help="toy sizes: the CPU test of the same steps")
    parser.add_argument("--out", default="results/gpu_check", help="folder for the CSVs, summary and logs")
    parser.add_argument("--overwrite", action="store_true", help="replace an --out folder the suite did not write")
    return parser.parse_args(argv)


def file_name(label: str) -> str:
    """A step's or setting's label ("infer_amp=on,tf32=off") as a file or folder name."""
    return label.replace(",", "_").replace("=", "-")


def run_step(name: str, command: list[str], logs: Path, steps: list[Step]) -> bool:
    """Run one CLI of the suite, its output into logs/NAME.log; record how long it took and how it ended."""
    log = logs / f"{file_name(name)}.log"
    start = time.perf_counter()
    with open(log, "a") as handle:
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        code = subprocess.run(command, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT).returncode
    steps.append(Step(name, time.perf_counter() - start, code, log))
    print(f"{name}: {'ok' if code == 0 else f'FAILED (exit {code}, see {log})'} "
          f"in {steps[-1].seconds:.0f} s", flush=True)
    return code == 0


def write_config(out: Path, sizes: Sizes, data: Path, iterations: int) -> Path:
    """The default config with the generated data's roots, the main stage cut to ``iterations``."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["data"] = {"synthetic": None, "davis": str(data / "DAVIS"), "davis2016": None,
                      "youtubevos": str(data / "YouTubeVOS"), "coco": str(data / "COCO")}
    config["model"].update(copy.deepcopy(sizes.model))
    main = config["train"]["main"]
    main.update(copy.deepcopy(sizes.stage), iterations=iterations)
    main.update(holdout=0, holdout_split=None, validate_every=0)  # a speed run: no held-out check in its clock
    main["warmup"] = min(int(main.get("warmup", 0)), iterations - 1)
    config["train"]["log_every"] = 1
    config["train"]["checkpoint_every"] = iterations
    path = out / f"config_{iterations}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def inference_settings(device: str) -> list[tuple[str, list[str]]]:
    """(label, flags) of each autocast x TF32 setting; TF32 exists on CUDA only."""
    tf32 = ((False, "--no-tf32"), (True, "--tf32")) if device == "cuda" else ((False, "--no-tf32"),)
    return [(f"amp={amp},tf32={'on' if on else 'off'}", ["--amp", amp, flag])
            for amp in ("off", "on") for on, flag in tf32]


def speed_rows(folder: Path, setting: str) -> list[dict]:
    """gpu_check.csv rows of one inference benchmark: seconds per frame, peak memory, FLOPs, and the
    STM / GCM ratios of time and FLOPs at each t."""
    table = pd.read_csv(folder / "speed.csv")
    rows = []
    for row in table.itertuples(index=False):
        for metric in ("seconds_per_frame", "peak_memory_bytes", "gflops_per_frame"):
            value = getattr(row, metric, None)
            if value is not None and pd.notna(value):
                rows.append({"step": "infer", "variant": row.variant, "setting": setting, "t": int(row.t),
                             "metric": metric, "value": float(value)})
    by = table.set_index(["variant", "t"])
    for t in sorted(table["t"].unique()):
        if ("gvos_scm", t) not in by.index or ("stm_read", t) not in by.index:
            continue
        gcm, stm = by.loc[("gvos_scm", t)], by.loc[("stm_read", t)]
        rows.append({"step": "infer", "variant": "stm_read/gvos_scm", "setting": setting, "t": int(t),
                     "metric": "time_ratio", "value": float(stm["seconds_per_frame"] / gcm["seconds_per_frame"])})
        if pd.notna(stm.get("gflops_per_frame")) and pd.notna(gcm.get("gflops_per_frame")):
            rows.append({"step": "infer", "variant": "stm_read/gvos_scm", "setting": setting, "t": int(t),
                         "metric": "flop_ratio", "value": float(stm["gflops_per_frame"] / gcm["gflops_per_frame"])})
    return rows


def train_speed_rows(folder: Path) -> list[dict]:
    table = pd.read_csv(folder / "train_speed.csv")
    return [{"step": "train_speed", "variant": row.variant, "setting": f"{row.stage},{row.precision}", "t": None,
             "metric": metric, "value": float(getattr(row, metric))}
            for row in table.itertuples(index=False)
            for metric in ("seconds_per_iteration", "peak_memory_bytes") if pd.notna(getattr(row, metric))]


def loss_curves(runs: dict[str, Path]) -> pd.DataFrame:
    """iteration, then one loss column per device run (loss_cuda, loss_cpu)."""
    curves = None
    for device, folder in runs.items():
        loss = pd.read_csv(folder / "loss.csv")[["iteration", "loss"]].rename(columns={"loss": f"loss_{device}"})
        curves = loss if curves is None else curves.merge(loss, on="iteration", how="outer")
    return curves


def curve_rows(curves: pd.DataFrame, seconds: dict[str, float]) -> list[dict]:
    rows = [{"step": "train", "variant": "gvos_scm", "setting": device, "t": None, "metric": "seconds",
             "value": value} for device, value in seconds.items()]
    for column in [c for c in curves.columns if c.startswith("loss_")]:
        device = column.removeprefix("loss_")
        rows.append({"step": "train", "variant": "gvos_scm", "setting": device, "t": None, "metric": "final_loss",
                     "value": float(curves[column].dropna().iloc[-1])})
    if {"loss_cuda", "loss_cpu"} <= set(curves.columns):
        both = curves.dropna()
        rows.append({"step": "train", "variant": "gvos_scm", "setting": "cuda-cpu", "t": None,
                     "metric": "mean_abs_loss_difference", "value": float((both["loss_cuda"] - both["loss_cpu"]).abs().mean())})
    return rows


def machine_line(device: str) -> str:
    if device == "cuda" and torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"{names}; torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"CPU ({torch.get_num_threads()} threads); torch {torch.__version__}"


def summary_text(args: argparse.Namespace, steps: list[Step], table: pd.DataFrame) -> str:
    lines = [f"# GPU check ({'tiny, ' if args.tiny else ''}--device {args.device})", "",
             f"Machine: {machine_line(args.device)}", "", "| step | result | seconds | log |", "|---|---|---|---|"]
    for step in steps:
        result = f"skipped: {step.skipped}" if step.skipped else "ok" if step.returncode == 0 else f"FAILED ({step.returncode})"
        lines.append(f"| {step.name} | {result} | {step.seconds:.0f} | logs/{step.log.name} |")
    if not table.empty:
        lines += ["", "| step | variant | setting | t | metric | value |", "|---|---|---|---|---|---|"]
        for row in table.itertuples(index=False):
            t = "" if pd.isna(row.t) else int(row.t)
            lines.append(f"| {row.step} | {row.variant} | {row.setting} | {t} | {row.metric} | {row.value:.4g} |")
    return "\n".join(lines) + "\n"


def run_checks(args: argparse.Namespace, out: Path) -> tuple[list[Step], list[dict]]:
    sizes = TINY if args.tiny else FULL
    logs = out / "logs"
    logs.mkdir()
    steps: list[Step] = []
    rows: list[dict] = []
    py = sys.executable
    data = out / "data"
    if not run_step("data", [py, "-m", "pipelines.data.synthetic", "--out", str(data), "--preset", sizes.preset,
                             "--seed", "0", "--quiet"], logs, steps):
        return steps, rows
    config = write_config(out, sizes, data, sizes.train_iterations)

    for index, (setting, flags) in enumerate(inference_settings(args.device)):
        folder = out / "infer" / file_name(setting)
        command = [py, "-m", "pipelines.benchmark", "--config", str(config), "--variants", ",".join(VARIANTS),
                   "--backbone", sizes.backbone, "--size", sizes.frame, "--t", sizes.t, "--device", args.device,
                   "--repeats", str(sizes.repeats), "--warmup", str(sizes.warmup), "--quiet", "--out", str(folder),
                   *flags, "--breakdown" if index == 0 else "--no-breakdown"]
        if run_step(f"infer_{setting}", command, logs, steps):
            rows += speed_rows(folder, setting)

    folder = out / "train_speed"
    if run_step("train_speed", [py, "-m", "pipelines.benchmark", "train", "--config", str(config), "--variants",
                                ",".join(VARIANTS), "--stages", "main", "--iterations", str(sizes.speed_iterations),
                                "--warmup", str(sizes.warmup), "--device", args.device, "--out", str(folder)],
                logs, steps):
        rows += train_speed_rows(folder)

    runs, seconds = {}, {}
    for device in dict.fromkeys((args.device, "cpu")):
        folder = out / "train" / device
        if run_step(f"train_{device}", [py, "-m", "pipelines.train", "--config", str(config), "--variant", "gvos_scm",
                                        "--stage", MAIN_ONLY.name, "--seed", "0", "--device", device, "--out", str(folder)],
                    logs, steps):
            runs[device], seconds[device] = folder, steps[-1].seconds
    if runs:
        curves = loss_curves(runs)
        curves.to_csv(out / "loss_curves.csv", index=False)
        rows += curve_rows(curves, seconds)

    installed = [name for name in (sizes.peers or peers.PEERS) if peers.missing(name) is None]
    if not installed:
        steps.append(Step("peers", 0.0, 0, logs / "peers.log", skipped="no peer installed (make peers)"))
    else:
        folder = out / "infer" / "peers"
        command = [py, "-m", "pipelines.benchmark", "--config", str(config), "--variants", "gvos_scm",
                   "--peers", ",".join(installed), "--backbone", sizes.backbone, "--size", sizes.peers_frame,
                   "--t", sizes.t, "--device", args.device, "--repeats", str(sizes.repeats), "--warmup",
                   str(sizes.warmup), "--amp", "off", "--quiet", "--out", str(folder)]
        if run_step("peers", command, logs, steps):
            rows += speed_rows(folder, f"peers,{sizes.peers_frame}")

    if args.device == "cuda" and visible_gpus() < 2:
        steps.append(Step("torchrun", 0.0, 0, logs / "torchrun.log", skipped=f"{visible_gpus()} GPU visible, 2 needed"))
    else:
        torchrun_config = write_config(out, sizes, data, sizes.torchrun_iterations)
        folder = out / "train" / "torchrun"
        if run_step("torchrun", [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                 "--module", "pipelines.train", "--config", str(torchrun_config), "--variant",
                                 "gvos_scm", "--stage", MAIN_ONLY.name, "--seed", "0", "--device", args.device,
                                 "--out", str(folder)], logs, steps):
            loss = pd.read_csv(folder / "loss.csv")["loss"]
            rows.append({"step": "torchrun", "variant": "gvos_scm", "setting": f"2 processes, {args.device}",
                         "t": None, "metric": "final_loss", "value": float(loss.iloc[-1])})
    return steps, rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no GPU on this machine (nvidia-smi; or --device cpu --tiny)")
    with OutputFolder(args.out, overwrite=args.overwrite, step="gpu check") as out:
        steps, rows = run_checks(args, out)
        table = pd.DataFrame(rows, columns=CSV_COLUMNS)
        table.to_csv(out / "gpu_check.csv", index=False)
        (out / "summary.md").write_text(summary_text(args, steps, table))
    failed = [step.name for step in steps if step.returncode != 0]
    print(f"{args.out}: gpu_check.csv, loss_curves.csv, summary.md"
          + (f"; FAILED: {', '.join(failed)}" if failed else "; every step passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
