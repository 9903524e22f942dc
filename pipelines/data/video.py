"""One video as the readers hand it out, plus the checked image / frame-listing helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.files import DataError
from pipelines.data.masks import VOID_ID, read_mask

IMAGE_SUFFIXES = (".jpg", ".jpeg")


@dataclass
class VideoSample:
    """A whole video in memory.

    images: uint8 (T, H, W, 3).
    given: frame index -> uint8 (H, W) annotation a semi-supervised method may read (DAVIS: frame 0;
        YouTube-VOS: the frames where objects first appear).
    objects: object id -> index of the frame where it is first given.
    gt: uint8 (T, H, W) full annotation of every frame, or None where the dataset hides it.
    """

    name: str
    frame_names: list[str]
    images: np.ndarray
    given: dict[int, np.ndarray]
    objects: dict[int, int]
    gt: np.ndarray | None = None
    categories: dict[int, str] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Frames and full annotations at ``indices``: uint8 (k, H, W, 3) and uint8 (k, H, W).

        The clip samplers call this; it needs ``gt``.
        """
        if self.gt is None:
            raise DataError(None, f"video {self.name!r} has no full annotation; cannot sample training clips")
        index = np.asarray(indices, dtype=np.int64)
        return self.images[index], self.gt[index]


def list_frames(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files in ``folder`` with one of ``suffixes``, sorted by name (empty if the folder is missing)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and not p.name.startswith("."))


def read_image(path: Path) -> np.ndarray:
    """Read an RGB picture as uint8 (H, W, 3); DataError naming the file if missing or unreadable."""
    if not path.is_file():
        raise DataError(path, "image file does not exist")
    try:
        with Image.open(path) as image:
            array = np.array(image.convert("RGB"))
    except Exception as err:  # PIL raises many types for corrupt files
        raise DataError(path, f"cannot read image ({err.__class__.__name__}: {err})") from err
    return array


def read_images(paths: Sequence[Path]) -> np.ndarray:
    """Read pictures of one video as uint8 (T, H, W, 3); they must all have the same size."""
    images = [read_image(p) for p in paths]
    for path, image in zip(paths, images, strict=True):
        if image.shape != images[0].shape:
            raise DataError(path, f"frame is {image.shape[0]}x{image.shape[1]} but {paths[0].name} is "
                            f"{images[0].shape[0]}x{images[0].shape[1]}")
    return np.stack(images)


def read_annotated_frames(image_folder: Path, annotation_folder: Path, indices: Sequence[int],
                          read_mask_of) -> tuple[np.ndarray, np.ndarray]:
    """Only the frames at ``indices`` and their annotations: uint8 (k, H, W, 3), uint8 (k, H, W).

    For training clips: every requested frame must be annotated. ``read_mask_of(png, frame_shape,
    frame_name)`` reads one annotation (the dataset's own rules, e.g. DAVIS-2016 merging).
    """
    frames = list_frames(image_folder, IMAGE_SUFFIXES)
    images, masks = [], []
    for i in indices:
        image = read_image(frames[i])
        png = annotation_folder / f"{frames[i].stem}.png"
        if not png.is_file():
            raise DataError(png, "annotation for a training frame is missing")
        images.append(image)
        masks.append(read_mask_of(png, image.shape[:2], frames[i].name))
    for i, image in zip(indices, images, strict=True):
        if image.shape != images[0].shape:
            raise DataError(frames[i], "frame size differs from the other frames of the video")
    return np.stack(images), np.stack(masks)


def read_annotation(path: Path, frame_shape: tuple[int, int], frame_name: str,
                    allow_binary: bool = False) -> np.ndarray:
    """Read a palette PNG and check that it has the size of its frame (H, W)."""
    mask = read_mask(path, allow_binary=allow_binary)
    if mask.shape != tuple(frame_shape):
        raise DataError(path, f"annotation is {mask.shape[0]}x{mask.shape[1]} but frame {frame_name} is "
                        f"{frame_shape[0]}x{frame_shape[1]}")
    return mask


def object_ids(mask: np.ndarray) -> list[int]:
    """Object ids present in an annotation (0 = background and 255 = void excluded)."""
    return [int(v) for v in np.unique(mask) if v not in (0, VOID_ID)]


def read_split_file(path: Path) -> list[str]:
    """Sequence names listed one per line in an ImageSets file; DataError if missing or empty."""
    if not path.is_file():
        raise DataError(path, "split file does not exist")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(path, "split lists no sequences (empty split)")
    return names
