"""The training stages: one vocabulary for the config, the commands, the run folders and the tables.

``pretrain_only`` trains on static images (COCO-style clips) with ``train.pretrain``; ``main_only`` trains
on videos from scratch with ``train.main``; ``full`` trains on videos with ``train.main`` starting from the
same variant's and seed's ``pretrain_only`` checkpoint. A non-learned baseline has the stage ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str
    schedule: str
    """The ``train.<schedule>`` section it trains with: ``pretrain`` (images) or ``main`` (videos)."""
    init_from: str | None = None
    """The stage whose checkpoint (same variant and seed) it starts from."""

    @property
    def on_videos(self) -> bool:
        return self.schedule == "main"


PRETRAIN_ONLY = Stage("pretrain_only", "pretrain")
MAIN_ONLY = Stage("main_only", "main")
FULL = Stage("full", "main", init_from="pretrain_only")
STAGES: dict[str, Stage] = {stage.name: stage for stage in (PRETRAIN_ONLY, MAIN_ONLY, FULL)}
"""The trained stages by name, in the order the tables list them."""
BASELINE_STAGE = "none"
"""The stage of a non-learned baseline (predicted without a checkpoint)."""
SCHEDULES = ("pretrain", "main")
"""The ``train`` sections of a stage's schedule. The training benchmark (``benchmark.training.stages``)
times schedules, not stages: one from scratch each."""


def stage(name: str) -> Stage:
    """The trained stage called ``name``; ValueError naming the known ones otherwise."""
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r} (known: {', '.join(STAGES)})") from None


def from_scratch(schedule: str) -> Stage:
    """The stage that trains ``schedule`` from a fresh network (``pretrain`` -> pretrain_only, ``main`` ->
    main_only): what the training benchmark times."""
    for candidate in STAGES.values():
        if candidate.schedule == schedule and candidate.init_from is None:
            return candidate
    raise ValueError(f"unknown schedule {schedule!r} (known: {', '.join(SCHEDULES)})")


def wildcard_pattern(with_baseline: bool = True) -> str:
    """The regular expression a rule's ``{stage}`` wildcard matches."""
    return "|".join([*STAGES, *([BASELINE_STAGE] if with_baseline else [])])
