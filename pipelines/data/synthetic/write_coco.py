"""The synthetic COCO part: still pictures of textured objects with instance annotations.

Unoccluded objects are annotated by a polygon, and their pixels are exactly pycocotools' rasterisation
of that polygon; occluded ones (and some others) by compressed RLE of their visible pixels. So
``COCO.annToMask`` returns exactly the pixels each object covers in the picture.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from scipy.ndimage import binary_dilation
from skimage.measure import find_contours

from pipelines.data.synthetic.backgrounds import background_canvas
from pipelines.data.synthetic.common import choose_looks, item_rng, save_jpeg
from pipelines.data.synthetic.looks import TILE_EXTENT, Look, texture_tile
from pipelines.data.synthetic.presets import Preset
from pipelines.data.synthetic.scenes import MAX_ATTEMPTS, Track, footprint, object_radii

POLYGON_SHARE = 0.6
MIN_VISIBLE_SHARE = 0.3


def _still_track(rng: np.random.Generator, preset: Preset, look: Look, radius: float) -> Track:
    aspect = rng.uniform(-0.3, 0.3)
    extent = min(radius * math.exp(abs(aspect)) * TILE_EXTENT, min(preset.height, preset.width) / 2)
    centre = rng.uniform([extent, extent], [preset.width - extent, preset.height - extent])
    one = np.ones(1)
    return Track(look, True, texture_tile(rng, look), centre[None, :], radius * one, aspect * one,
                 rng.uniform(0, 2 * np.pi) * one, rng.uniform(0, 2 * np.pi) * one)


def _polygon(mask: np.ndarray) -> list[float] | None:
    """The outline of a one-piece mask as COCO [x1, y1, x2, y2, ...], or None if it is not one piece."""
    contours = find_contours(np.pad(mask, 1).astype(float), 0.5)
    if len(contours) != 1:
        return None
    outline = contours[0][::2] - 1 + 0.5  # every 2nd outline point; undo the pad; pixel centres
    return [round(float(c), 2) for point in outline for c in (point[1], point[0])]


def _decode_polygon(polygon: list[float], height: int, width: int) -> np.ndarray:
    rle = mask_utils.merge(mask_utils.frPyObjects([polygon], height, width))
    with warnings.catch_warnings():  # pycocotools' own numpy-2 DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def render_still(rng: np.random.Generator, preset: Preset, photos: list[np.ndarray], looks: list[Look]):
    """(image uint8 (H, W, 3), [(look, segmentation, visible mask bool (H, W))]) back to front."""
    height, width = preset.height, preset.width
    for attempt in range(MAX_ATTEMPTS):
        count = max(1, len(looks) - attempt // 20)
        tracks = [_still_track(rng, preset, look, r)
                  for look, r in zip(looks[:count], object_radii(rng, preset, looks[:count]), strict=True)]
        full = []
        for track in tracks:
            fp = footprint(track, 0, height, width)
            mask = np.zeros((height, width), dtype=bool)
            if fp is not None:
                mask[fp.y0 : fp.y1, fp.x0 : fp.x1] = fp.inside
            full.append((fp, mask))
        final, polygons = [], []
        for k, (_, mask) in enumerate(full):
            in_front = np.zeros_like(mask)
            for _, other in full[k + 1 :]:
                in_front |= other
            polygon = None
            if not (binary_dilation(mask, iterations=3) & in_front).any() and rng.random() < POLYGON_SHARE:
                polygon = _polygon(mask)
            polygons.append(polygon)
            final.append(_decode_polygon(polygon, height, width) if polygon else mask)
        labels = np.zeros((height, width), dtype=np.uint8)
        for k, mask in enumerate(final):
            labels[mask] = k + 1
        visible = [labels == k + 1 for k in range(len(final))]
        if all(v.sum() >= max(0.01 * height * width, MIN_VISIBLE_SHARE * f.sum()) for v, f in zip(visible, final, strict=True)):
            break
    else:
        raise RuntimeError("could not place still objects visibly")
    image = background_canvas(rng, photos, height, width)
    for k, (fp, _) in enumerate(full):
        if fp is None:
            continue
        region = image[fp.y0 : fp.y1, fp.x0 : fp.x1]
        colours = tracks[k].tile[fp.tile_rows, fp.tile_cols]
        paint = visible[k][fp.y0 : fp.y1, fp.x0 : fp.x1]
        region[paint] = colours[paint]
    image = np.clip(image + rng.normal(0, 2.5, size=image.shape), 0, 255).astype(np.uint8)
    instances = []
    for k in range(len(final)):
        if polygons[k] is not None and np.array_equal(visible[k], final[k]):
            instances.append((tracks[k].look, polygons[k], visible[k]))
        else:
            instances.append((tracks[k].look, _rle(visible[k]), visible[k]))
    return image, instances


def coco_scene(preset: Preset, seed: int, index: int, seen: tuple[Look, ...], photos: list[np.ndarray]):
    """Picture ``index`` of the COCO part: (image, [(look, segmentation, visible mask)])."""
    rng = item_rng(seed, "coco", index)
    count = 1 + int(rng.integers(preset.coco_max_instances))
    looks = choose_looks(rng, count, seen, preset.same_look_fraction)
    return render_still(rng, preset, photos, looks)


def write_coco(root: Path, preset: Preset, seed: int, seen: tuple[Look, ...], photos: list[np.ndarray],
               progress) -> dict:
    categories = [{"id": i + 1, "name": look.name, "supercategory": look.shape} for i, look in enumerate(seen)]
    category_id = {look.name: i + 1 for i, look in enumerate(seen)}
    images, annotations = [], []
    for index in range(preset.coco_images):
        image, instances = coco_scene(preset, seed, index, seen, photos)
        file_name = f"{index:06d}.jpg"
        save_jpeg(root / "images" / file_name, image, preset.jpeg_quality)
        image_id = index + 1
        images.append({"id": image_id, "file_name": file_name, "height": preset.height, "width": preset.width})
        for look, segmentation, visible in instances:
            rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category_id[look.name],
                "segmentation": [segmentation] if isinstance(segmentation, list) else segmentation,
                "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
            })
        progress.update(1)
    path = root / "annotations" / "instances_train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"info": {"description": "GVOS-SCM suite synthetic COCO-style instances", "seed": seed},
                "licenses": [], "images": images, "annotations": annotations, "categories": categories}
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    polygons = sum(1 for a in annotations if isinstance(a["segmentation"], list))
    return {"images": len(images), "instances": len(annotations), "polygon_instances": polygons,
            "rle_instances": len(annotations) - polygons, "categories": len(categories)}
