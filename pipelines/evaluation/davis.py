"""DAVIS semi-supervised evaluation (2017 multi-object, 2016 single-object), equal to the official
davisvideochallenge/davis2017-evaluation (commit ac7c43f) to the last bit on its conventions:

- Sequences: ``ImageSets/<year>/<split>.txt`` (blank lines skipped, duplicates evaluated once).
- Frames: the sequence's ``Annotations/<resolution>/<seq>/*.png`` sorted by name; the first and the
  last are not evaluated; predictions are read as ``PRED/<seq>/<frame>.png`` for the frames between.
  (``JPEGImages`` is never read.)
- Objects (2017): ids 1..K, K = highest id in the first GT frame after void (255) -> 0. GT ids above
  K are background; void is background (not excluded). Predicted objects missing -> empty masks.
  A predicted id above K is an error here (the official prints a message and exits 0 with no CSV).
- 2016: all GT ids > 0 except 255 merged into object 1, likewise for the prediction.
- J, F (and any other registered metric, metrics.py), statistics and averaging: see region.py,
  boundary.py, statistics.py; global values are plain means over all objects of all sequences;
  J&F = (J-Mean + F-Mean) / 2.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.common.files import DataError, inside_root
from pipelines.data.masks import VOID_ID, read_mask
from pipelines.data.video import list_frames, read_text_file
from pipelines.evaluation.boundary import boundary_radius
from pipelines.evaluation.frame_groups import group_columns, object_group_scores
from pipelines.evaluation.frames import read_mask_pair
from pipelines.evaluation.metrics import HEADLINE, HEADLINE_PARTS, METRICS, STATISTICS, global_columns
from pipelines.evaluation.parallel import run_tasks
from pipelines.evaluation.result import (
    ID_COLUMNS,
    PER_SEQUENCE_COLUMNS,
    EvalResult,
    per_object_frame,
    per_sequence_table,
)
from pipelines.evaluation.scores import frame_scores

log = logging.getLogger("gvos.evaluate")

FRAMES_PER_TASK = 8
YEARS = ("2016", "2017")


@dataclass(frozen=True)
class SequencePlan:
    """What to evaluate in one sequence; ``evaluated`` are frame stems, ``object_ids`` 1..K."""

    name: str
    gt_dir: Path
    pred_dir: Path
    evaluated: tuple[str, ...]
    object_ids: tuple[int, ...]
    shape: tuple[int, int]
    radius: int
    merge_objects: bool
    present_first: tuple[bool, ...] = ()  # each object's presence in the first frame (frame groups)


def read_sequence_list(gt_root: str | Path, year: str, split: str) -> list[str]:
    path = Path(gt_root) / "ImageSets" / str(year) / f"{split}.txt"
    if not path.is_file():
        raise DataError(path, f"sequence list for split {split!r} (year {year}) does not exist")
    names = [line.strip() for line in read_text_file(path, "sequence list").splitlines()]
    names = list(dict.fromkeys(name for name in names if name))
    if not names:
        raise DataError(path, "sequence list is empty")
    for name in names:
        inside_root(Path(gt_root) / "Annotations", name, "sequence", path)
    return names


def merge_to_single_object(labels: np.ndarray) -> np.ndarray:
    """DAVIS-2016 view of a label map: every id > 0 except void becomes 1, ``uint8 (H, W)``."""
    return ((labels > 0) & (labels != VOID_ID)).astype(np.uint8)


def plan_sequence(gt_root: Path, pred_root: Path, name: str, year: str, resolution: str) -> SequencePlan:
    gt_dir = gt_root / "Annotations" / resolution / name
    if not gt_dir.is_dir():
        raise DataError(gt_dir, f"sequence {name}: ground-truth annotation folder does not exist")
    frames = [path.stem for path in list_frames(gt_dir, (".png",))]
    if len(frames) < 3:
        raise DataError(gt_dir, f"sequence {name}: needs at least 3 annotated frames, found {len(frames)}")
    evaluated = tuple(frames[1:-1])
    pred_dir = pred_root / name
    if not pred_dir.is_dir():
        raise DataError(pred_dir, f"sequence {name}: no prediction folder for this sequence of the split")
    for frame in evaluated:
        if not (pred_dir / f"{frame}.png").is_file():
            raise DataError(
                pred_dir / f"{frame}.png", f"sequence {name}, frame {frame}: prediction is missing"
            )
    first = read_mask(gt_dir / f"{frames[0]}.png")
    if year == "2016":
        first = merge_to_single_object(first)
    else:
        first = np.where(first == VOID_ID, 0, first)
    num_objects = int(first.max())
    counts = np.bincount(first.ravel(), minlength=num_objects + 1)
    return SequencePlan(
        name=name,
        gt_dir=gt_dir,
        pred_dir=pred_dir,
        evaluated=evaluated,
        object_ids=tuple(range(1, num_objects + 1)),
        shape=first.shape,
        radius=boundary_radius(*first.shape),
        merge_objects=(year == "2016"),
        present_first=tuple(bool(counts[obj]) for obj in range(1, num_objects + 1)),
    )


def load_frame_pair(plan: SequencePlan, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """GT and prediction of one frame as ``uint8 (H, W)``, cleaned and checked."""
    gt_path, pred_path = plan.gt_dir / f"{frame}.png", plan.pred_dir / f"{frame}.png"
    where = f"sequence {plan.name}, frame {frame}"
    gt, pred = read_mask_pair(gt_path, pred_path, plan.shape, where, "the sequence's first frame is")
    if plan.merge_objects:
        return merge_to_single_object(gt), merge_to_single_object(pred)
    num_objects = len(plan.object_ids)
    gt[gt > num_objects] = 0  # void and ids not in the first frame are background
    top = int(pred.max())
    if top > num_objects:
        raise DataError(
            pred_path,
            f"{where}: predicted object id {top} is above the number of "
            f"ground-truth objects ({num_objects}, ids from the first frame)",
        )
    return gt, pred


def score_frames(task: tuple[int, int, SequencePlan, tuple[str, ...]]):
    """Worker: metric name -> ``float64 (K, n)`` of ``n`` consecutive evaluated frames of one sequence, and
    each object's presence in the ground truth of those frames, ``bool (K, n)``."""
    seq_index, start, plan, frames = task
    scores = {name: np.empty((len(plan.object_ids), len(frames))) for name in METRICS}
    present = np.empty((len(plan.object_ids), len(frames)), dtype=bool)
    for column, frame in enumerate(frames):
        gt, pred = load_frame_pair(plan, frame)
        for name, values in frame_scores(gt, pred, list(plan.object_ids), plan.radius).items():
            scores[name][:, column] = values
        present[:, column] = np.bincount(gt.ravel(), minlength=256)[list(plan.object_ids)] > 0
    return seq_index, start, scores, present


