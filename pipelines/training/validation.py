"""The held-out check of convergence: J&F of the model in training on the held-out DAVIS-2017 train videos.

Scored as the DAVIS protocol scores a split (pipelines.evaluation): each object's J and F averaged over
the frames between the first and the last, then over the objects; J&F is the mean of the two.
"""

from __future__ import annotations

import numpy as np
import torch

from pipelines.data.masks import VOID_ID
from pipelines.evaluation.boundary import boundary_radius
from pipelines.evaluation.scores import frame_scores


def load_holdout(data_section: dict, config_path, names: list[str]) -> list:
    """The held-out videos, in memory (VideoSample with their full annotation)."""
    from pipelines.data.davis import DavisDataset
    from pipelines.training.data import dataset_root

    reader = DavisDataset(dataset_root(data_section, "davis", config_path), year="2017", split="train")
    return [reader.load_video(name) for name in names]


def score_video(labels: np.ndarray, sample) -> list[tuple[float, float]]:
    """(J-Mean, F-Mean) of every object of one video: labels uint8 (T, H, W) against sample.gt."""
    gt = np.where(sample.gt == VOID_ID, 0, sample.gt)
    objects = sorted(sample.objects)
    radius = boundary_radius(*gt.shape[1:])
    per_frame = [frame_scores(gt[t], labels[t], objects, radius) for t in range(1, len(gt) - 1)]
    return [(float(np.mean([s["J"][k] for s in per_frame])), float(np.mean([s["F"][k] for s in per_frame])))
            for k in range(len(objects))]


def validate(model: torch.nn.Module, videos: list, device: torch.device, amp: bool = False) -> dict[str, float]:
    """J, F and J&F (percent) of ``model`` on ``videos``; the model is back in training mode afterwards."""
    from methods.inference import InferenceEngine
    from pipelines.predict import segment_video

    engine = InferenceEngine(model, device=device, amp=amp)
    scores = []
    with torch.inference_mode():
        for sample in videos:
            scores.extend(score_video(segment_video(engine, sample), sample))
    model.train()
    j = 100 * float(np.mean([s[0] for s in scores]))
    f = 100 * float(np.mean([s[1] for s in scores]))
    return {"J": j, "F": f, "J&F": (j + f) / 2, "objects": len(scores)}
