"""Training clips: short frame sequences with per-object masks, from videos or from still images.

Items are dicts
    frames  float32 (T, 3, H, W) in [0, 1]
    masks   float32 (T, O, H, W), one binary channel per object, O = max_objects (zero padded)
    valid   bool (O,): the channel holds an object visible in the clip's first frame
    indices int64 (T,): the source frame indices (still images: all 0)
Objects absent from the first frame are never valid targets (a semi-supervised method is only given
frame 0). Every random choice comes from a numpy Generator seeded by (seed, epoch, index), or from
``dataset.rng`` when a caller sets one, so an item is reproducible without global RNG state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from pipelines.common.files import DataError
from pipelines.data.masks import VOID_ID


def max_skip_at(epoch: int, start: int = 0, step: int = 5, every: int = 20, maximum: int = 25) -> int:
    """The paper's curriculum: the maximum frame skip starts at ``start`` and grows by ``step`` every
    ``every`` epochs, up to ``maximum``."""
    if every <= 0:
        raise ValueError("every must be positive")
    return int(min(maximum, start + step * (max(epoch, 0) // every)))


class ClipSource(Protocol):
    """What the video clip sampler needs from a video: its length and some of its frames."""

    name: str

    @property
    def num_frames(self) -> int: ...

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class LazyVideo:
    """A video read from disk only when a clip needs it (only the sampled frames are decoded).

    ``reader`` is a DavisDataset or YouTubeVOSDataset (train split: every frame annotated).
    """

    reader: object
    name: str
    _absences: list | None = field(default=None, repr=False, compare=False)

    @property
    def num_frames(self) -> int:
        return len(self.reader.frame_names(self.name))

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        return self.reader.load_frames(self.name, list(indices))

    def absences(self) -> list[Absence]:
        """Every absence of an object in this video (all masks read once, then kept)."""
        if self._absences is None:
            _, labels = self.load(range(self.num_frames))
            self._absences = absences(labels)
        return self._absences


@dataclass(frozen=True)
class Absence:
    """An object gone from the masks for frames ``gone``, seen before in ``before`` and back in ``back``."""

    obj: int
    before: tuple[int, ...]
    gone: tuple[int, ...]
    back: tuple[int, ...]


def absences(labels: np.ndarray) -> list[Absence]:
    """Each run of frames in which an object seen before is absent from ``labels`` uint8 (T, H, W) and after
    which it comes back."""
    found = []
    for obj in (int(i) for i in np.unique(labels) if int(i) not in (0, VOID_ID)):
        present = (labels == obj).any(axis=(1, 2))
        frames = np.flatnonzero(present)
        for previous, following in zip(frames[:-1], frames[1:], strict=True):
            if following - previous > 1:
                later = frames[frames >= following]
                found.append(Absence(obj, tuple(int(f) for f in frames[frames <= previous]),
                                     tuple(range(int(previous) + 1, int(following))), tuple(int(f) for f in later)))
    return found


def straddling_indices(rng: np.random.Generator, absence: Absence, num_frames: int) -> list[int]:
    """Increasing frame indices of a clip over an absence: the first where the object is seen, one where it is
    gone (left out of a 2-frame clip), the last where it is back; any further frames anywhere between."""
    first = int(rng.choice(absence.before))
    gone = int(rng.choice(absence.gone))
    last = int(rng.choice(absence.back))
    if num_frames < 3:
        return [first, last]
    chosen = {first, gone, last}
    spare = [f for f in range(first + 1, last) if f not in chosen]
    extra = max(0, min(num_frames - 3, len(spare)))
    if extra:
        chosen.update(int(f) for f in rng.choice(spare, size=extra, replace=False))
    indices = sorted(chosen)
    while len(indices) < num_frames:  # too few frames between: repeat the last, still in order
        indices.append(indices[-1])
    return indices


def lazy_videos(reader) -> list[LazyVideo]:
    """Every sequence of a reader as a LazyVideo."""
    return [LazyVideo(reader, name) for name in reader.sequences]


@dataclass(frozen=True)
class AffineRange:
    """Ranges of a random affine transform: degrees, fraction of the size, scale factor, degrees."""

    rotate: float
    translate: float
    scale: tuple[float, float]
    shear: float

    def sample(self, rng: np.random.Generator, height: int, width: int) -> dict:
        return {
            "angle": float(rng.uniform(-self.rotate, self.rotate)),
            "translate": [int(round(rng.uniform(-self.translate, self.translate) * width)),
                          int(round(rng.uniform(-self.translate, self.translate) * height))],
            "scale": float(rng.uniform(*self.scale)),
            "shear": [float(rng.uniform(-self.shear, self.shear)), float(rng.uniform(-self.shear, self.shear))],
        }


VIDEO_AFFINE = AffineRange(rotate=10, translate=0.05, scale=(0.9, 1.1), shear=5)
STATIC_AFFINE = AffineRange(rotate=20, translate=0.1, scale=(0.8, 1.2), shear=10)


def _crop_size(crop: int | Sequence[int] | None) -> tuple[int, int] | None:
    if crop is None:
        return None
    if isinstance(crop, int):
        return crop, crop
    size = tuple(int(c) for c in crop)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"crop must be an int or (height, width), got {crop!r}")
    return size


class _ClipBase(torch.utils.data.Dataset):
    def __init__(self, num_frames: int, crop, max_objects: int, seed: int, min_object_pixels: int):
        if num_frames < 1:
            raise ValueError("num_frames must be at least 1")
        if max_objects < 1:
            raise ValueError("max_objects must be at least 1")
        self.num_frames = num_frames
        self.crop = _crop_size(crop)
        self.max_objects = max_objects
        self.seed = seed
        self.epoch = 0
        self.min_object_pixels = min_object_pixels
        self.rng: np.random.Generator | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _item_rng(self, index: int) -> np.random.Generator:
        if self.rng is not None:
            return self.rng
        return np.random.default_rng([self.seed, self.epoch, index])

    def _finish(self, rng: np.random.Generator, image: tv_tensors.Image, labels: tv_tensors.Mask,
                indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Resize up to the crop if needed, crop (keeping objects in frame 0), flip, one-hot the objects.

        image: uint8 (T, 3, H, W); labels: uint8 (T, H, W).
        """
        if self.crop is not None:
            height, width = image.shape[-2:]
            factor = max(self.crop[0] / height, self.crop[1] / width)
            if factor > 1:
                size = [math.ceil(height * factor), math.ceil(width * factor)]
                image = TF.resize(image, size, antialias=True)
                labels = TF.resize(labels, size)
            image, labels = self._crop_with_objects(rng, image, labels)
        if rng.random() < 0.5:
            image, labels = TF.horizontal_flip(image), TF.horizontal_flip(labels)
        masks, valid = self._object_channels(rng, labels.as_subclass(torch.Tensor))
        return {
            "frames": image.as_subclass(torch.Tensor).float().div_(255.0),
            "masks": masks,
            "valid": valid,
            "indices": torch.as_tensor(list(indices), dtype=torch.int64),
        }

    def _present(self, first: torch.Tensor) -> list[int]:
        ids, counts = torch.unique(first, return_counts=True)
        return [int(i) for i, c in zip(ids, counts, strict=True)
                if int(i) not in (0, VOID_ID) and int(c) >= self.min_object_pixels]

    def _crop_with_objects(self, rng, image, labels, tries: int = 10):
        crop_h, crop_w = self.crop
        height, width = image.shape[-2:]
        for _ in range(tries):
            top = int(rng.integers(0, height - crop_h + 1))
            left = int(rng.integers(0, width - crop_w + 1))
            cropped = TF.crop(labels, top, left, crop_h, crop_w)
            if self._present(cropped[0].as_subclass(torch.Tensor)):
                break
        return TF.crop(image, top, left, crop_h, crop_w), cropped

    def _object_channels(self, rng, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        present = self._present(labels[0])
        if len(present) > self.max_objects:
            present = sorted(rng.choice(present, size=self.max_objects, replace=False).tolist())
        masks = torch.zeros((labels.shape[0], self.max_objects, *labels.shape[-2:]), dtype=torch.float32)
        valid = torch.zeros(self.max_objects, dtype=torch.bool)
        for channel, obj in enumerate(present):
            masks[:, channel] = (labels == obj).float()
            valid[channel] = True
        return masks, valid


class VideoClipDataset(_ClipBase):
    """``num_frames`` frames of a video in temporal order, consecutive picks at most ``max_skip`` frames
    apart (0 = neighbouring frames), with one mild random affine, random crop and flip for the clip.
    With ``reappear_clips`` p, a share p of the clips of videos where an object leaves and comes back span
    one such absence instead (``straddling_indices``: seen, gone, back), whatever the frame skip.

    videos: VideoSample objects with ``gt`` (e.g. ``reader.load_video(name)`` on a train split) or
    LazyVideo handles (``lazy_videos(reader)``), which read only the sampled frames.
    """

    def __init__(self, videos: Sequence[ClipSource], num_frames: int = 3, max_skip: int = 0,
                 crop: int | Sequence[int] | None = 384, max_objects: int = 3, seed: int = 0,
                 affine: AffineRange = VIDEO_AFFINE, min_object_pixels: int = 16, reappear_clips: float = 0.0):
        super().__init__(num_frames, crop, max_objects, seed, min_object_pixels)
        self.videos = list(videos)
        if not self.videos:
            raise DataError(None, "VideoClipDataset needs at least one video")
        if not 0 <= reappear_clips <= 1:
            raise ValueError(f"reappear_clips must lie in 0..1, got {reappear_clips}")
        self.affine = affine
        self.reappear_clips = reappear_clips
        self.set_max_skip(max_skip)

    def set_max_skip(self, max_skip: int) -> None:
        if max_skip < 0:
            raise ValueError(f"max_skip must be >= 0, got {max_skip}")
        self.max_skip = int(max_skip)

    def __len__(self) -> int:
        return len(self.videos)

    def frame_indices(self, rng: np.random.Generator, length: int) -> list[int]:
        """Increasing frame indices; each step 1..max_skip+1 (fewer if the video is short)."""
        n = self.num_frames
        if length < n:  # too short: repeat frames, still in order
            return sorted(int(i) for i in rng.integers(0, length, size=n))
        largest_step = min(self.max_skip + 1, (length - 1) // max(n - 1, 1)) if n > 1 else 1
        steps = rng.integers(1, max(largest_step, 1) + 1, size=n - 1)
        first = int(rng.integers(0, length - int(steps.sum())))
        return [first, *(first + np.cumsum(steps)).tolist()]

    def clip_indices(self, rng: np.random.Generator, video) -> list[int]:
        """The frames of one clip of ``video``: across an absence for a share ``reappear_clips``, else by the
        frame skip (``frame_indices``)."""
        if self.reappear_clips and rng.random() < self.reappear_clips:  # no draw when off: clips as before
            gaps = video.absences() if hasattr(video, "absences") else absences(video.gt)
            if gaps:
                return straddling_indices(rng, gaps[int(rng.integers(len(gaps)))], self.num_frames)
        return self.frame_indices(rng, video.num_frames)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._item_rng(index)
        video = self.videos[index % len(self.videos)]
        indices = self.clip_indices(rng, video)
        images, labels = video.load(indices)
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2))
        mask = tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(labels)))
        params = self.affine.sample(rng, *image.shape[-2:])
        image = TF.affine(image, **params, interpolation=InterpolationMode.BILINEAR)
        mask = TF.affine(mask, **params)
        return self._finish(rng, image, mask, indices)


