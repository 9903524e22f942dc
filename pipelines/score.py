"""Score one run's predictions on its dataset (the workflow's evaluate rule): ``global.csv`` (one row: J&F
and every registered metric's statistics in percent, the bootstrap 95% interval of J&F over objects,
YouTube-VOS seen / unseen / overall) and ``per_object.csv`` (one row per object), each row carrying the
run's identity and provenance.

    python -m pipelines.score --config CFG --dataset davis2017 --gt ROOT --pred PRED_DIR --variant gvos_scm \
        --stage full --seed 0 [--run-dir RUN_DIR] --out evaluations/gvos_scm/full/seed0/davis2017

The evaluator is the dataset's (pipelines.experiment.datasets); its official-format command line is
``python -m pipelines.evaluate``. Columns: results/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import DataError, check_output_folder
from pipelines.evaluation.metrics import HEADLINE
from pipelines.experiment import datasets
from pipelines.tables.scores import score_run, write_csv


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.score", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="the effective config (provenance, bootstrap settings)")
    parser.add_argument("--dataset", required=True, choices=datasets.names(), help="the registered dataset --gt holds")
    parser.add_argument("--gt", required=True, help="dataset root")
    parser.add_argument("--pred", required=True, help="prediction folder <sequence>/<frame>.png")
    parser.add_argument("--split", help="default: the dataset's scored split (val for DAVIS, valid for YouTube-VOS)")
    parser.add_argument("--variant", required=True, help="the run's variant (a column of the tables)")
    parser.add_argument("--stage", required=True, help="the run's stage (pretrain_only, main_only, full; none for a baseline)")
    parser.add_argument("--seed", required=True, type=int, help="the run's seed")
    parser.add_argument("--workers", type=int, default=2, help="evaluator processes")
    parser.add_argument("--run-dir", type=Path, help="the run folder of the scored checkpoint (none for a baseline)")
    parser.add_argument("--out", required=True, help="folder for global.csv and per_object.csv")
    args = parser.parse_args(argv)
    if args.split is None:
        args.split = datasets.get(args.dataset).split("val")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config)
    pred = Path(args.pred)
    if not pred.is_dir():
        raise DataError(pred, "prediction folder does not exist")
    out = check_output_folder(args.out, inputs=[args.pred, args.gt], replace=False)
    objects, row = score_run(config, args.dataset, Path(args.gt), pred, args.split, args.workers, args.variant,
                             args.stage, args.seed, args.run_dir)
    write_csv(objects, out / "per_object.csv")
    write_csv(pd.DataFrame([row]), out / "global.csv")
    print(f"{out}: J&F {row[HEADLINE]:.1f} [{row['JF_ci_low']:.1f}, {row['JF_ci_high']:.1f}] "
          f"over {row['n_objects']} objects")
    return 0


if __name__ == "__main__":
    run_cli(main)
