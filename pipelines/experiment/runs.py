"""A run's identity (variant, stage, seed) and where its files live.

Every per-run folder of the workflow is ``<root>/<variant>/<stage>/seed<N>``: ``runs/`` (what training
writes), ``predictions/``, ``evaluations/``, ``probes/``, ``logs/<rule>/`` and ``benchmarks/<rule>/``.
``RunFolder`` is the training run's folder and the files it holds; ``Run.part`` the relative path all of
them share, and ``Run.from_path`` reads a run's identity back from any such path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNS_ROOT = "runs"
"""The folder of the training runs (relative to the workflow's folder)."""
PART = "{variant}/{stage}/seed{seed}"
"""The relative path of a run's files under every per-run folder, as a ``str.format`` / wildcard pattern."""
_PART = re.compile(r"(?:^|/)(?P<variant>[^/]+)/(?P<stage>[^/]+)/seed(?P<seed>\d+)(?=/|$)")


@dataclass(frozen=True, order=True)
class Run:
    variant: str
    stage: str
    seed: int

    @property
    def part(self) -> str:
        """``<variant>/<stage>/seed<N>``."""
        return PART.format(variant=self.variant, stage=self.stage, seed=self.seed)

    def under(self, root: str, *rest: str) -> str:
        """``<root>/<variant>/<stage>/seed<N>[/rest...]``."""
        return "/".join([root, self.part, *rest])

    @classmethod
    def from_path(cls, path: str | Path) -> Run:
        """The run a path belongs to: the last ``<variant>/<stage>/seed<N>`` in it; ValueError if none."""
        matches = list(_PART.finditer(Path(path).as_posix()))
        if not matches:
            raise ValueError(f"{path}: expected a path holding <variant>/<stage>/seed<N>")
        match = matches[-1]
        return cls(match["variant"], match["stage"], int(match["seed"]))


def pattern(root: str, *rest: str) -> str:
    """The wildcard pattern of a per-run path: ``<root>/{variant}/{stage}/seed{seed}[/rest...]``."""
    return "/".join([root, PART, *rest])


class RunFolder:
    """The files of a training run's folder: ``config.yaml`` (the effective config and the ``run:`` record),
    ``loss.csv``, ``validation.csv``, ``state.pt`` (resumable state) and, once finished, ``checkpoint.pt``."""

    CHECKPOINT = "checkpoint.pt"
    STATE = "state.pt"
    CONFIG = "config.yaml"
    LOSS = "loss.csv"
    VALIDATION = "validation.csv"
