"""Test-time interventions on a trained network: what each module does inside it.

An intervention replaces one input of a module at every step of the inference engine and leaves the
weights alone. Two places can be intervened on:

- ``scm_mask``: the previous-frame mask the SCM reads, ``(N, 1, H, W)`` in [0, 1] per object (the
  engine's own prediction of the previous frame), replaced by ``fn(previous, truth)``; ``truth`` is the
  previous frame's ground truth in the same layout when the intervention ``needs_truth``, else None.
- ``readout``: what the memory returns for the query, ``(N, C_M, h, w)`` per object before it is
  concatenated with the query value, replaced by ``fn(read)``.

Use it through the engine (``methods.inference``)::

    with engine.intervene(INTERVENTIONS["scm_mask_zero"]):
        probs = engine.step(frame)          # the oracle also takes previous_labels=<(H, W) truth>

Add one by calling ``register(Intervention(...))`` (docs/extending.md); the probes rule
(``pipelines.probes``) runs every registered name listed in the config's ``probes.interventions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from methods.config import ModelConfig

TARGETS = ("scm_mask", "readout")


@dataclass(frozen=True)
class Intervention:
    """One named intervention: ``target`` one of TARGETS, ``fn`` the replacement (module docstring)."""

    name: str
    target: str
    fn: Callable[..., Tensor]
    description: str
    needs_truth: bool = False

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"intervention {self.name!r}: target must be one of {TARGETS}, got {self.target!r}")

    def applies_to(self, cfg: ModelConfig) -> bool:
        """Whether the network has the module this intervention acts on (no SCM: no SCM mask)."""
        return cfg.scm if self.target == "scm_mask" else True


INTERVENTIONS: dict[str, Intervention] = {}
"""Every registered intervention by name, in registration order (the probes table's order)."""


def register(intervention: Intervention) -> Intervention:
    if intervention.name in INTERVENTIONS or intervention.name == "none":
        raise ValueError(f"intervention {intervention.name!r} is already registered (or reserved)")
    INTERVENTIONS[intervention.name] = intervention
    return intervention


def unregister(name: str) -> None:
    INTERVENTIONS.pop(name, None)


def get(name: str) -> Intervention:
    if name not in INTERVENTIONS:
        raise KeyError(f"unknown intervention {name!r}; registered: {', '.join(INTERVENTIONS)}")
    return INTERVENTIONS[name]


register(Intervention(
    "scm_mask_zero", "scm_mask", lambda previous, truth: previous.new_zeros(previous.shape),
    "the SCM's previous mask set to 0 everywhere (no object anywhere)"))
register(Intervention(
    "scm_mask_half", "scm_mask", lambda previous, truth: previous.new_full(previous.shape, 0.5),
    "the SCM's previous mask set to 0.5 everywhere (no location information)"))
register(Intervention(
    "scm_mask_oracle", "scm_mask", lambda previous, truth: truth,
    "the SCM's previous mask replaced by the previous frame's ground truth (an oracle: the most the SCM "
    "can give)", needs_truth=True))
register(Intervention(
    "readout_object_mean", "readout", lambda read: read.mean(dim=0, keepdim=True).expand_as(read),
    "the memory readout averaged over the objects of the video (every object reads the same)"))
register(Intervention(
    "readout_position_mean", "readout", lambda read: read.mean(dim=(-2, -1), keepdim=True).expand_as(read),
    "the memory readout averaged over positions (one vector per object, no spatial layout)"))
register(Intervention(
    "readout_zero", "readout", lambda read: read.new_zeros(read.shape),
    "the memory readout set to 0 (the decoder sees only the query)"))
