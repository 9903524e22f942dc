"""CLI: python -m pipelines.data.synthetic --out DIR --preset {smoke,default} --seed N [--set key=value]."""

from __future__ import annotations

import argparse
import logging

from pipelines.common.cli import run_cli
from pipelines.data.synthetic.generator import generate
from pipelines.data.synthetic.presets import PRESETS, get_preset

log = logging.getLogger("gvos.synthetic")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.data.synthetic", description=__doc__)
    parser.add_argument("--out", required=True, help="dataset root to create (DAVIS/, YouTubeVOS/, COCO/ inside)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="size of the set: smoke (tests, minutes) or default")
    parser.add_argument("--seed", type=int, default=0, help="the same seed writes the same files")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a preset field, e.g. --set frames=32 --set object_area=0.1,0.25")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    preset = get_preset(args.preset, overrides)
    summary = generate(args.out, preset, args.seed, overwrite=args.overwrite, progress=not args.quiet)
    davis_val = summary["davis"]["val"]
    log.info("wrote %s in %.1f s: DAVIS val %d videos / %d objects (copy-first-frame mean IoU %.1f)",
             args.out, summary["seconds"], davis_val["videos"], davis_val["objects"],
             100 * davis_val["copy_first_frame_iou"])
    return 0


if __name__ == "__main__":
    run_cli(main)
