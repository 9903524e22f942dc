"""COCO instance masks through pycocotools, for static-image pretraining.

    ROOT/annotations/instances_train.json (or instances_train2017.json)
    ROOT/images/<file_name>               (or ROOT/train2017/<file_name>)
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.common.files import DataError, inside_root
from pipelines.data.video import read_image

ANNOTATION_FILES = ("instances_train.json", "instances_train2017.json")
IMAGE_DIRS = ("images", "train2017")


@dataclass
class CocoSample:
    """One picture with its instances: image uint8 (H, W, 3), masks bool (N, H, W), category ids (N,)."""

    image_id: int
    file_name: str
    image: np.ndarray
    masks: np.ndarray
    category_ids: list[int]

    def label_map(self) -> np.ndarray:
        """uint8 (H, W): instance i -> value i + 1; larger instances painted first so small ones stay visible."""
        labels = np.zeros(self.image.shape[:2], dtype=np.uint8)
        order = np.argsort(-self.masks.reshape(len(self.masks), -1).sum(axis=1), kind="stable")
        for i in order[:254]:
            labels[self.masks[i]] = i + 1
        return labels


class CocoImages:
    """Images that have at least one non-crowd instance, in image-id order."""

    def __init__(self, root: str | Path, annotation_file: str | Path | None = None,
                 image_dir: str | Path | None = None, min_area: float = 1.0):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "COCO root folder does not exist")
        self.annotation_file = Path(annotation_file) if annotation_file else _first_existing(
            [self.root / "annotations" / n for n in ANNOTATION_FILES], "annotation file")
        self.image_dir = Path(image_dir) if image_dir else _first_existing(
            [self.root / n for n in IMAGE_DIRS], "image folder")
        self.coco = _load_coco(self.annotation_file)
        self.min_area = min_area
        self.image_ids = [i for i in sorted(self.coco.getImgIds()) if self._annotations(i)]
        if not self.image_ids:
            raise DataError(self.annotation_file, "no image has a non-crowd instance (empty split)")

    def _annotations(self, image_id: int) -> list[dict]:
        ids = self.coco.getAnnIds(imgIds=[image_id], iscrowd=False)
        return [a for a in self.coco.loadAnns(ids) if a.get("area", 1.0) >= self.min_area]

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> CocoSample:
        image_id = self.image_ids[index]
        info = self.coco.loadImgs([image_id])[0]
        path = inside_root(self.image_dir, str(info["file_name"]), "image file_name", self.annotation_file)
        image = read_image(path)
        height, width = image.shape[:2]
        if (info.get("height"), info.get("width")) != (height, width):
            raise DataError(path, f"image is {height}x{width} but {self.annotation_file.name} says "
                            f"{info.get('height')}x{info.get('width')}")
        annotations = self._annotations(image_id)
        try:
            with warnings.catch_warnings():  # pycocotools' own numpy-2 DeprecationWarning, not ours to fix
                warnings.simplefilter("ignore", DeprecationWarning)
                masks = np.stack([self.coco.annToMask(a).astype(bool) for a in annotations])
        except Exception as err:  # pycocotools raises bare exceptions for malformed segmentations
            raise DataError(self.annotation_file, f"image {image_id}: cannot decode a segmentation ({err})") from err
        return CocoSample(image_id=image_id, file_name=info["file_name"], image=image, masks=masks,
                          category_ids=[int(a["category_id"]) for a in annotations])

    def categories(self) -> dict[int, str]:
        return {c["id"]: c["name"] for c in self.coco.loadCats(self.coco.getCatIds())}


def _first_existing(candidates: list[Path], what: str) -> Path:
    for path in candidates:
        if path.exists():
            return path
    raise DataError(candidates[0], f"COCO {what} does not exist")


def _load_coco(path: Path):
    """A pycocotools ``COCO`` index of an instances file."""
    # here, not at the head: pycocotools.coco imports matplotlib (0.15 s), which every command that names a
    # dataset would pay through the registry; only the pretraining reader needs it
    from pycocotools.coco import COCO

    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(path, f"cannot read COCO annotations ({err})") from err
    missing = [k for k in ("images", "annotations", "categories") if k not in data]
    if missing:
        raise DataError(path, f"not a COCO instances file: missing {missing}")
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        coco.createIndex()
    return coco
