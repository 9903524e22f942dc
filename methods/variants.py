"""Variants: a name for a set of ModelConfig overrides applied on top of the config's `model:` section.

The suite's own (built-in) variants are ``VARIANTS``; each learned one sets all four architecture
switches, so the name alone decides the architecture whatever the model section says. Users add their
own in the config file, without touching code::

    experiments:
      variant_defs:
        stm_every5: {readout: stm, mem_every: 5}     # overrides on top of the model section
      variants:
        stm_every5: [main_only]

``copy_first_frame`` is a non-learned baseline (no network, overrides None). Every function takes the
user definitions as ``defs`` (``variant_defs(config)`` reads them from a loaded config); names may not
shadow a built-in one.
"""

from __future__ import annotations

from typing import Any

from methods.config import ModelConfig
from methods.network import GVOSNet

_PAPER = {"readout": "gcm", "scm": True, "aspp": True, "refine": True}

VARIANTS: dict[str, dict[str, Any] | None] = {
    "gvos_scm": dict(_PAPER),  # the paper's model
    "stm_read": {**_PAPER, "readout": "stm"},  # Table 2: STM memory read instead of GCM
    "no_scm": {**_PAPER, "scm": False},  # Table 4: without the spatial constraint module
    "no_refine": {**_PAPER, "refine": False},  # beyond the paper: without the refinement module
    "no_aspp": {**_PAPER, "aspp": False},  # beyond the paper: without ASPP
    "copy_first_frame": None,  # non-learned baseline: repeats the given masks
}

PAPER_MODEL = "gvos_scm"
PAPER_VARIANTS = ("gvos_scm", "stm_read", "no_scm")
"""The variants the paper's ablations compare (Tables 2 and 4): the benchmark's default list."""

NAME_PATTERN = "^[a-z][a-z0-9_]*$"

Defs = dict[str, dict[str, Any]] | None


def variant_defs(config: dict | None) -> dict[str, dict[str, Any]]:
    """The user's variant definitions of a loaded config (``experiments.variant_defs``), checked."""
    defs = ((config or {}).get("experiments") or {}).get("variant_defs") or {}
    return check_defs(defs)


def check_defs(defs: Defs) -> dict[str, dict[str, Any]]:
    """ValueError naming the first bad definition: a shadowed built-in name or unknown model keys."""
    import re

    defs = dict(defs or {})
    known = {f for f in ModelConfig().to_dict()}
    for name, overrides in defs.items():
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
            raise ValueError(f"experiments.variant_defs: bad variant name {name!r} (lower case, digits, _)")
        if name in VARIANTS:
            raise ValueError(f"experiments.variant_defs.{name}: shadows the built-in variant of that name")
        if not isinstance(overrides, dict):
            raise ValueError(f"experiments.variant_defs.{name}: expected a mapping of model keys")
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"experiments.variant_defs.{name}: unknown model key(s) {unknown}; known: {sorted(known)}")
    return defs


def catalogue(defs: Defs = None) -> dict[str, dict[str, Any] | None]:
    """Every known variant: the built-in ones and the user's."""
    return {**VARIANTS, **check_defs(defs)}


def _overrides(variant: str, defs: Defs) -> dict[str, Any] | None:
    known = catalogue(defs)
    if variant not in known:
        raise ValueError(f"unknown variant {variant!r}; known variants: {', '.join(known)}")
    return known[variant]


def is_learned(variant: str, defs: Defs = None) -> bool:
    return _overrides(variant, defs) is not None


def model_config(variant: str, base: dict[str, Any] | ModelConfig | None = None, defs: Defs = None) -> ModelConfig:
    """The base `model:` section with the variant's overrides applied on top."""
    overrides = _overrides(variant, defs)
    base_dict = base.to_dict() if isinstance(base, ModelConfig) else dict(base or {})
    return ModelConfig.from_dict({**base_dict, **(overrides or {})})


def build_model(variant: str, base: dict[str, Any] | ModelConfig | None = None, defs: Defs = None):
    """A randomly initialised (or backbone-pretrained) GVOSNet, or None for non-learned variants."""
    cfg = model_config(variant, base, defs)
    if not is_learned(variant, defs):
        return None
    return GVOSNet(cfg)
