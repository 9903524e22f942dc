"""Where each dataset lives: the `data:` section of the config resolved to folders, and the checks that a
folder really is such a dataset (made by the workflow at dry-run time and by the CLIs at start-up).

With ``data.synthetic`` set, every root not given explicitly is the generated set under
``SYNTHETIC_ROOT`` (relative to the working directory: the workflow's folder, or wherever the README's
single-step commands run). ``davis2016`` falls back to the DAVIS root (its ``ImageSets/2016`` lists).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.data.coco import ANNOTATION_FILES, IMAGE_DIRS

SYNTHETIC_ROOT = "data/synthetic"
SYNTHETIC_FOLDERS = {"davis": "DAVIS", "davis2016": "DAVIS", "youtubevos": "YouTubeVOS", "coco": "COCO"}
ROOT_KEYS = ("davis", "davis2016", "youtubevos", "coco")
DATASET_ROOT_KEY = {"davis2017": "davis", "davis2016": "davis2016", "youtubevos": "youtubevos"}
"""Evaluation / main-training dataset name -> the data key of its root."""


def dataset_roots(data: dict | None) -> dict[str, str | None]:
    """Root folder per data key (``ROOT_KEYS``), None where neither given nor generated."""
    data = data or {}
    roots = {key: data.get(key) for key in ROOT_KEYS}
    if data.get("synthetic"):
        for key in ROOT_KEYS:
            if not roots[key]:
                roots[key] = f"{SYNTHETIC_ROOT}/{SYNTHETIC_FOLDERS[key]}"
    if not roots["davis2016"]:
        roots["davis2016"] = roots["davis"]
    return {key: (str(Path(value).expanduser()) if value else None) for key, value in roots.items()}


def required_parts(key: str, uses: set[str]) -> list[list[str]]:
    """Relative paths a root must hold for its uses ('train', 'val'); each entry lists alternatives."""
    if key in ("davis", "davis2016"):
        year = "2016" if key == "davis2016" else "2017"
        parts = [["JPEGImages/480p"], ["Annotations/480p"]]
        splits = {"train": "train.txt", "val": "val.txt"}
        for use in sorted(uses):
            alternatives = [f"ImageSets/{year}/{splits[use]}"]
            if year == "2016":
                alternatives.append(f"ImageSets/480p/{splits[use]}")
            parts.append(alternatives)
        return parts
    if key == "youtubevos":
        split = {"train": "train", "val": "valid"}
        return [[f"{split[use]}/{part}"] for use in sorted(uses) for part in ("JPEGImages", "Annotations", "meta.json")]
    if key == "coco":
        return [[f"annotations/{name}" for name in ANNOTATION_FILES], list(IMAGE_DIRS)]
    raise ValueError(f"unknown data key {key!r}")


def root_problems(key: str, root: str | Path, uses: set[str]) -> list[str]:
    """What is missing from a dataset root for its uses (empty when it looks complete)."""
    root = Path(root)
    if not root.is_dir():
        return [f"{root}: dataset folder does not exist"]
    missing = []
    for alternatives in required_parts(key, uses):
        if not any((root / part).exists() for part in alternatives):
            missing.append(" or ".join(alternatives))
    return [f"{root}: missing {', '.join(missing)} (not a {key} root?)"] if missing else []
