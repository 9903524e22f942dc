"""The synthetic YouTube-VOS part: 2018 layout; objects may enter mid-video; some looks unseen in train."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pipelines.data.masks import write_mask
from pipelines.data.synthetic.common import write_attributes
from pipelines.data.synthetic.common import choose_looks, item_rng, save_jpeg
from pipelines.data.synthetic.looks import Look
from pipelines.data.synthetic.presets import Preset
from pipelines.data.synthetic.scenes import RenderedVideo, render_video

FRAME_STEP = 5  # the real set stores every 5th frame, named by its original index


def video_name(seed: int, split: str, index: int) -> str:
    return hashlib.sha1(f"synthetic-ytvos-{seed}-{split}-{index}".encode()).hexdigest()[:10]


def _meta_entry(video: RenderedVideo, stems: list[str], split: str) -> dict:
    objects = {}
    for obj in sorted(video.looks):
        if split == "train":
            frames = [stems[t] for t in range(len(stems)) if (video.labels[t] == obj).any()]
        else:
            frames = stems[video.first_frame[obj]:]
        objects[str(obj)] = {"category": video.looks[obj].name, "frames": frames}
    return {"objects": objects}


def write_youtubevos(root: Path, preset: Preset, seed: int, seen: tuple[Look, ...], unseen: tuple[Look, ...],
                     photos: list[np.ndarray], progress) -> dict:
    summary: dict = {}
    attributes = []
    stems = [f"{t * FRAME_STEP:05d}" for t in range(preset.yt_frames)]
    for split, total in (("train", preset.yt_train), ("valid", preset.yt_valid)):
        if split == "valid":  # "seen" means seen in train: draw valid's seen objects from train's looks
            seen = tuple(look for look in seen if look.name in summary["train"]["categories"])
        meta, objects, late, categories = {}, 0, 0, {}
        order = item_rng(seed, "ytvos-order", split).permutation(total)
        for index in range(total):
            name = video_name(seed, split, index)
            rng = item_rng(seed, "ytvos", split, index)
            count = 1 + int(order[index]) % preset.max_objects
            if split == "train":
                looks = choose_looks(rng, count, seen, preset.same_look_fraction)
            else:
                first_from = unseen if unseen and index % 3 == 0 else seen
                looks = choose_looks(rng, count, seen + unseen, preset.same_look_fraction, first_from)
            video = render_video(rng, preset, photos, looks, preset.yt_frames, allow_late=True)
            for t, stem in enumerate(stems):
                save_jpeg(root / split / "JPEGImages" / name / f"{stem}.jpg", video.images[t], preset.jpeg_quality)
            if split == "train":
                for t, stem in enumerate(stems):
                    write_mask(root / split / "Annotations" / name / f"{stem}.png", video.labels[t])
            else:
                for t in sorted(set(video.first_frame.values())):
                    write_mask(root / split / "Annotations" / name / f"{stems[t]}.png", video.labels[t])
                for t, stem in enumerate(stems):
                    write_mask(root / "valid_gt" / "Annotations" / name / f"{stem}.png", video.labels[t])
            meta[name] = _meta_entry(video, stems, split)
            attributes.append((name, split, video.attributes))
            objects += len(video.looks)
            late += sum(1 for f in video.first_frame.values() if f > 0)
            for look in video.looks.values():
                categories[look.name] = categories.get(look.name, 0) + 1
            progress.update(1)
        path = root / split / "meta.json"
        path.write_text(json.dumps({"videos": dict(sorted(meta.items()))}, indent=1, sort_keys=True) + "\n")
        unseen_names = {look.name for look in unseen}
        summary[split] = {
            "videos": total, "frames": total * preset.yt_frames, "objects": objects,
            "objects_first_appearing_mid_video": late,
            "unseen_objects": sum(n for c, n in categories.items() if c in unseen_names),
            "categories": dict(sorted(categories.items())),
        }
    write_attributes(root, attributes)
    return summary
