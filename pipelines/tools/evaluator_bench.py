"""Side-by-side timing of our evaluator, vos-benchmark and the official davis2017-evaluation.

    python -m pipelines.tools.evaluator_bench --gt DAVIS_ROOT --pred PRED_DIR [--workers 2] [--repeats 3] \\
        [--scale 1] [--split val] [--official-python PY --official-dir CLONE_OF_davis2017-evaluation]

Each tool runs as a whole command line (interpreter start and imports included), in turn, ``--repeats``
times; prints every wall time, the medians and the ratios. ours and vos-benchmark run with ``--workers``
processes; the official tool is single-process and runs only when ``--official-python`` (a venv with
its dependencies) and ``--official-dir`` (a clone of it) are given; it is only run, never imported, and
its CSV files must be byte-identical to ours. ``--scale N`` evaluates N linked copies of every sequence
(a larger set from the same files). vos-benchmark comes with the dev extra (``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError
from pipelines.evaluation.davis import read_sequence_list

REPO_ROOT = Path(__file__).resolve().parents[2]
VOS_BENCHMARK_SCRIPT = (
    "import sys, time; from vos_benchmark.benchmark import benchmark; start = time.perf_counter(); "
    "benchmark([sys.argv[1]], [sys.argv[2]], strict=False, num_processes=int(sys.argv[3]), verbose=False); "
    "print(f'vos-benchmark time: {time.perf_counter() - start:.3f} s')"
)


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


def timed(command: list[str], cwd: Path) -> float:
    """Wall seconds of the whole command; RuntimeError with its output if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def linked_predictions(pred_root: Path, where: Path) -> Path:
    """Linked copy of the prediction folders (vos-benchmark writes results.csv into its input; the
    official tool writes its CSVs into the results folder)."""
    shutil.copytree(pred_root, where, symlinks=True)
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tools.evaluator_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gt", required=True, type=Path, help="DAVIS root")
    parser.add_argument("--pred", required=True, type=Path, help="prediction folder")
    parser.add_argument("--official-python", help="python of a venv with the official evaluator's dependencies")
    parser.add_argument("--official-dir", type=Path, help="a clone of davisvideochallenge/davis2017-evaluation")
    parser.add_argument("--split", default="val", help="the DAVIS split evaluated")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each evaluator (the median is reported)")
    parser.add_argument("--scale", type=int, default=1, help="evaluate N linked copies of every sequence (a larger workload)")
    parser.add_argument("--workers", type=int, default=2, help="processes of our evaluator")
    args = parser.parse_args(argv)
    official = bool(args.official_python or args.official_dir)
    if official and not (args.official_python and args.official_dir):
        raise ValueError("--official-python and --official-dir go together")
    if official:  # the official tool runs in its own folder: absolute paths
        args.official_dir = args.official_dir.resolve()
        if Path(args.official_python).exists():
            args.official_python = str(Path(args.official_python).absolute())
    script = args.official_dir / "evaluation_method.py" if official else None
    if official and not script.is_file():
        raise DataError(script, "official evaluator not found")
    try:
        import vos_benchmark  # noqa: F401
    except ImportError:
        raise ValueError("vos-benchmark is not installed: pip install -e '.[dev]'") from None

    walls: dict[str, list[float]] = {"ours": [], "vos-benchmark": []} | ({"official": []} if official else {})
    with tempfile.TemporaryDirectory(prefix="eval-bench-") as tmp:
        work = Path(tmp)
        gt_root, pred_root = scaled_copy(args.gt, args.pred, args.split, args.scale, work)
        for repeat in range(args.repeats):
            commands = {
                "ours": [sys.executable, "-m", "pipelines.evaluate", "--gt", str(gt_root), "--pred", str(pred_root),
                         "--split", args.split, "--out", str(work / f"ours-{repeat}"), "--workers", str(args.workers)],
                "vos-benchmark": [sys.executable, "-c", VOS_BENCHMARK_SCRIPT, str(gt_root / "Annotations" / "480p"),
                                  str(linked_predictions(pred_root, work / f"vos-{repeat}")), str(args.workers)],
            }
            if official:
                commands["official"] = [args.official_python, str(script), "--task", "semi-supervised", "--set",
                                        args.split, "--davis_path", str(gt_root), "--results_path",
                                        str(linked_predictions(pred_root, work / f"official-{repeat}"))]
            order = list(commands)[repeat % len(commands):] + list(commands)[:repeat % len(commands)]
            for name in order:
                cwd = args.official_dir if name == "official" else REPO_ROOT
                walls[name].append(timed(commands[name], cwd))
            if official:
                for csv_name in (f"global_results-{args.split}.csv", f"per-sequence_results-{args.split}.csv"):
                    ours_csv = (work / f"ours-{repeat}" / csv_name).read_bytes()
                    if (work / f"official-{repeat}" / csv_name).read_bytes() != ours_csv:
                        print(f"MISMATCH: {csv_name} differs from the official output (run {repeat})")
                        return 1
        n_frames = sum(len(list(p.glob("*.png"))) - 2 for p in (gt_root / "Annotations" / "480p").iterdir())
    print(f"{args.repeats} runs each, in rotating order; sequences x{args.scale}, {n_frames} evaluated frames; "
          f"ours and vos-benchmark with {args.workers} processes, the official with one"
          + ("; CSV files byte-identical to the official in every run" if official else ""))
    medians = {name: statistics.median(times) for name, times in walls.items()}
    for name, times in walls.items():
        print(f"  {name:<14}" + ", ".join(f"{t:.2f}" for t in times) + f"   median {medians[name]:.2f} s")
    for name in medians:
        if name != "ours":
            print(f"  {name} / ours (medians): {medians[name] / medians['ours']:.2f}x")
    return 0


if __name__ == "__main__":
    run_cli(main)
