"""YouTube-VOS 2018 reader.

    ROOT/<split>/JPEGImages/<video>/00000.jpg 00005.jpg ...
    ROOT/<split>/Annotations/<video>/00000.png ...   palette PNGs, value = object id
    ROOT/<split>/meta.json   {"videos": {video: {"objects": {"1": {"category": str, "frames": [stem, ...]}}}}}

In ``train`` every frame is annotated. In ``valid`` only the frames where an object first appears
are (as in the real set); the synthetic set adds ``ROOT/valid_gt/Annotations/<video>/`` with every
frame, which becomes ``VideoSample.gt`` when present.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipelines.common.files import DataError, inside_root
from pipelines.data.video import (
    IMAGE_SUFFIXES,
    VideoSample,
    VideoStream,
    list_frames,
    object_ids,
    read_annotated_frames,
    read_annotation,
    read_images,
    video_frames,
)


class YouTubeVOSDataset:
    """Videos of one YouTube-VOS split; meta.json and the folders are cross-checked when constructed."""

    def __init__(self, root: str | Path, split: str = "valid", gt_split: str | None = "valid_gt"):
        self.root = Path(root)
        self.split = split
        if not self.root.is_dir():
            raise DataError(self.root, "YouTube-VOS root folder does not exist")
        self.split_root = self.root / split
        self.image_root = self.split_root / "JPEGImages"
        self.annotation_root = self.split_root / "Annotations"
        for folder in (self.split_root, self.image_root, self.annotation_root):
            if not folder.is_dir():
                raise DataError(folder, "folder does not exist (not a YouTube-VOS root?)")
        self.meta_path = self.split_root / "meta.json"
        self.meta = _read_meta(self.meta_path)
        self.gt_root = self.root / gt_split / "Annotations" if gt_split and split != "train" else None
        if self.gt_root is not None and not self.gt_root.is_dir():
            self.gt_root = None
        self.sequences: list[str] = sorted(self.meta)
        self._check_folders()

    def _check_folders(self) -> None:
        if not self.sequences:
            raise DataError(self.meta_path, "split lists no videos (empty split)")
        on_disk = {p.name for p in self.image_root.iterdir() if p.is_dir()}
        missing = sorted(set(self.sequences) - on_disk)
        extra = sorted(on_disk - set(self.sequences))
        if missing:
            raise DataError(self.meta_path, f"meta.json lists videos with no JPEGImages folder: {_few(missing)}")
        if extra:
            raise DataError(self.meta_path, f"meta.json does not list videos found in JPEGImages: {_few(extra)}")
        for name in self.sequences:
            inside_root(self.image_root, name, "video", self.meta_path)
            if not list_frames(self.image_root / name, IMAGE_SUFFIXES):
                raise DataError(self.image_root / name, "video listed in meta.json has no frames")
            if not list_frames(self.annotation_root / name, (".png",)):
                raise DataError(self.annotation_root / name, "video listed in meta.json has no annotations")

    def __len__(self) -> int:
        return len(self.sequences)

    def categories(self, name: str) -> dict[int, str]:
        """Object id -> category name, from meta.json."""
        return {int(k): str(v.get("category", "")) for k, v in self.meta[name]["objects"].items()}

    def frame_names(self, name: str) -> list[str]:
        return [p.stem for p in list_frames(self.image_root / name, IMAGE_SUFFIXES)]

    def _first_frames_from_meta(self, name: str, stems: list[str]) -> dict[int, int]:
        index_of = {stem: i for i, stem in enumerate(stems)}
        first = {}
        for key, obj in self.meta[name]["objects"].items():
            frames = obj.get("frames") or []
            if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
                raise DataError(self.meta_path, f'video {name} object {key}: "frames" must be a list of frame '
                                f'names (strings), got {type(frames).__name__} {frames!r:.40}')
            unknown = [f for f in frames if f not in index_of]
            if unknown:
                raise DataError(self.meta_path, f"video {name} object {key} lists frames with no image: "
                                f"{_few(unknown)}")
            if not frames:
                raise DataError(self.meta_path, f"video {name} object {key} lists no frames")
            first[int(key)] = min(index_of[f] for f in frames)
        return first

    def _read_folder(self, folder: Path, stems: list[str], shape: tuple[int, int]) -> dict[int, np.ndarray]:
        index_of = {stem: i for i, stem in enumerate(stems)}
        masks = {}
        for png in list_frames(folder, (".png",)):
            if png.stem not in index_of:
                raise DataError(png, "annotation has no matching frame in JPEGImages")
            masks[index_of[png.stem]] = read_annotation(png, shape, f"{png.stem}.jpg")
        return masks

    def load_video(self, name: str) -> VideoSample:
        if name not in self.meta:
            raise DataError(self.meta_path, f"video {name!r} is not in this split")
        frames = list_frames(self.image_root / name, IMAGE_SUFFIXES)
        stems = [p.stem for p in frames]
        images = read_images(frames)
        shape = images.shape[1:3]
        first_meta = self._first_frames_from_meta(name, stems)
        annotations = self._read_folder(self.annotation_root / name, stems, shape)
        gt = None
        if self.split == "train":
            gt = self._stack_full(self.annotation_root / name, annotations, stems)
        elif self.gt_root is not None and (self.gt_root / name).is_dir():
            gt = self._stack_full(self.gt_root / name, self._read_folder(self.gt_root / name, stems, shape), stems)
        given, objects = self._given(name, annotations, first_meta)
        return VideoSample(name=name, frame_names=stems, images=images, given=given, objects=objects, gt=gt,
                           categories=self.categories(name))

    def open_video(self, name: str) -> VideoStream:
        """The video as a ``VideoStream``: frames and full annotations read when asked for; the given
        annotations (an object's first frame) are read now."""
        if name not in self.meta:
            raise DataError(self.meta_path, f"video {name!r} is not in this split")
        frames, stems, shape = video_frames(self.image_root / name)
        first_meta = self._first_frames_from_meta(name, stems)
        given, objects = self._given(name, self._read_folder(self.annotation_root / name, stems, shape), first_meta)
        full = None
        if self.split == "train":
            full = self._full_paths(self.annotation_root / name, stems)
        elif self.gt_root is not None and (self.gt_root / name).is_dir():
            full = self._full_paths(self.gt_root / name, stems)
        return VideoStream(name=name, frame_names=stems, frame_paths=frames, frame_shape=shape, given=given,
                           objects=objects, truth_paths=full, read_truth=read_annotation,
                           categories=self.categories(name))

    def _full_paths(self, folder: Path, stems: list[str]) -> list[Path]:
        paths = [folder / f"{stem}.png" for stem in stems]
        missing = [path.stem for path in paths if not path.is_file()]
        if missing:
            raise DataError(folder, f"full annotation expected but frames have no PNG: {_few(missing)}")
        return paths

    def _stack_full(self, folder: Path, masks: dict[int, np.ndarray], stems: list[str]) -> np.ndarray:
        missing = [stems[i] for i in range(len(stems)) if i not in masks]
        if missing:
            raise DataError(folder, f"full annotation expected but frames have no PNG: {_few(missing)}")
        return np.stack([masks[i] for i in range(len(stems))])

    def _given(self, name: str, annotations: dict[int, np.ndarray], first_meta: dict[int, int]):
        """The annotations of the frames where an object first appears, and object id -> that frame."""
        objects: dict[int, int] = {}
        for index in sorted(annotations):
            for obj in object_ids(annotations[index]):
                objects.setdefault(obj, index)
        if self.split == "train":  # real train meta.json is loose; the annotations are what training uses
            return {index: annotations[index] for index in sorted(set(objects.values()))}, objects
        unknown = sorted(set(objects) - set(first_meta))
        if unknown:
            raise DataError(self.annotation_root / name, f"annotations hold object ids {unknown} that meta.json "
                            "does not list")
        for obj, index in objects.items():
            if first_meta[obj] != index:
                raise DataError(self.meta_path, f"video {name} object {obj}: meta.json says it first appears in "
                                f"frame {first_meta[obj]}, the annotations in frame {index}")
        never = sorted(set(first_meta) - set(objects))
        if never:
            raise DataError(self.annotation_root / name, f"objects {never} listed in meta.json are never annotated")
        given = {index: annotations[index] for index in sorted(set(objects.values()))}
        return given, objects

    def load_frames(self, name: str, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Only the frames at ``indices`` with their annotations (train split): uint8 (k,H,W,3), (k,H,W)."""
        return read_annotated_frames(self.image_root / name, self.annotation_root / name, indices, read_annotation)


def _read_meta(path: Path) -> dict:
    if not path.is_file():
        raise DataError(path, "meta.json does not exist")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, f"not valid JSON ({err})") from err
    videos = meta.get("videos") if isinstance(meta, dict) else None
    if not isinstance(videos, dict):
        raise DataError(path, 'expected {"videos": {name: {"objects": {...}}}}')
    for name, video in videos.items():
        if not isinstance(video, dict) or not isinstance(video.get("objects"), dict):
            raise DataError(path, f'video {name}: expected {{"objects": {{id: {{"category", "frames"}}}}}}')
        for key in video["objects"]:
            if not str(key).isdigit() or not 0 < int(key) < 255:
                raise DataError(path, f"video {name}: object id {key!r} is not an integer in 1..254")
    return videos


def _few(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (and {len(items) - limit} more)" if len(items) > limit else "")
