"""The model that segments and the data it segments: a registered dataset's reader, the inference engine
of a checkpoint (its identity checked) or of a non-learned variant, and the command-line flags that name
them (predict and probes take the same)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from methods import inference, precision, variants
from methods.checkpoint import load_model
from pipelines.common.compiling import compile_network
from pipelines.common.files import DataError
from pipelines.experiment import datasets
from pipelines.experiment.stages import STAGES
from pipelines.training.config import TrainConfig

log = logging.getLogger("gvos.predict")


def open_dataset(dataset: str, root: Path, split: str):
    """The reader of a registered dataset's split (pipelines.experiment.datasets); ``val`` and ``valid`` both
    name the split that is scored."""
    if not root.is_dir():
        raise DataError(root, "dataset folder does not exist")
    return datasets.get(dataset).reader(root, split)


def build_engine(args: argparse.Namespace, config: dict, device: torch.device):
    """The inference engine: a checkpoint's ready model (its identity checked against the flags), or a
    non-learned variant."""
    if args.checkpoint is None:
        defs = variants.variant_defs(config)
        if variants.is_learned(args.variant, defs):
            raise ValueError(f"variant {args.variant!r} is learned: pass --checkpoint (and --variant to check it)")
        return inference.build_engine(args.variant)
    model, ckpt = load_model(args.checkpoint, device, variant=args.variant, stage=args.stage, seed=args.seed,
                             config_hash=args.config_hash)
    amp = precision.resolve_amp(args.amp or amp_setting(config), device)
    log.info("%s: predicting in %s", args.checkpoint, precision.precision_name(amp, device))
    engine = inference.InferenceEngine(model, device=device, amp=amp)
    if args.compile if args.compile is not None else bool((config.get("predict") or {}).get("compile")):
        compile_network(engine.model, device, "predict.compile")
    return engine


def amp_setting(config: dict) -> str:
    """The precision a run is predicted in: its ``train.amp`` (on / off / auto), off without a config."""
    if not config:
        return "off"
    amp = TrainConfig.from_dict(config.get("train")).amp
    return {True: "on", False: "off"}.get(amp, "auto")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that say which model segments which data, and how (shared with pipelines.probes)."""
    parser.add_argument("--config", type=Path, help="YAML config (user variant definitions)")
    parser.add_argument("--checkpoint", type=Path, help="checkpoint.pt written by pipelines.train")
    parser.add_argument("--variant", help="with --checkpoint: the variant it must hold; alone: a non-learned "
                                          "variant, e.g. copy_first_frame")
    parser.add_argument("--stage", choices=list(STAGES), help="the stage the checkpoint must be of")
    parser.add_argument("--seed", type=int, help="the seed the checkpoint must be of")
    parser.add_argument("--config-hash", help="the run hash the checkpoint must carry")
    parser.add_argument("--data", required=True, type=Path, help="dataset root")
    parser.add_argument("--dataset", required=True, choices=datasets.names(), help="the registered dataset --data holds (pipelines.experiment.datasets)")
    parser.add_argument("--split", default="val", help="the split to segment (val and valid both name the scored one)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: CUDA if available")
    parser.add_argument("--amp", nargs="?", const="on", default=None, choices=("auto", "on", "off"),
                        help="mixed precision: float16 autocast on CUDA, bfloat16 on the CPU; auto: where the "
                             "hardware runs it natively (default: the config's train.amp, off without --config; "
                             "bare --amp: on)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0 = torch's default); match the job's cores to avoid oversubscription")
    parser.add_argument("--compile", action="store_const", const=True, default=None,
                        help="torch.compile the network's shape-stable parts (pipelines.common.compiling; default: "
                             "the config's predict.compile)")


