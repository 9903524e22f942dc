"""YouTube-VOS-2018-style evaluation: J and F for seen and unseen categories, and their mean.

Layout (docs/interfaces.md): ``ROOT/train/meta.json`` (training categories), ``ROOT/<split>/meta.json``
(the evaluated videos: ``{"videos": {video: {"objects": {id: {"category": c, ...}}}}}``),
``ROOT/<split>/Annotations/<video>/*.png`` (the first-appearance annotations a method is given) and
``ROOT/<gt_split>/Annotations/<video>/*.png`` (ground truth for every evaluated frame; our extension).

Protocol, as we read the YouTube-VOS benchmark (its server code is not public):
- Each object is evaluated on the ground-truth frames strictly after the frame where it is first
  given (its first frame in ``<split>/Annotations``); no last-frame exclusion.
- Per frame, J and F (and every other registered metric, metrics.py) exactly as DAVIS (boundary.py,
  region.py): void 255 -> background, both masks empty -> 1; per object the mean over its evaluated
  frames.
- seen = the object's category occurs among the objects of ``train/meta.json``, else unseen.
  J_seen = mean of the per-object J means over seen objects (likewise every metric's _seen, _unseen);
  overall = (J_seen + J_unseen + F_seen + F_unseen) / 4, NaN if a group is empty.
- A predicted id that is not one of the video's objects is an error (it cannot be scored).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.common.files import DataError, inside_root
from pipelines.data.masks import VOID_ID, read_mask
from pipelines.data.video import list_frames
from pipelines.evaluation.boundary import boundary_radius
from pipelines.evaluation.davis import import_pandas
from pipelines.evaluation.frames import read_mask_pair
from pipelines.evaluation.metrics import HEADLINE_PARTS, METRICS, STATISTICS
from pipelines.evaluation.parallel import run_tasks
from pipelines.evaluation.result import (
    ID_COLUMNS,
    YOUTUBEVOS_PER_SEQUENCE_COLUMNS,
    EvalResult,
    per_object_frame,
    per_sequence_table,
)
from pipelines.evaluation.scores import frame_scores

FRAMES_PER_TASK = 8


@dataclass(frozen=True)
class VideoPlan:
    """One video: GT frames after the earliest first appearance, and each object's first frame."""

    name: str
    gt_dir: Path
    pred_dir: Path
    frames: tuple[str, ...]
    first_frame: dict[int, str]  # object id -> stem of the frame where it is given
    categories: dict[int, str]
    shape: tuple[int, int]
    radius: int

    def active(self, frame: str) -> list[int]:
        """Objects evaluated on ``frame`` (given strictly before it)."""
        return [obj for obj, first in self.first_frame.items() if first < frame]


def read_meta(path: Path) -> dict:
    if not path.is_file():
        raise DataError(path, "meta.json does not exist")
    try:
        meta = json.loads(path.read_text())
        videos = meta["videos"]
        for entry in videos.values():
            for obj, info in entry["objects"].items():
                int(obj), info["category"]  # noqa: B018 - validate the structure only
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(path, f"not a YouTube-VOS meta.json ({err.__class__.__name__}: {err})") from err
    return videos


def seen_categories(root: Path, train_split: str = "train") -> set[str]:
    videos = read_meta(root / train_split / "meta.json")
    return {info["category"] for entry in videos.values() for info in entry["objects"].values()}


def plan_video(root: Path, pred_root: Path, split: str, gt_split: str, name: str, objects: dict) -> VideoPlan:
    given_dir = root / split / "Annotations" / name
    gt_dir = root / gt_split / "Annotations" / name
    for folder in (given_dir, gt_dir):
        if not folder.is_dir():
            raise DataError(folder, f"video {name}: annotation folder does not exist")
    categories = {int(obj): info["category"] for obj, info in objects.items()}
    first_frame: dict[int, str] = {}
    for path in list_frames(given_dir, (".png",)):
        present = set(np.unique(read_mask(path)).tolist())
        for obj in categories:
            if obj in present and obj not in first_frame:
                first_frame[obj] = path.stem
    missing = sorted(set(categories) - set(first_frame))
    if missing:
        raise DataError(
            given_dir, f"video {name}: objects {missing} of meta.json never appear in the given annotations"
        )
    gt_frames = [path.stem for path in list_frames(gt_dir, (".png",))]
    if not gt_frames:
        raise DataError(gt_dir, f"video {name}: no ground-truth frames")
    start = min((int(frame) for frame in first_frame.values()), default=-1)
    frames = tuple(frame for frame in gt_frames if int(frame) > start)
    pred_dir = pred_root / name
    if frames and not pred_dir.is_dir():
        raise DataError(pred_dir, f"video {name}: no prediction folder for this video of the split")
    for frame in frames:
        if not (pred_dir / f"{frame}.png").is_file():
            raise DataError(pred_dir / f"{frame}.png", f"video {name}, frame {frame}: prediction is missing")
    shape = read_mask(gt_dir / f"{gt_frames[0]}.png").shape
    return VideoPlan(name, gt_dir, pred_dir, frames, first_frame, categories, shape, boundary_radius(*shape))


