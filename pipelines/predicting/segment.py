"""A video segmented by an inference engine, one frame at a time, and a split written as palette PNGs
``<folder>/<sequence>/<frame>.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from pipelines.common.cli import progress_bar
from pipelines.common.files import DataError, inside_root
from pipelines.data.masks import VOID_ID, write_mask
from pipelines.experiment import datasets


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


def write_predictions(engine, reader, folder: Path, dataset: str, with_truth: bool = False) -> None:
    """Every video of ``reader`` segmented by ``engine`` as palette PNGs ``folder/<sequence>/<frame>.png``."""
    write_predictions_together([engine], reader, [folder], dataset, [with_truth])


def write_predictions_together(engines: list, reader, folders: list[Path], dataset: str,
                               with_truth: list[bool]) -> None:
    """``write_predictions`` for several engines at once, frame by frame in lockstep, each into its own
    folder: engines sharing a ``methods.inference.QueryCache`` encode each frame's query once."""
    names = [getattr(e, "intervention", None) and e.intervention.name for e in engines]
    desc = f"predict {dataset}" + (f" ({', '.join(n for n in names if n)})" if any(names) else "")
    merge = datasets.get(dataset).single_object
    with torch.inference_mode():
        for name in progress_bar(reader.sequences, desc=desc, unit="video"):
            video = reader.open_video(name)  # frames read one at a time: memory bounded in the video's length
            targets = [inside_root(folder, name, "sequence") for folder in folders]
            streams = [segment_frames(engine, video, merge_objects=merge, with_truth=truth)
                       for engine, truth in zip(engines, with_truth, strict=True)]
            for frame_name, *labels in zip(video.frame_names, *streams, strict=True):
                for target, label in zip(targets, labels, strict=True):
                    write_mask(inside_root(target, f"{frame_name}.png", "frame"), label)
