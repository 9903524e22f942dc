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
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from pipelines.cli import progress_bar, run_cli
from pipelines.config_file import load_config
from pipelines.data.masks import VOID_ID, write_mask
from pipelines.experiment import datasets
from pipelines.experiment.stages import STAGES
from pipelines.files import DataError, OutputFolder, inside_root
from pipelines.runtime import resolve_device, set_threads

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
    from methods import inference, variants
    from methods.checkpoint import load_model

    if args.checkpoint is None:
        defs = variants.variant_defs(config)
        if variants.is_learned(args.variant, defs):
            raise ValueError(f"variant {args.variant!r} is learned: pass --checkpoint (and --variant to check it)")
        return inference.build_engine(args.variant)
    model, ckpt = load_model(args.checkpoint, device, variant=args.variant, stage=args.stage, seed=args.seed,
                             config_hash=args.config_hash)
    amp = inference.resolve_amp(args.amp, device)
    log.info("%s: predicting in %s", args.checkpoint, inference.precision_name(amp, device))
    engine = inference.InferenceEngine(model, device=device, amp=amp)
    if args.compile:
        from pipelines.compiling import compile_network

        compile_network(engine.model, device, "predict.compile")
    return engine


def _image_tensor(image: np.ndarray) -> torch.Tensor:
    """``uint8 (H, W, 3)`` -> ``float32 (3, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


def segment_frames(engine, video, merge_objects: bool = False, with_truth: bool = False) -> Iterator[np.ndarray]:
    """Run the engine over one video (``VideoSample`` or ``VideoStream``) and yield each frame's
    ``uint8 (H, W)`` object-id labels in order, reading one frame at a time.

    At each frame listed in ``video.given`` the objects first appearing there are introduced with
    their given masks, and the given pixels are copied into the output of that frame. ``with_truth``:
    every step also gets the previous frame's ground truth (``previous_labels``, for an oracle
    intervention; the video must hold every frame's annotation).
    """
    if with_truth and not video.has_truth:
        raise DataError(None, f"{video.name}: an oracle intervention needs every frame's annotation")
    engine.reset()
    objects = dict(video.objects)
    given = {t: np.where(m == VOID_ID, 0, m).astype(np.uint8) for t, m in video.given.items()}
    if merge_objects:  # DAVIS-2016: one foreground object
        given = {t: (m > 0).astype(np.uint8) for t, m in given.items()}
        objects = {1: min(objects.values())} if objects else {}
    tracking = False
    for t in range(video.num_frames):
        new = sorted(obj for obj, first in objects.items() if first == t)
        if not new and not tracking:
            yield np.zeros(video.frame_shape, dtype=np.uint8)  # nothing to segment yet
            continue
        image = _image_tensor(video.image(t))
        if new:
            if t not in given:
                raise DataError(None, f"{video.name}: objects {new} start at frame {t} without an annotation")
            introduced = np.where(np.isin(given[t], new), given[t], 0)
            probs = engine.step(image, mask=torch.from_numpy(introduced).long(), objects=new)
            tracking = True
        elif with_truth:
            previous = video.truth(t - 1)
            truth = np.where(previous == VOID_ID, 0, previous)
            truth = (truth > 0).astype(np.uint8) if merge_objects else truth
            probs = engine.step(image, previous_labels=torch.from_numpy(truth.astype(np.int64)))
        else:
            probs = engine.step(image)
        ids = np.asarray([0, *engine.object_ids], dtype=np.uint8)
        labels = ids[np.argmax(probs.cpu().numpy(), axis=0)]  # numpy: 10x faster than torch over dim 0
        if new:  # the given masks are exact for the objects they introduce
            labels = np.where(np.isin(labels, new), 0, labels)
            labels = np.where(introduced > 0, introduced, labels)
        yield labels.astype(np.uint8, copy=False)


def segment_video(engine, video, merge_objects: bool = False, with_truth: bool = False) -> np.ndarray:
    """``segment_frames`` gathered: ``uint8 (T, H, W)`` object-id labels of the whole video."""
    return np.stack(list(segment_frames(engine, video, merge_objects, with_truth)))


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
    parser.add_argument("--dataset", required=True, choices=datasets.names())
    parser.add_argument("--split", default="val")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--amp", nargs="?", const="on", default="off", choices=("auto", "on", "off"),
                        help="mixed precision: float16 autocast on CUDA, bfloat16 on the CPU; auto: where the "
                             "hardware runs it natively (the workflow passes train.amp; bare --amp: on)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0 = torch's default); match the job's cores to avoid oversubscription")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the network's shape-stable parts (pipelines.compiling; the workflow "
                             "passes predict.compile)")


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


def write_predictions(engine, reader, folder: Path, dataset: str, with_truth: bool = False) -> None:
    """Every video of ``reader`` segmented by ``engine`` as palette PNGs ``folder/<sequence>/<frame>.png``."""
    desc = f"predict {dataset}" + (f" ({engine.intervention.name})" if getattr(engine, "intervention", None) else "")
    with torch.inference_mode():
        for name in progress_bar(reader.sequences, desc=desc, unit="video"):
            video = reader.open_video(name)  # frames read one at a time: memory bounded in the video's length
            target = inside_root(folder, name, "sequence")
            labels = segment_frames(engine, video, merge_objects=datasets.get(dataset).single_object, with_truth=with_truth)
            for frame_name, label in zip(video.frame_names, labels, strict=True):
                write_mask(inside_root(target, f"{frame_name}.png", "frame"), label)


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
