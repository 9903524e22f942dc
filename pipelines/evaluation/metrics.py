"""The metrics of the evaluation, registered once: a metric is one function of an object in one frame.

Every registered metric gets, per object, the DAVIS statistics Mean / Recall / Decay over the evaluated
frames (``<name>-Mean``, ``<name>-Recall``, ``<name>-Decay`` in every table), per dataset the mean over
objects (YouTube-VOS: ``<name>_seen`` / ``<name>_unseen``), and a column in results/*.csv and the report.
The headline ``J&F-Mean`` stays the DAVIS one: the mean of J-Mean and F-Mean.

To add a metric, write a function ``ObjectFrame -> float`` (``pipelines.evaluation.scores.ObjectFrame``:
the object's crops ``gt`` / ``pred``, ``intersection``, ``union``, ``radius``, ``boundary_f(radius)``)
and decorate it with ``@register("NAME", "what it measures")`` in this module, or in a module of yours
imported before evaluating (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.evaluation.region import jaccard_from_counts

STATISTICS = ("Mean", "Recall", "Decay")
HEADLINE = "J&F-Mean"
HEADLINE_PARTS = ("J", "F")


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    score: Callable  # ObjectFrame -> float
    when_absent: float = 1.0  # the object is in neither mask


METRICS: dict[str, Metric] = {}


def register(name: str, description: str, when_absent: float = 1.0):
    """Decorator registering ``fn(frame: ObjectFrame) -> float`` as metric ``name``."""
    if not name or any(c in name for c in "-, &") or name in ("overall",):
        raise ValueError(f"metric name {name!r}: no '-', ',', '&' or space, not 'overall'")

    def add(fn: Callable) -> Callable:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered already")
        METRICS[name] = Metric(name, description, fn, when_absent)
        return fn

    return add


def unregister(name: str) -> None:
    METRICS.pop(name)


def object_columns() -> list[str]:
    """Per-object statistics columns of every registered metric, e.g. J-Mean, J-Recall, J-Decay, F-Mean, ..."""
    return [f"{name}-{stat}" for name in METRICS for stat in STATISTICS]


def global_columns() -> list[str]:
    """The official global table: J&F-Mean, then every metric's statistics."""
    return [HEADLINE, *object_columns()]


@register("J", "region similarity: intersection over union of the object's masks (Jaccard index)")
def region_similarity(frame) -> float:
    return jaccard_from_counts(frame.intersection, frame.union)


@register("F", "contour accuracy: F-measure of the boundary pixels matched within the tolerance")
def contour_accuracy(frame) -> float:
    return frame.boundary_f()