def evaluate_davis(
    gt_root: str | Path,
    pred_dir: str | Path,
    split: str = "val",
    year: str = "2017",
    workers: int = 2,
    resolution: str = "480p",
) -> EvalResult:
    """Evaluate palette-PNG predictions ``pred_dir/<seq>/<frame>.png`` on a DAVIS split."""
    started = time.perf_counter()
    year = str(year)
    if year not in YEARS:
        raise ValueError(f"year must be one of {YEARS}, got {year!r}")
    gt_root, pred_root = Path(gt_root), Path(pred_dir)
    if not pred_root.is_dir():
        raise DataError(pred_root, "prediction folder does not exist")
    plans = [
        plan_sequence(gt_root, pred_root, name, year, resolution)
        for name in read_sequence_list(gt_root, year, split)
    ]
    warn_unscored(plans, f"DAVIS {year} {split}")

    tasks = []
    for seq_index, plan in enumerate(plans):
        if not plan.object_ids:
            continue
        for start in range(0, len(plan.evaluated), FRAMES_PER_TASK):
            tasks.append((seq_index, start, plan, plan.evaluated[start : start + FRAMES_PER_TASK]))
    tasks.sort(key=lambda task: -len(task[3]) * len(task[2].object_ids))  # big tasks first

    scores = [{name: np.empty((len(p.object_ids), len(p.evaluated))) for name in METRICS} for p in plans]
    # presence over every frame but the last (never evaluated): the frame groups need frame 0's
    presence = [np.zeros((len(p.object_ids), len(p.evaluated) + 1), dtype=bool) for p in plans]
    for plan, present in zip(plans, presence, strict=True):
        present[:, 0] = plan.present_first
    progress = run_tasks(
        score_frames, tasks, workers, desc=f"DAVIS {year} {split}", while_waiting=import_pandas
    )
    for seq_index, start, chunk, present in progress:
        for name, values in chunk.items():
            scores[seq_index][name][:, start : start + values.shape[1]] = values
        presence[seq_index][:, 1 + start : 1 + start + present.shape[1]] = present

    result = build_tables(plans, scores, split, presence)
    result.seconds = time.perf_counter() - started
    return result


