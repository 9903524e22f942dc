"""One video as the readers hand it out, plus the checked image / frame-listing helpers they share.

Two forms: ``VideoSample`` holds a whole video in memory (training clips, held-out checks, tests);
``VideoStream`` reads one frame at a time from disk, so that segmenting a video needs memory bounded in
its length (prediction). Both answer ``image(t)``, ``truth(t)`` and ``frame_shape``, which is all the
segmentation loop uses (and ``has_truth``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.common.files import DataError
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

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:3])

    def image(self, t: int) -> np.ndarray:
        """Frame ``t``: uint8 (H, W, 3)."""
        return self.images[t]

    @property
    def has_truth(self) -> bool:
        return self.gt is not None

    def truth(self, t: int) -> np.ndarray | None:
        """The full annotation of frame ``t``, uint8 (H, W), or None where the dataset hides it."""
        return None if self.gt is None else self.gt[t]

    def load(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Frames and full annotations at ``indices``: uint8 (k, H, W, 3) and uint8 (k, H, W).

        The clip samplers call this; it needs ``gt``.
        """
        if self.gt is None:
            raise DataError(None, f"video {self.name!r} has no full annotation; cannot sample training clips")
        index = np.asarray(indices, dtype=np.int64)
        return self.images[index], self.gt[index]


@dataclass
class VideoStream:
    """One video read from disk frame by frame: only the given annotations are held in memory.

    frame_paths: the T frame files in frame order; frame_shape: (H, W) of the first, which every frame
    must have. given / objects: as in ``VideoSample``. truth_paths: every frame's annotation file, or
    None where the dataset hides them; read_truth(png, frame_shape, frame_name) reads one by the
    dataset's rules.
    """

    name: str
    frame_names: list[str]
    frame_paths: list[Path]
    frame_shape: tuple[int, int]
    given: dict[int, np.ndarray]
    objects: dict[int, int]
    truth_paths: list[Path] | None = None
    read_truth: Callable[[Path, tuple[int, int], str], np.ndarray] | None = None
    categories: dict[int, str] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)

    def image(self, t: int) -> np.ndarray:
        """Frame ``t`` read now: uint8 (H, W, 3); DataError naming the file if its size differs."""
        image = read_image(self.frame_paths[t])
        if image.shape[:2] != tuple(self.frame_shape):
            raise DataError(self.frame_paths[t], f"frame is {image.shape[0]}x{image.shape[1]} but "
                                                 f"{self.frame_paths[0].name} is {self.frame_shape[0]}x"
                                                 f"{self.frame_shape[1]}")
        return image

    @property
    def has_truth(self) -> bool:
        return self.truth_paths is not None and self.read_truth is not None

    def truth(self, t: int) -> np.ndarray | None:
        if not self.has_truth:
            return None
        return self.read_truth(self.truth_paths[t], self.frame_shape, self.frame_paths[t].name)


def video_frames(folder: Path) -> tuple[list[Path], list[str], tuple[int, int]]:
    """A video's frame files in frame order, their names (stems) and the (H, W) of the first, read from
    its header alone (what ``VideoStream`` needs before any frame is decoded)."""
    frames = list_frames(folder, IMAGE_SUFFIXES)
    return frames, [p.stem for p in frames], image_size(frames[0])


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of a picture, from its header alone; DataError naming the file if unreadable."""
    if not path.is_file():
        raise DataError(path, "image file does not exist")
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception as err:  # PIL raises many types for corrupt files
        raise DataError(path, f"cannot read image ({err.__class__.__name__}: {err})") from err
    return height, width


def list_frames(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files in ``folder`` with one of ``suffixes`` in frame order (``order_frames``); empty if the folder
    is missing."""
    if not folder.is_dir():
        return []
    return order_frames([p for p in folder.iterdir() if p.suffix.lower() in suffixes and not p.name.startswith(".")],
                        folder)


def order_frames(paths: Sequence[Path], folder: Path) -> list[Path]:
    """Frame files in the order of the number their name is (``0.jpg, 2.jpg, 10.jpg``), not of the string
    (which puts 10 before 2 when the names are not zero-padded). DataError naming ``folder`` when a name
    is not a number, or two names are the same number (``7.jpg`` and ``007.jpg``)."""
    named = [p for p in paths if not p.stem.isdecimal() or not p.stem.isascii()]
    if named:
        raise DataError(folder, f"frame file {named[0].name!r} is not named by its frame number; frames must be "
                                "named by number (00000.jpg, 00001.jpg, ... or 0.jpg, 1.jpg, ...) so that "
                                "their order is known")
    by_number: dict[tuple[int, str], Path] = {}
    for path in paths:
        key = (int(path.stem), path.suffix.lower())
        if key in by_number:
            raise DataError(folder, f"frames {by_number[key].name!r} and {path.name!r} have the same number")
        by_number[key] = path
    return [by_number[key] for key in sorted(by_number)]


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


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file of a dataset; DataError naming it when missing or not UTF-8 text."""
    if not path.is_file():
        raise DataError(path, f"{what} does not exist")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataError(path, f"{what} is not UTF-8 text (byte 0x{err.object[err.start]:02x} on line {line})") from None


def read_split_file(path: Path) -> list[str]:
    """Sequence names listed one per line in an ImageSets file; DataError if missing, not text or empty."""
    names = [line.strip() for line in read_text_file(path, "split file").splitlines() if line.strip()]
    if not names:
        raise DataError(path, "split lists no sequences (empty split)")
    return names
