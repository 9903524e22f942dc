"""Evaluate VOS predictions: DAVIS 2016/2017 semi-supervised (identical to the official
davis2017-evaluation) and YouTube-VOS-style seen/unseen splits.

    python -m pipelines.evaluate --gt DAVIS_ROOT --pred PRED_DIR --split val --out OUT_DIR \\
        [--year 2017|2016] [--dataset davis|youtubevos] [--workers 2] [--time]

writes OUT_DIR/global_results-<split>.csv and OUT_DIR/per-sequence_results-<split>.csv in the
official format. The Python API (``evaluate_davis``, ``evaluate_youtubevos``) returns an
``EvalResult`` of pandas frames. Protocol details: pipelines/evaluation/*.py module docstrings.
Side-by-side timing against the official evaluator: ``python -m pipelines.tools.evaluator_bench``.
"""

from __future__ import annotations

import argparse

from pipelines.common.cli import run_cli
from pipelines.common.files import check_output_folder
from pipelines.evaluation.davis import evaluate_davis
from pipelines.evaluation.result import EvalResult
from pipelines.evaluation.youtubevos import evaluate_youtubevos
from pipelines.experiment.datasets import LAYOUTS

__all__ = ["EvalResult", "evaluate_davis", "evaluate_youtubevos", "main"]

DEFAULT_SPLIT = {name: layout.splits["val"] for name, layout in LAYOUTS.items()}
"""Layout -> the split scored when --split is not given."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--gt", required=True, help="dataset root (DAVIS root, or YouTube-VOS root)")
    parser.add_argument("--pred", required=True, help="predictions: PRED/<sequence>/<frame>.png palette PNGs")
    parser.add_argument("--out", required=True, help="folder for the two CSV files")
    parser.add_argument("--dataset", choices=sorted(DEFAULT_SPLIT), default="davis", help="the layout of --gt")
    parser.add_argument(
        "--split", default=None, help="split name (default: val for DAVIS, valid for YouTube-VOS)"
    )
    parser.add_argument(
        "--year", choices=["2017", "2016"], default="2017", help="DAVIS year (2016: single object)"
    )
    parser.add_argument("--resolution", default="480p", help="DAVIS annotation resolution folder")
    parser.add_argument(
        "--gt-split", default="valid_gt", help="YouTube-VOS folder with all ground-truth frames"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (1: no multiprocessing)")
    parser.add_argument("--time", action="store_true", help="print seconds and object-frames per second")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    split = args.split or DEFAULT_SPLIT[args.dataset]
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    check_output_folder(args.out, inputs=[args.gt, args.pred], replace=False)
    if args.dataset == "davis":
        result = evaluate_davis(
            args.gt, args.pred, split=split, year=args.year, workers=args.workers, resolution=args.resolution
        )
    else:
        result = evaluate_youtubevos(
            args.gt, args.pred, split=split, gt_split=args.gt_split, workers=args.workers
        )
    global_path, sequence_path = result.write_csvs(args.out)
    print(result.global_.to_string(index=False))
    print(f"wrote {global_path} and {sequence_path}")
    if args.time:
        rate = result.object_frames / result.seconds if result.seconds > 0 else float("inf")
        print(
            f"time: {result.seconds:.3f} s for {result.object_frames} object-frames "
            f"({rate:.0f} object-frames/s, {args.workers} workers)"
        )
    return 0


if __name__ == "__main__":
    run_cli(main)