def warn_unscored(plans, where: str) -> list[str]:
    """Log the sequences that no object of theirs is scored in (an empty first-frame annotation): the
    official evaluator drops them from the means without a word; the means here do the same, and say so."""
    empty = [plan.name for plan in plans if not plan.object_ids]
    if empty:
        log.warning("%s: %d sequence(s) have no object in their first-frame annotation and are left out of the "
                    "scores, as the official evaluator leaves them: %s", where, len(empty), ", ".join(empty))
    return empty


def import_pandas() -> None:
    """Import pandas while the workers compute (it takes about a second on a busy machine)."""
    import pandas  # noqa: F401


def build_tables(plans: list[SequencePlan], scores: list[dict[str, np.ndarray]], split: str,
                 presence: list[np.ndarray] | None = None) -> EvalResult:
    """Official aggregation: statistics per object, then plain means over all objects. With ``presence``
    (per sequence ``bool (K, T - 1)``: each object in the ground truth of frames 0..T-2), the per-object
    table also has the frame groups' columns (frame_groups.group_columns()); the official tables do not."""
    import pandas as pd

    objects, groups, frames = [], [], []
    for index, (plan, seq_scores) in enumerate(zip(plans, scores, strict=True)):
        for row, obj in enumerate(plan.object_ids):
            values = {name: seq_scores[name][row] for name in METRICS}
            objects.append(per_object_frame(plan.name, obj, values))
            if presence is not None:  # the last frame is never evaluated: its presence changes no segment
                groups.append(object_group_scores(values, np.append(presence[index][row], False)))
            frames.append(pd.DataFrame({"sequence": plan.name, "object": obj, "frame": list(plan.evaluated), **values}))
    per_object = pd.DataFrame(objects, columns=[*ID_COLUMNS, *[f"{m}-{s}" for m in METRICS for s in STATISTICS]])
    if presence is not None:
        per_object = pd.concat([per_object, pd.DataFrame(groups, columns=group_columns(), dtype=float)], axis=1)
    per_frame = (pd.concat(frames, ignore_index=True) if frames
                 else pd.DataFrame(columns=[*ID_COLUMNS, "frame", *METRICS]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # no objects at all -> NaN
        means = {
            column: np.mean(np.ascontiguousarray(per_object[column].to_numpy(dtype=np.float64)))
            for column in global_columns() if column in per_object
        }
    parts = [means[f"{name}-Mean"] for name in HEADLINE_PARTS]
    means[HEADLINE] = (parts[0] + parts[1]) / 2.0
    columns = global_columns()
    global_ = pd.DataFrame([[means[c] for c in columns]], columns=columns)
    return EvalResult(
        global_=global_,
        per_sequence=per_sequence_table(per_object, PER_SEQUENCE_COLUMNS),
        per_object=per_object,
        per_frame=per_frame,
        split=split,
    )
