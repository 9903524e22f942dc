"""Side-by-side timing of our evaluator against the official davis2017-evaluation.

    python -m pipelines.evaluation.bench --gt DAVIS_ROOT --pred PRED_DIR \\
        --official-python /tmp/refvenv/bin/python --official-dir CLONE_OF_davis2017-evaluation \\
        [--split val] [--repeats 3] [--scale 1] [--workers 2]

Both are run as whole command lines (interpreter start and imports included), alternating, each
``--repeats`` times; prints every wall time, the medians and their ratio, and checks that both
CSV files are byte-identical. ``--scale N`` evaluates N linked copies of every sequence (a larger
set from the same files). The official tool is only run, never imported.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.cli import run_cli
from pipelines.evaluation.davis import read_sequence_list
from pipelines.files import DataError

REPO_ROOT = Path(__file__).resolve().parents[2]


def scaled_copy(gt_root: Path, pred_root: Path, split: str, scale: int, work: Path) -> tuple[Path, Path]:
    """A DAVIS root and prediction folder with ``scale`` symlinked copies of every sequence."""
    names = read_sequence_list(gt_root, "2017", split)
    gt_out, pred_out = work / "gt", work / "pred"
    listing = []
    for name in names:
        for copy in range(scale):
            alias = name if scale == 1 else f"{name}-x{copy}"
            listing.append(alias)
            for sub in ("Annotations/480p", "JPEGImages/480p"):
                (gt_out / sub).mkdir(parents=True, exist_ok=True)
                os.symlink((gt_root / sub / name).resolve(), gt_out / sub / alias)
            pred_out.mkdir(exist_ok=True)
            os.symlink((pred_root / name).resolve(), pred_out / alias)
    (gt_out / "ImageSets" / "2017").mkdir(parents=True)
    (gt_out / "ImageSets" / "2017" / f"{split}.txt").write_text("\n".join(listing) + "\n")
    return gt_out, pred_out


def timed(command: list[str], cwd: Path, own_time: str) -> tuple[float, float]:
    """(wall seconds of the whole command, the seconds it reports itself via regex ``own_time``)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    found = re.search(own_time, done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds, float(found.group(1))


def report(label: str, official_runs: list[float], ours_runs: list[float]) -> float:
    official_median, ours_median = statistics.median(official_runs), statistics.median(ours_runs)
    print(f"{label}:")
    print("  official " + ", ".join(f"{t:.2f}" for t in official_runs) + f"  median {official_median:.2f}")
    print("  ours     " + ", ".join(f"{t:.2f}" for t in ours_runs) + f"  median {ours_median:.2f}")
    print(f"  speed-up (official / ours, medians): {official_median / ours_median:.1f}x")
    return official_median / ours_median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.evaluation.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--gt", required=True, type=Path)
    parser.add_argument("--pred", required=True, type=Path)
    parser.add_argument(
        "--official-python", required=True, help="python of a venv with the official's dependencies"
    )
    parser.add_argument("--official-dir", type=Path, required=True,
                        help="a clone of davisvideochallenge/davis2017-evaluation")
    parser.add_argument("--split", default="val")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    script = args.official_dir / "evaluation_method.py"
    if not script.is_file():
        raise DataError(script, "official evaluator not found")

    walls: dict[str, list[float]] = {"official": [], "ours": []}
    owns: dict[str, list[float]] = {"official": [], "ours": []}
    with tempfile.TemporaryDirectory(prefix="eval-bench-") as tmp:
        work = Path(tmp)
        gt_root, pred_root = scaled_copy(args.gt, args.pred, args.split, args.scale, work)
        for repeat in range(args.repeats):
            official_results = work / f"official-{repeat}"
            shutil.copytree(pred_root, official_results, symlinks=True)  # it writes its CSVs in there
            ours_out = work / f"ours-{repeat}"
            commands = {
                "official": (
                    [
                        args.official_python,
                        str(script),
                        "--task",
                        "semi-supervised",
                        "--set",
                        args.split,
                        "--davis_path",
                        str(gt_root),
                        "--results_path",
                        str(official_results),
                    ],
                    args.official_dir,
                    r"Total time:\s*([0-9.]+)",
                ),
                "ours": (
                    [
                        sys.executable,
                        "-m",
                        "pipelines.evaluate",
                        "--gt",
                        str(gt_root),
                        "--pred",
                        str(pred_root),
                        "--split",
                        args.split,
                        "--out",
                        str(ours_out),
                        "--workers",
                        str(args.workers),
                        "--time",
                    ],
                    REPO_ROOT,
                    r"time: ([0-9.]+) s",
                ),
            }
            order = ["official", "ours"] if repeat % 2 == 0 else ["ours", "official"]
            for name in order:
                wall, own = timed(*commands[name])
                walls[name].append(wall)
                owns[name].append(own)
            for csv_name in (f"global_results-{args.split}.csv", f"per-sequence_results-{args.split}.csv"):
                if (official_results / csv_name).read_bytes() != (ours_out / csv_name).read_bytes():
                    print(f"MISMATCH: {csv_name} differs from the official output (run {repeat})")
                    return 1
        n_frames = sum(len(list(p.glob("*.png"))) - 2 for p in (gt_root / "Annotations" / "480p").iterdir())
    print(
        f"{len(walls['ours'])} alternating runs each; sequences x{args.scale}, {n_frames} evaluated frames; "
        f"ours with {args.workers} workers; CSV files byte-identical in every run"
    )
    report("whole command, wall clock (s)", walls["official"], walls["ours"])
    report(
        "own timers: official 'Total time' (after its imports) vs our evaluation time (s)",
        owns["official"],
        owns["ours"],
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
