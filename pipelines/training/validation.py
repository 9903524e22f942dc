"""The held-out check of convergence: J&F of the model in training on the held-out DAVIS-2017 videos.

Scored as the DAVIS protocol scores a split (pipelines.evaluation): each object's J and F averaged over
the frames between the first and the last, then over the objects; J&F is the mean of the two. Beside
it: an interval over objects (percentile bootstrap), J&F of the single- and of the multi-object videos
apart (telling objects apart is what the multi-object ones test), and the SCM's mean gate inside and
outside the previous mask (pipelines.predicting.scm_gate), so a curve shows when and how a run learns identity.
"""

from __future__ import annotations

import numpy as np
import torch

from methods.inference import InferenceEngine
from pipelines.common.intervals import bootstrap_interval
from pipelines.data.masks import VOID_ID
from pipelines.evaluation.boundary import boundary_radius
from pipelines.evaluation.frame_groups import object_group_scores
from pipelines.evaluation.scores import frame_scores
from pipelines.experiment import datasets
from pipelines.experiment.datasets import HOLDOUT_DATASET
from pipelines.experiment.roots import dataset_root
from pipelines.predicting.scm_gate import GateRecorder, gate_statistics
from pipelines.predicting.segment import segment_video

VALIDATION_COLUMNS = ["iteration", "J", "F", "J&F", "J&F_low", "J&F_high", "objects", "J&F_single", "J&F_multi",
                      "objects_single", "objects_multi", "J&F_r", "objects_r", "gate_inside", "gate_outside"]
"""validation.csv, one row per check (the gate columns are empty for a network without the SCM; J&F_r is the
J&F on the frames after a reappearance, pipelines.evaluation.frame_groups, over the objects that have one)."""

BOOTSTRAP_SAMPLES = 1000
"""Fewer draws than the tables' intervals: a check inside the training loop, repeated every few iterations."""


def load_holdout(data_section: dict, config_path, names: list[str], split: str = "train") -> list:
    """The held-out videos of the holdout dataset's ``split`` (DAVIS-2017), in memory (VideoSample with their
    full annotation)."""
    holdout = datasets.get(HOLDOUT_DATASET)
    reader = holdout.reader(dataset_root(data_section, holdout.root_key, config_path), split)
    return [reader.load_video(name) for name in names]


def score_video(labels: np.ndarray, sample) -> list[tuple[float, float, float]]:
    """(J-Mean, F-Mean, J&F on the frames after a reappearance or NaN) of every object of one video:
    labels uint8 (T, H, W) against sample.gt."""
    gt = np.where(sample.gt == VOID_ID, 0, sample.gt)
    objects = sorted(sample.objects)
    radius = boundary_radius(*gt.shape[1:])
    per_frame = [frame_scores(gt[t], labels[t], objects, radius) for t in range(1, len(gt) - 1)]
    scores = []
    for k, obj in enumerate(objects):
        values = {name: np.array([s[name][k] for s in per_frame]) for name in ("J", "F")}
        reappeared = object_group_scores(values, (gt == obj).any(axis=(1, 2)))["J&F_r"]
        scores.append((float(values["J"].mean()), float(values["F"].mean()), reappeared))
    return scores


def summarise(scores: list[tuple[float, ...]], multi: list[bool]) -> dict[str, float]:
    """The validation row (less iteration and gate) of per-object (J, F[, J&F_r]) scores; ``multi[k]``:
    object k belongs to a video of two or more objects. Percent; NaN where a group has no object."""
    per_object = np.array([(s[0] + s[1]) / 2 for s in scores]) * 100
    multi = np.array(multi, dtype=bool)
    low, high = bootstrap_interval(per_object, samples=BOOTSTRAP_SAMPLES)
    j = 100 * float(np.mean([s[0] for s in scores]))
    f = 100 * float(np.mean([s[1] for s in scores]))
    reappeared = np.array([s[2] for s in scores if len(s) > 2], dtype=float) * 100
    reappeared = reappeared[~np.isnan(reappeared)]
    group = {name: per_object[mask] for name, mask in (("single", ~multi), ("multi", multi))}
    return {"J": j, "F": f, "J&F": (j + f) / 2, "J&F_low": low, "J&F_high": high, "objects": len(scores),
            **{f"J&F_{name}": float(values.mean()) if values.size else float("nan") for name, values in group.items()},
            **{f"objects_{name}": int(values.size) for name, values in group.items()},
            "J&F_r": float(reappeared.mean()) if reappeared.size else float("nan"), "objects_r": int(reappeared.size)}


def validate(model: torch.nn.Module, videos: list, device: torch.device, amp: bool = False) -> dict[str, float]:
    """The validation row (less iteration) of ``model`` on ``videos``; the model is back in training mode
    afterwards."""
    engine = InferenceEngine(model, device=device, amp=amp)
    scores, multi, gates = [], [], []
    recorder = GateRecorder(model) if getattr(model, "scm", None) is not None else None
    try:
        with torch.inference_mode():
            for sample in videos:
                if recorder is not None:
                    recorder.steps.clear()
                video_scores = score_video(segment_video(engine, sample), sample)
                scores.extend(video_scores)
                multi.extend([len(video_scores) > 1] * len(video_scores))
                if recorder is not None and recorder.steps:
                    gates.extend(gate_statistics(recorder.steps))
    finally:
        if recorder is not None:
            recorder.close()
        model.train()
    row = summarise(scores, multi)
    for k, name in enumerate(("gate_inside", "gate_outside")):
        values = np.array([g[k] for g in gates], dtype=float)
        values = values[~np.isnan(values)]  # an object never inside (or outside) its previous mask
        row[name] = float(values.mean()) if values.size else float("nan")
    return row
