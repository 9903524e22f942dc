"""The synthetic DAVIS part: DAVIS-2017 layout, with the single-object videos listed as DAVIS-2016.

Besides train and val, a third split ``holdout`` (ImageSets/2017/holdout.txt, videos ``holdout-NNN``,
mostly multi-object): the videos on which a training recipe is chosen, apart from the val split whose
claims the report judges and from the videos trained on. Every video's content depends only on
(seed, split, index), so adding the split changed no train or val video.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.data.masks import write_mask
from pipelines.data.synthetic.common import (
    choose_looks,
    copy_first_frame_iou,
    item_rng,
    save_jpeg,
    write_attributes,
)
from pipelines.data.synthetic.looks import Look
from pipelines.data.synthetic.presets import Preset
from pipelines.data.synthetic.scenes import render_video

SPLITS = ("train", "val", "holdout")
SPLITS_2016 = ("train", "val")  # DAVIS-2016 lists only these


def object_counts(preset: Preset, split: str, seed: int) -> list[int]:
    """Objects per video of a split: a fixed share of single-object videos, the rest cycling through
    2..max_objects, in a seeded order. The totals depend only on the preset."""
    total = {"train": preset.davis_train, "val": preset.davis_val, "holdout": preset.davis_holdout}[split]
    if preset.max_objects == 1:
        return [1] * total
    fraction = preset.holdout_single_fraction if split == "holdout" else preset.single_object_fraction
    single = min(total, max(1, round(fraction * total)))
    counts = [1] * single + [2 + i % (preset.max_objects - 1) for i in range(total - single)]
    order = item_rng(seed, "davis-order", split).permutation(total)
    return [counts[i] for i in order]


def write_davis(root: Path, preset: Preset, seed: int, seen: tuple[Look, ...], photos: list[np.ndarray],
                progress) -> dict:
    """Write ROOT (the DAVIS folder); return counts and the copy-first-frame J per val object."""
    summary: dict = {}
    attributes = []
    for split in SPLITS:
        names, single, objects, scores = [], [], 0, []
        for index, count in enumerate(object_counts(preset, split, seed)):
            name = f"{split}-{index:03d}"
            rng = item_rng(seed, "davis", split, index)
            looks = choose_looks(rng, count, seen, preset.same_look_fraction)
            video = render_video(rng, preset, photos, looks, preset.frames, allow_late=False)
            for t in range(preset.frames):
                save_jpeg(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", video.images[t], preset.jpeg_quality)
                write_mask(root / "Annotations" / "480p" / name / f"{t:05d}.png", video.labels[t])
            names.append(name)
            attributes.append((name, split, video.attributes))
            if count == 1:
                single.append(name)
            objects += count
            scores += copy_first_frame_iou(video.labels, video.first_frame)
            progress.update(1)
        for year, listed in (("2017", names), ("2016", single)):
            if year == "2016" and split not in SPLITS_2016:
                continue
            path = root / "ImageSets" / year / f"{split}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{n}\n" for n in listed))
        summary[split] = {"videos": len(names), "single_object_videos": len(single), "objects": objects,
                          "frames": len(names) * preset.frames, "copy_first_frame_iou": float(np.mean(scores))}
    write_attributes(root, attributes)
    return summary