class StaticClipDataset(_ClipBase):
    """A still picture with instance masks turned into a ``num_frames`` clip: every frame is the picture
    under its own random affine transform (image and masks moved together as tv_tensors), then one
    random crop and flip for the clip.

    coco: a CocoImages (items with ``image`` and ``label_map()``).
    """

    def __init__(self, coco, num_frames: int = 3, crop: int | Sequence[int] | None = 384, max_objects: int = 3,
                 seed: int = 0, affine: AffineRange = STATIC_AFFINE, min_object_pixels: int = 16):
        super().__init__(num_frames, crop, max_objects, seed, min_object_pixels)
        self.coco = coco
        if len(coco) == 0:
            raise DataError(None, "StaticClipDataset needs at least one image")
        self.affine = affine

    def __len__(self) -> int:
        return len(self.coco)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._item_rng(index)
        sample = self.coco[index % len(self.coco)]
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(sample.image)).permute(2, 0, 1))
        mask = tv_tensors.Mask(torch.from_numpy(sample.label_map()))
        frames, masks = [], []
        for _ in range(self.num_frames):
            params = self.affine.sample(rng, *image.shape[-2:])
            frames.append(TF.affine(image, **params, interpolation=InterpolationMode.BILINEAR))
            masks.append(TF.affine(mask, **params))
        clip = tv_tensors.Image(torch.stack([f.as_subclass(torch.Tensor) for f in frames]))
        labels = tv_tensors.Mask(torch.stack([m.as_subclass(torch.Tensor) for m in masks]))
        return self._finish(rng, clip, labels, [0] * self.num_frames)
