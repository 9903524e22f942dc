"""Training speed of two checkouts side by side: the same stage, config and data, runs alternating
old / new so that machine load hits both alike; prints seconds per iteration of each run and the
ratio of the medians.

    python -m pipelines.tools.compare_checkouts --old ../old-checkout --new . \\
        --data data/synthetic --iterations 40 --rounds 4

The old checkout is any commit of this project (``git worktree add ../old-checkout <commit>``) with
its own ``config/config.yaml``; both train with one thread on the CPU. Timing comes from each run's
``loss.csv`` (``elapsed_s`` between iteration 10 and the last), so start-up and the first, slower
iterations are left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from pipelines.experiment import stages

FIRST_TIMED_ITERATION = 10


PRECISIONS = ("float32", "amp", "config")
"""float32 in both; autocast in both (bfloat16 on the CPU); or each checkout's own ``train.amp`` as its
default config has it (the old default's bfloat16 against the new default's ``auto``)."""


def write_config(repo: Path, data: Path, iterations: int, path: Path, precision: str = "float32") -> Path:
    """The checkout's own default config, pointed at ``data`` and cut to ``iterations`` per stage, in
    ``precision`` (checkouts before ``train.amp`` existed train in float32 anyway)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    amp = precision == "amp"
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    config["data"].update(synthetic=None, davis=str(data / "DAVIS"), youtubevos=str(data / "YouTubeVOS"),
                          coco=str(data / "COCO"))
    config["train"].update(log_every=FIRST_TIMED_ITERATION, checkpoint_every=10 * iterations)
    if precision != "config" and ("amp" in config["train"] or amp):
        config["train"]["amp"] = amp
    if "threads" in config["train"]:  # older checkouts: threads and device lived in the train section
        config["train"].update(threads=1, device="cpu")
    for schedule in stages.SCHEDULES:
        config["train"][schedule]["iterations"] = iterations
    path.write_text(yaml.safe_dump(config))
    return path


def checkout_env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo)}


def one_cpu_thread_flags(repo: Path) -> list[str]:
    """The flags that pin a checkout's training to one CPU thread; older checkouts have no such flags
    and take threads and device from the config (see write_config)."""
    help_text = subprocess.run([sys.executable, "-m", "pipelines.train", "--help"], cwd=repo, env=checkout_env(repo),
                               capture_output=True, text=True).stdout
    return ["--threads", "1", "--device", "cpu"] if "--threads" in help_text else []


def stage_name(repo: Path, schedule: str) -> str:
    """The checkout's ``--stage`` for training ``schedule`` from scratch: older checkouts named the stage
    by its schedule (``main``), newer ones by the experiment's stage (``main_only``)."""
    help_text = subprocess.run([sys.executable, "-m", "pipelines.train", "--help"], cwd=repo, env=checkout_env(repo),
                               capture_output=True, text=True).stdout
    stage = stages.from_scratch(schedule).name
    return stage if stage in help_text else schedule


def seconds_per_iteration(repo: Path, config: Path, flags: list[str], variant: str, stage: str,
                          out: Path) -> float:
    command = [sys.executable, "-m", "pipelines.train", "--config", str(config), "--variant", variant,
               "--stage", stage, "--out", str(out), *flags]
    subprocess.run(command, cwd=repo, env=checkout_env(repo), check=True, capture_output=True)
    loss = pd.read_csv(out / "loss.csv").set_index("iteration")
    last = int(loss.index.max())
    return float(loss.loc[last, "elapsed_s"] - loss.loc[FIRST_TIMED_ITERATION, "elapsed_s"]) / (
        last - FIRST_TIMED_ITERATION)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tools.compare_checkouts",
                                     description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--old", type=Path, required=True, help="the old checkout (a git worktree)")
    parser.add_argument("--new", type=Path, default=Path("."), help="the new checkout (default: this one)")
    parser.add_argument("--data", type=Path, default=Path("data/synthetic"), help="synthetic data root")
    parser.add_argument("--variant", default="gvos_scm", help="the variant trained in both checkouts")
    parser.add_argument("--stage", default="main", choices=stages.SCHEDULES, help="the schedule trained from scratch")
    parser.add_argument("--iterations", type=int, default=40, help="iterations a run (the first few are not timed)")
    parser.add_argument("--rounds", type=int, default=4, help="runs per checkout, alternating old and new")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32",
                        help="float32 in both (the default), autocast in both, or config: each checkout's own train.amp")
    args = parser.parse_args(argv)
    if args.iterations <= FIRST_TIMED_ITERATION:
        parser.error(f"--iterations must exceed {FIRST_TIMED_ITERATION} (the untimed start)")
    data = args.data.resolve()
    if not (data / "DAVIS").is_dir():
        parser.error(f"{data}: no DAVIS folder (generate the synthetic data first)")
    times: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="gvos-compare-") as tmp:
        work = Path(tmp)
        checkouts = {}
        for name, repo in (("old", args.old.resolve()), ("new", args.new.resolve())):
            config = write_config(repo, data, args.iterations, work / f"{name}.yaml", args.precision)
            checkouts[name] = (repo, config, one_cpu_thread_flags(repo), stage_name(repo, args.stage))
        for round_index in range(args.rounds):
            order = ("old", "new") if round_index % 2 == 0 else ("new", "old")
            for name in order:
                repo, config, flags, stage = checkouts[name]
                value = seconds_per_iteration(repo, config, flags, args.variant, stage,
                                              work / f"{name}{round_index}")
                times[name].append(value)
                print(f"round {round_index} {name}: {value:.3f} s/iteration", flush=True)
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"{args.variant}/{args.stage} ({args.precision}): old {old:.3f} s/iteration, new {new:.3f} "
          f"(medians of {args.rounds}); "
          f"iterations per second new / old = {old / new:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