def score_video_frames(task: tuple[int, VideoPlan, tuple[str, ...]]):
    """Worker: ``[(object, frame, *one value per metric)]`` for the objects active on each of the frames."""
    video_index, plan, frames = task
    objects = sorted(plan.categories)
    lookup = np.zeros(256, dtype=bool)
    lookup[objects] = True
    rows = []
    for frame in frames:
        gt_path, pred_path = plan.gt_dir / f"{frame}.png", plan.pred_dir / f"{frame}.png"
        where = f"video {plan.name}, frame {frame}"
        gt, pred = read_mask_pair(gt_path, pred_path, plan.shape, where, "expected")
        gt[~lookup[gt]] = 0  # void and unlisted ids are background
        unknown = sorted(set(np.unique(pred).tolist()) - {0} - set(objects))
        if unknown:
            raise DataError(
                pred_path,
                f"{where}: predicted ids {unknown} are not objects of this video (objects: {objects})",
            )
        active = plan.active(frame)
        scores = frame_scores(gt, pred, active, plan.radius)
        rows.extend(zip(active, [frame] * len(active), *[scores[name].tolist() for name in METRICS], strict=True))
    return video_index, rows


def evaluate_youtubevos(
    root: str | Path,
    pred_dir: str | Path,
    split: str = "valid",
    gt_split: str = "valid_gt",
    train_split: str = "train",
    workers: int = 2,
) -> EvalResult:
    """Evaluate ``pred_dir/<video>/<frame>.png`` on a YouTube-VOS-style split (see module doc)."""
    started = time.perf_counter()
    root, pred_root = Path(root), Path(pred_dir)
    if not pred_root.is_dir():
        raise DataError(pred_root, "prediction folder does not exist")
    seen = seen_categories(root, train_split)
    videos = read_meta(root / split / "meta.json")
    for name in videos:
        inside_root(root / split / "Annotations", name, "video", root / split / "meta.json")
    plans = [
        plan_video(root, pred_root, split, gt_split, name, videos[name]["objects"]) for name in sorted(videos)
    ]
    if VOID_ID in {obj for plan in plans for obj in plan.categories}:
        raise DataError(root / split / "meta.json", f"object id {VOID_ID} is reserved for void")

    tasks = [
        (index, plan, plan.frames[start : start + FRAMES_PER_TASK])
        for index, plan in enumerate(plans)
        for start in range(0, len(plan.frames), FRAMES_PER_TASK)
    ]
    rows: list[tuple] = []
    progress = run_tasks(
        score_video_frames, tasks, workers, desc=f"YouTube-VOS {split}", while_waiting=import_pandas
    )
    for video_index, video_rows in progress:
        rows.extend((plans[video_index].name, *row) for row in video_rows)
    result = build_youtubevos_tables(plans, rows, seen, split)
    result.seconds = time.perf_counter() - started
    return result


def build_youtubevos_tables(
    plans: list[VideoPlan], rows: list[tuple], seen: set[str], split: str
) -> EvalResult:
    import pandas as pd

    per_frame = pd.DataFrame(rows, columns=[*ID_COLUMNS, "frame", *METRICS])
    per_frame = per_frame.sort_values(["sequence", "object", "frame"], ignore_index=True)
    grouped = {key: group for key, group in per_frame.groupby(["sequence", "object"], sort=False)}
    stat_columns = [f"{m}-{s}" for m in METRICS for s in STATISTICS]
    objects = []
    for plan in plans:
        for obj in sorted(plan.categories):
            group = grouped.get((plan.name, obj))
            if group is None:
                warnings.warn(
                    f"video {plan.name}: object {obj} has no frame after its first one; not scored",
                    stacklevel=2,
                )
                row = (plan.name, obj, *[np.nan] * len(stat_columns))
            else:
                row = per_object_frame(plan.name, obj, {name: group[name].to_numpy() for name in METRICS})
            category = plan.categories[obj]
            objects.append((*row, category, category in seen, plan.first_frame[obj]))
    per_object = pd.DataFrame(objects, columns=[*ID_COLUMNS, *stat_columns, "category", "seen", "first_frame"])

    def group_mean(column: str, is_seen: bool) -> float:
        values = per_object.loc[per_object["seen"] == is_seen, column].dropna().to_numpy(dtype=np.float64)
        return float(np.mean(values)) if values.size else float("nan")

    groups = {f"{name}_{label}": group_mean(f"{name}-Mean", is_seen)
              for name in METRICS for label, is_seen in (("seen", True), ("unseen", False))}
    overall = sum(groups[f"{name}_{label}"] for name in HEADLINE_PARTS for label in ("seen", "unseen")) / 4
    global_ = pd.DataFrame([{"overall": overall, **groups}])
    per_sequence = per_sequence_table(
        per_object, YOUTUBEVOS_PER_SEQUENCE_COLUMNS, Category=per_object["category"], Seen=per_object["seen"]
    )
    return EvalResult(
        global_=global_,
        per_sequence=per_sequence,
        per_object=per_object,
        per_frame=per_frame,
        split=split,
    )
