"""One colour per variant everywhere (assigned in a fixed order: the paper's model first, then by name),
and the labels that keep reported and measured apart."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from pipelines.experiment.stages import BASELINE_STAGE, STAGES  # noqa: E402

PAPER_MODEL = "gvos_scm"
_PALETTE = sns.color_palette("colorblind", 10)
STAGE_STYLES = {"full": "-", "main_only": "--", "pretrain_only": ":", "none": "-."}
STAGE_ORDER = [*STAGES, BASELINE_STAGE]
REPORTED_COLOUR = "0.45"
ONLINE_COLOUR = "#b07aa1"

# The house style, in one place: a paper's figures keep their text as text (TrueType fonts embedded in
# the PDF, <text> elements in the SVG) and are drawn the width of a figure across both columns of a
# CVPR / IEEE two-column layout (6.9-7.2 in; one column is about 3.3-3.5), so they go into
# \includegraphics at 100% with the text at the size it was drawn (seaborn's paper context: 8-10 pt).
FIGURE_FORMATS = ("png", "pdf", "svg")
TWO_COLUMN_IN = 7.0
PAPER_RC = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}


def apply_paper_style() -> None:
    """seaborn's whitegrid in the paper context, with PAPER_RC on top."""
    sns.set_theme(style="whitegrid", context="paper")
    plt.rcParams.update(PAPER_RC)


def vector_copies(png) -> list:
    """The PDF and SVG beside a figure's PNG."""
    return [png.with_suffix(f".{fmt}") for fmt in FIGURE_FORMATS if fmt != "png"]


REPORTED = "reported"
MEASURED = "measured"


def variant_order(names) -> list[str]:
    """The paper's model, the paper's ablations, then the rest by name (user variants, baselines)."""
    known = ["gvos_scm", "stm_read", "no_scm"]
    names = set(names)
    return [n for n in known if n in names] + sorted(names - set(known))


_ASSIGNED: dict[str, tuple] = {}


def variant_colour(variant: str):
    """A fixed colour per variant name: the three paper variants first, others in order of first use."""
    for name in ("gvos_scm", "stm_read", "no_scm"):
        if name not in _ASSIGNED:
            _ASSIGNED[name] = _PALETTE[len(_ASSIGNED) % len(_PALETTE)]
    if variant not in _ASSIGNED:
        _ASSIGNED[variant] = _PALETTE[len(_ASSIGNED) % len(_PALETTE)]
    return _ASSIGNED[variant]
