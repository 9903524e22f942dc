"""Segment every video of a split with a trained checkpoint (or the copy-first-frame baseline) and
write palette PNGs ``PRED_DIR/<sequence>/<frame>.png``, ready for pipelines.evaluate and the
official DAVIS / YouTube-VOS tools.

    python -m pipelines.predict [--config CONFIG] --checkpoint CKPT [--variant V --stage S --seed N] \
        --data ROOT --dataset NAME --split val --out PRED_DIR
    python -m pipelines.predict --variant copy_first_frame --data ROOT --dataset ... --out PRED_DIR

``ROOT`` is the dataset's own root (the folder holding ``JPEGImages``/``Annotations`` for DAVIS,
``train``/``valid`` for YouTube-VOS). DAVIS: every frame is written, frame 0 is the given mask;
a single-object dataset (``davis2016``) merges all objects into one (id 1). YouTube-VOS: each object is introduced at its
first annotated frame; frames before any object are written empty.

With ``--checkpoint``, the ``--variant``, ``--stage``, ``--seed`` and ``--config-hash`` given are the
identity the checkpoint must have (``methods.checkpoint``): a checkpoint of another run is refused.
The output folder is built beside PRED_DIR and renamed into place when complete; an existing PRED_DIR
is replaced only if this suite wrote it (or with ``--overwrite``), never if it is or holds an input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.common.files import OutputFolder
from pipelines.common.runtime import resolve_device, set_threads
from pipelines.predicting.engine import add_model_arguments, build_engine, open_dataset
from pipelines.predicting.segment import write_predictions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.predict", description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="prediction folder (replaced when complete)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if this suite did not write it")
    args = parser.parse_args(argv)
    if args.checkpoint is None and args.variant is None:
        parser.error("give --checkpoint (a trained model) or --variant (a non-learned baseline)")
    if args.checkpoint is None and (args.stage or args.seed is not None or args.config_hash):
        parser.error("--stage, --seed and --config-hash check a --checkpoint")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config)
    output = OutputFolder(args.out, inputs=[args.data, args.checkpoint, args.config], overwrite=args.overwrite, step="predict")
    device = resolve_device(args.device)
    set_threads(args.threads)
    reader = open_dataset(args.dataset, args.data, args.split)
    engine = build_engine(args, config, device)
    with output as tmp:
        write_predictions(engine, reader, tmp, args.dataset)
    print(f"{args.out}: {len(reader.sequences)} videos")
    return 0


if __name__ == "__main__":
    run_cli(main)
