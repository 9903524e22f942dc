"""DAVIS-2016 / DAVIS-2017 reader (the DAVIS-2017 trainval folder layout).

    ROOT/JPEGImages/480p/<seq>/00000.jpg ...
    ROOT/Annotations/480p/<seq>/00000.png ...   palette PNGs, value = object id
    ROOT/ImageSets/2017/{train,val}.txt         one sequence name per line
    ROOT/ImageSets/2016/{train,val}.txt         the single-object (DAVIS-2016) sequences

For year 2016 every object of a sequence is merged into object 1 (void 255 is kept), which is how
the DAVIS-2016 benchmark scores these sequences. A stand-alone DAVIS-2016 release (grey 0/255 masks,
``ImageSets/480p/<split>.txt`` listing frame paths) is read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipelines.common.files import DataError, inside_root
from pipelines.data.masks import VOID_ID
from pipelines.data.video import (
    IMAGE_SUFFIXES,
    VideoSample,
    VideoStream,
    list_frames,
    object_ids,
    read_annotated_frames,
    read_annotation,
    read_images,
    read_split_file,
    video_frames,
)

YEARS = ("2016", "2017")


class DavisDataset:
    """Sequences of one DAVIS split; everything listed is checked to exist when constructed."""

    def __init__(self, root: str | Path, year: str | int = "2017", split: str = "val", resolution: str = "480p"):
        self.root = Path(root)
        self.year = str(year)
        self.split = split
        if self.year not in YEARS:
            raise DataError(self.root, f"unknown DAVIS year {self.year!r} (expected one of {YEARS})")
        if not self.root.is_dir():
            raise DataError(self.root, "DAVIS root folder does not exist")
        self.image_root = self.root / "JPEGImages" / resolution
        self.annotation_root = self.root / "Annotations" / resolution
        for folder in (self.image_root, self.annotation_root):
            if not folder.is_dir():
                raise DataError(folder, "folder does not exist (not a DAVIS root?)")
        self.split_file = self.root / "ImageSets" / self.year / f"{split}.txt"
        legacy_2016 = self.root / "ImageSets" / resolution / f"{split}.txt"
        if self.year == "2016" and not self.split_file.exists() and legacy_2016.is_file():
            self.split_file = legacy_2016
        self.sequences: list[str] = _unique_sequences(read_split_file(self.split_file))
        for name in self.sequences:
            inside_root(self.image_root, name, "sequence", self.split_file)
            self._check_listed(name)

    def _check_listed(self, name: str) -> None:
        where = f"listed in {self.split_file.relative_to(self.root)}"
        if not list_frames(self.image_root / name, IMAGE_SUFFIXES):
            raise DataError(self.image_root / name, f"sequence {where} has no frames")
        if not list_frames(self.annotation_root / name, (".png",)):
            raise DataError(self.annotation_root / name, f"sequence {where} has no annotations")

    def __len__(self) -> int:
        return len(self.sequences)

    def frame_names(self, name: str) -> list[str]:
        return [p.stem for p in list_frames(self.image_root / name, IMAGE_SUFFIXES)]

    def _annotation_paths(self, name: str, frame_names: Sequence[str]) -> dict[int, Path]:
        """Frame index -> annotation PNG; every PNG must belong to a frame."""
        index_of = {stem: i for i, stem in enumerate(frame_names)}
        paths = {}
        for png in list_frames(self.annotation_root / name, (".png",)):
            if png.stem not in index_of:
                raise DataError(png, "annotation has no matching frame in JPEGImages")
            paths[index_of[png.stem]] = png
        if 0 not in paths:
            raise DataError(self.annotation_root / name / f"{frame_names[0]}.png",
                            "first-frame annotation is missing")
        return paths

    def _read(self, path: Path, frame_shape: tuple[int, int], frame_name: str) -> np.ndarray:
        mask = read_annotation(path, frame_shape, frame_name, allow_binary=self.year == "2016")
        if self.year == "2016":
            merged = (mask > 0).astype(np.uint8)
            merged[mask == VOID_ID] = VOID_ID
            return merged
        return mask

    def load_video(self, name: str) -> VideoSample:
        """The whole sequence; ``gt`` is None unless every frame has an annotation."""
        if name not in self.sequences:
            raise DataError(self.split_file, f"sequence {name!r} is not in this split")
        frames = list_frames(self.image_root / name, IMAGE_SUFFIXES)
        stems = [p.stem for p in frames]
        images = read_images(frames)
        shape = images.shape[1:3]
        paths = self._annotation_paths(name, stems)
        masks = {i: self._read(p, shape, frames[i].name) for i, p in paths.items()}
        gt = np.stack([masks[i] for i in range(len(stems))]) if len(masks) == len(stems) else None
        first = masks[0]
        return VideoSample(
            name=name,
            frame_names=stems,
            images=images,
            given={0: first},
            objects={obj: 0 for obj in object_ids(first)},
            gt=gt,
        )

    def open_video(self, name: str) -> VideoStream:
        """The sequence as a ``VideoStream``: frames and full annotations read when asked for."""
        if name not in self.sequences:
            raise DataError(self.split_file, f"sequence {name!r} is not in this split")
        frames, stems, shape = video_frames(self.image_root / name)
        paths = self._annotation_paths(name, stems)
        first = self._read(paths[0], shape, frames[0].name)
        full = [paths[i] for i in range(len(stems))] if len(paths) == len(stems) else None
        return VideoStream(name=name, frame_names=stems, frame_paths=frames, frame_shape=shape, given={0: first},
                           objects={obj: 0 for obj in object_ids(first)}, truth_paths=full, read_truth=self._read)

    def load_frames(self, name: str, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Only the frames at ``indices`` and their annotations (training clips): (k,H,W,3), (k,H,W)."""
        return read_annotated_frames(self.image_root / name, self.annotation_root / name, indices, self._read)


def _unique_sequences(lines: list[str]) -> list[str]:
    """Sequence names in order; lines of the DAVIS-2016 form '/JPEGImages/480p/bear/00000.jpg ...' too."""
    names: list[str] = []
    for line in lines:
        first = line.split()[0]
        name = Path(first).parent.name if "/" in first else first
        if name not in names:
            names.append(name)
    return names
