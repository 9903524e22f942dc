"""The SCM's gate inside a running model: what it lets through where the object was and where it was not.

A *spotlight* (mean gate inside the previous mask above the mean outside, as the paper's Fig. 5 shows)
or a *hole* (the opposite). Recorded through a forward hook on ``model.scm``; the model is unchanged.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch.nn.functional as F


class GateRecorder:
    """Keeps, at every step, the SCM's gate ``(N, h, w)`` and the previous mask it read at the gate's size."""

    def __init__(self, model):
        self.steps: list[tuple[np.ndarray, np.ndarray]] = []
        self.handle = model.scm.register_forward_hook(self._record)

    def _record(self, module, inputs, output):
        embedding, previous = inputs
        gate = module.gate(embedding, previous)[:, 0].float()
        small = F.interpolate(previous.float(), size=gate.shape[-2:], mode="area")[:, 0]
        self.steps.append((gate.cpu().numpy(), small.cpu().numpy()))

    def close(self) -> None:
        self.handle.remove()


def gate_statistics(steps: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[float, float]]:
    """Per object: the mean gate where the previous mask is above 0.5, and where it is not, over the steps."""
    inside, outside = [], []
    for gate, previous in steps:
        region = previous > 0.5
        inside.append(np.where(region, gate, np.nan).reshape(len(gate), -1))
        outside.append(np.where(~region, gate, np.nan).reshape(len(gate), -1))
    inside, outside = np.concatenate(inside, axis=1), np.concatenate(outside, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an object never inside (or outside): NaN
        return list(zip(np.nanmean(inside, axis=1).tolist(), np.nanmean(outside, axis=1).tolist(), strict=True))
