"""The synthetic DAVIS part: DAVIS-2017 layout, with the single-object videos listed as DAVIS-2016.

Besides train and val, a third split ``holdout`` (ImageSets/2017/holdout.txt, videos ``holdout-NNN``,
mostly multi-object): the videos on which a training recipe is chosen, apart from the val split whose
claims the report judges and from the videos trained on. Every video's content depends only on
(seed, split, index), so adding the split changed no train or val video.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from pipelines.data.synthetic.presets import REAPPEAR_FIRST_ABSENT, Preset
from pipelines.data.synthetic.scenes import Absence, RenderedVideo, render_video

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


def reappearance_videos(preset: Preset, split: str, seed: int, counts: list[int]) -> set[int]:
    """The indices of a split's reappearance videos: ``reappear_fraction`` of its multi-object videos, in a
    seeded order of their own, at least one where the fraction is above 0 (none when it is 0, so no other
    video changes)."""
    multi = [index for index, count in enumerate(counts) if count >= 2]
    if preset.reappear_fraction == 0 or not multi:
        return set()
    chosen = max(1, round(preset.reappear_fraction * len(multi)))
    order = item_rng(seed, "davis-reappear-order", split).permutation(len(multi))
    return {multi[i] for i in order[:chosen]}


def plan_absence(rng: np.random.Generator, preset: Preset, looks: list[Look]) -> tuple[list[Look], Absence]:
    """Looks with a same-look pair (two drawn objects made twins if none share a look) and the absence of
    one of the twins: its length in ``absence_frames``, its start leaving ``frames_after_return``."""
    looks = list(looks)
    shared = [i for i, look in enumerate(looks) if looks.count(look) > 1]
    if not shared:
        first, second = sorted(rng.choice(len(looks), size=2, replace=False).tolist())
        looks[second] = looks[first]
        shared = [first, second]
    shortest, longest = preset.absence_frames
    length = int(rng.integers(shortest, longest + 1))
    latest = preset.frames - 1 - preset.frames_after_return - length
    start = int(rng.integers(REAPPEAR_FIRST_ABSENT, latest + 1))
    return looks, Absence(int(rng.choice(shared)), start, length)


def split_videos(preset: Preset, seed: int, split: str, seen: tuple[Look, ...],
                 photos: list[np.ndarray]) -> Iterator[tuple[str, int, RenderedVideo]]:
    """(name, objects, rendered video) of every video of a split, in order."""
    counts = object_counts(preset, split, seed)
    reappearing = reappearance_videos(preset, split, seed, counts)
    for index, count in enumerate(counts):
        rng = item_rng(seed, "davis", split, index)
        looks = choose_looks(rng, count, seen, preset.same_look_fraction)
        absence = None
        if index in reappearing:
            looks, absence = plan_absence(item_rng(seed, "davis-reappear", split, index), preset, looks)
        video = render_video(rng, preset, photos, looks, preset.frames, allow_late=False, absence=absence)
        yield f"{split}-{index:03d}", count, video


def write_davis(root: Path, preset: Preset, seed: int, seen: tuple[Look, ...], photos: list[np.ndarray],
                progress) -> dict:
    """Write ROOT (the DAVIS folder); return counts and the copy-first-frame J per val object."""
    summary: dict = {}
    attributes, reappearances = [], []
    for split in SPLITS:
        names, single, objects, scores = [], [], 0, []
        reappearing = 0
        for name, count, video in split_videos(preset, seed, split, seen, photos):
            reappearing += bool(video.absences)
            for obj, (start, length) in video.absences.items():
                twins = [other for other, look in video.looks.items() if other != obj and look == video.looks[obj]]
                reappearances.append((name, split, obj, ";".join(map(str, twins)), start, length))
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
        if preset.reappear_fraction > 0:
            summary[split]["reappearance_videos"] = reappearing
    write_attributes(root, attributes)
    if preset.reappear_fraction > 0:
        write_reappearances(root, reappearances)
    return summary


REAPPEARANCE_FILE = "reappearance.csv"


def write_reappearances(root: Path, rows: list[tuple]) -> None:
    """ROOT/reappearance.csv: per reappearance video its returning object, that object's same-look twin(s),
    and the first frame and number of frames it is gone from the label maps."""
    lines = ["sequence,split,object,twins,absent_from,absent_frames"]
    lines += [",".join(str(v) for v in row) for row in rows]
    (root / REAPPEARANCE_FILE).write_text("\n".join(lines) + "\n")
