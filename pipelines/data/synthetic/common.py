"""Small helpers shared by the layout writers: per-item random generators, look choice, picture output."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines.data.synthetic.looks import Look
from pipelines.data.synthetic.scenes import ATTRIBUTES


def item_rng(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator that depends only on the seed and the item's identity, never on generation order."""
    keys = [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]
    return np.random.default_rng([seed, *keys])


def choose_looks(rng: np.random.Generator, count: int, pool: tuple[Look, ...], same_look_fraction: float,
                 first_from: tuple[Look, ...] | None = None) -> list[Look]:
    """``count`` looks from ``pool``; with probability ``same_look_fraction`` two or more share one look."""
    first_pool = first_from or pool
    looks = [first_pool[rng.integers(len(first_pool))]]
    looks += [pool[rng.integers(len(pool))] for _ in range(count - 1)]
    if count >= 2 and rng.random() < same_look_fraction:
        copies = int(rng.integers(2, count + 1))
        for index in rng.choice(np.arange(1, count), size=copies - 1, replace=False):
            looks[index] = looks[0]
    return looks


def save_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="JPEG", quality=quality)


def copy_first_frame_iou(labels: np.ndarray, objects: dict[int, int]) -> list[float]:
    """Per object: mean IoU over frames 1..T-2 (the DAVIS evaluated frames) of the first-frame mask
    copied forward; an empty union counts as 1 (as the DAVIS J does)."""
    scores = []
    for obj in sorted(objects):
        first = labels[objects[obj]] == obj
        values = []
        for t in range(1, len(labels) - 1):
            gt = labels[t] == obj
            union = np.logical_or(first, gt).sum()
            values.append(1.0 if union == 0 else np.logical_and(first, gt).sum() / union)
        if values:
            scores.append(float(np.mean(values)))
    return scores


ATTRIBUTES_FILE = "attributes.csv"


def write_attributes(root: Path, rows: list[tuple[str, str, dict[str, bool]]]) -> None:
    """ROOT/attributes.csv: one row per (sequence, split) with a 0/1 column per attribute
    (pipelines.data.synthetic.scenes.ATTRIBUTES)."""
    lines = [",".join(["sequence", "split", *ATTRIBUTES])]
    lines += [",".join([name, split, *(str(int(attrs[a])) for a in ATTRIBUTES)]) for name, split, attrs in rows]
    root.mkdir(parents=True, exist_ok=True)
    (root / ATTRIBUTES_FILE).write_text("\n".join(lines) + "\n")
