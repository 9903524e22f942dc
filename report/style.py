"""One colour per variant everywhere, and the labels that keep reported and measured apart."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import seaborn as sns  # noqa: E402

KNOWN_VARIANTS = ["gvos_scm", "stm_read", "no_scm", "no_refine", "no_aspp", "copy_first_frame"]
_PALETTE = sns.color_palette("colorblind", 10)
VARIANT_COLOURS = {name: _PALETTE[i] for i, name in enumerate(KNOWN_VARIANTS)}
STAGE_STYLES = {"full": "-", "main_only": "--", "pretrain_only": ":", "none": "-."}
REPORTED_COLOUR = "0.45"
ONLINE_COLOUR = "#b07aa1"

REPORTED = "reported"
MEASURED = "measured"


def variant_colour(variant: str):
    """Fixed colour for a known variant; unknown names get the palette's later colours, stably."""
    if variant not in VARIANT_COLOURS:
        VARIANT_COLOURS[variant] = _PALETTE[len(VARIANT_COLOURS) % len(_PALETTE)]
    return VARIANT_COLOURS[variant]
