"""Scores on chosen frames of an object: the frames after it reappears (``r``) and the frames it is absent
(``d``), in the spirit of MOSEv2's J&F_r and J&F_d (henghuiding/MOSE-api, MOSEv2 tools/score.py).

A frame group is registered like a metric: a name and a function of one object's presence that returns its
segments, each a run of evaluated frames. An object's group score is the mean over its segments of the mean
of the per-frame J (and F) over the segment; ``J&F_<g>`` is the mean of the two, as the headline is. An
object with no segment of a group gets NaN there, and the group's global value is the mean over the objects
that have one (``n_objects_<g>`` of them).

Presence is the ground truth's: ``present`` (T,) over *every* frame of the video, frame 0 included;
the evaluated frames are 1..T-2 (the DAVIS protocol), so segments index ``present[1:-1]``.

- ``d`` (absent): each run of evaluated frames where the object's mask is empty after the object has
  been seen (an empty prediction is right there: J = F = 1, anything predicted gives 0);
- ``r`` (reappeared): from each frame where the object is back after such a run up to its next absence
  or the last evaluated frame.

Where these differ from MOSEv2's: J and F are the DAVIS ones of this evaluator (MOSEv2 adds 1 to the
intersection and union of J and scales F's tolerance with the object's size); presence before the first
evaluated frame counts (frame 0 holds the given mask), so an absence that starts at the first evaluated
frame is an absence here, where MOSEv2 leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipelines.evaluation.metrics import HEADLINE_PARTS


@dataclass(frozen=True)
class FrameGroup:
    name: str
    description: str
    segments: Callable  # present (T,) bool -> list of int arrays of evaluated-frame indices


FRAME_GROUPS: dict[str, FrameGroup] = {}


def register_frame_group(name: str, description: str):
    """Decorator registering ``fn(present: bool (T,)) -> list[np.ndarray]`` as frame group ``name``."""
    if not name or not name.isalnum():
        raise ValueError(f"frame group name {name!r}: letters and digits only")

    def add(fn: Callable) -> Callable:
        if name in FRAME_GROUPS:
            raise ValueError(f"frame group {name!r} is registered already")
        FRAME_GROUPS[name] = FrameGroup(name, description, fn)
        return fn

    return add


def unregister_frame_group(name: str) -> None:
    FRAME_GROUPS.pop(name)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in ``flags``."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return list(zip(change[0::2].tolist(), change[1::2].tolist(), strict=True))


def _absences(present: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) over the evaluated frames of each absence that follows a frame the object was seen."""
    present = np.asarray(present, dtype=bool)
    seen_before = np.maximum.accumulate(present)
    absent = ~present & np.concatenate([[False], seen_before[:-1]])
    return _runs(absent[1:-1])


@register_frame_group("d", "frames where the object is absent after it was seen (an empty prediction is right)")
def absent_segments(present: np.ndarray) -> list[np.ndarray]:
    return [np.arange(a, b) for a, b in _absences(present)]


@register_frame_group("r", "frames from the object's return after an absence to its next absence or the end")
def reappeared_segments(present: np.ndarray) -> list[np.ndarray]:
    evaluated = len(present) - 2
    segments = []
    for _, stop in _absences(present):
        if stop >= evaluated:
            continue  # absent to the end: nothing came back
        end = next((i for i in range(stop, evaluated) if not present[i + 1]), evaluated)
        segments.append(np.arange(stop, end))
    return segments


def group_columns() -> list[str]:
    """Per-object columns of every frame group: ``J_<g>``, ``F_<g>``, ``J&F_<g>``."""
    return [column for g in FRAME_GROUPS for column in (*[f"{m}_{g}" for m in HEADLINE_PARTS], f"J&F_{g}")]


def count_columns() -> list[str]:
    """Global columns counting the objects each group's mean is over: ``n_objects_<g>``."""
    return [f"n_objects_{g}" for g in FRAME_GROUPS]


def object_group_scores(values: dict[str, np.ndarray], present: np.ndarray) -> dict[str, float]:
    """``group_columns()`` of one object: ``values`` metric -> (T - 2,) per evaluated frame (J, F as
    fractions), ``present`` (T,) bool over every frame."""
    row = {}
    for g, group in FRAME_GROUPS.items():
        segments = group.segments(np.asarray(present, dtype=bool))
        parts = []
        for metric in HEADLINE_PARTS:
            value = float(np.mean([values[metric][s].mean() for s in segments])) if segments else float("nan")
            row[f"{metric}_{g}"] = value
            parts.append(value)
        row[f"J&F_{g}"] = (parts[0] + parts[1]) / 2
    return row


def global_group_scores(per_object) -> dict[str, float]:
    """Each group column's mean over the objects that have the group, and ``n_objects_<g>``."""
    row = {}
    for column in group_columns():
        values = per_object[column].dropna() if column in per_object else []
        row[column] = float(np.mean(values)) if len(values) else float("nan")
    for g, column in zip(FRAME_GROUPS, count_columns(), strict=True):
        row[column] = int(per_object[f"J&F_{g}"].notna().sum()) if f"J&F_{g}" in per_object else 0
    return row
