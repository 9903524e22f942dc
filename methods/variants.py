"""Registry of the suite's method variants: name -> ModelConfig switches.

Each learned variant sets all four architecture switches, so the variant name alone decides the
architecture whatever the base config says; the base config supplies everything else (backbone,
channels, mem_every, ...). ``copy_first_frame`` is a non-learned baseline (no network).
"""

from __future__ import annotations

from typing import Any

from methods.config import ModelConfig

_PAPER = {"readout": "gcm", "scm": True, "aspp": True, "refine": True}

VARIANTS: dict[str, dict[str, Any] | None] = {
    "gvos_scm": dict(_PAPER),  # the paper's model
    "stm_read": {**_PAPER, "readout": "stm"},  # Table 2: STM memory read instead of GCM
    "no_scm": {**_PAPER, "scm": False},  # Table 4: without the spatial constraint module
    "no_refine": {**_PAPER, "refine": False},  # beyond the paper: without the refinement module
    "no_aspp": {**_PAPER, "aspp": False},  # beyond the paper: without ASPP
    "copy_first_frame": None,  # non-learned baseline: repeats the given masks
}


def _check(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known variants: {', '.join(VARIANTS)}")


def is_learned(variant: str) -> bool:
    _check(variant)
    return VARIANTS[variant] is not None


def model_config(variant: str, base: dict[str, Any] | ModelConfig | None = None) -> ModelConfig:
    """The base `model:` section with the variant's switches applied on top."""
    _check(variant)
    base_dict = base.to_dict() if isinstance(base, ModelConfig) else dict(base or {})
    return ModelConfig.from_dict({**base_dict, **(VARIANTS[variant] or {})})


def build_model(variant: str, base: dict[str, Any] | ModelConfig | None = None):
    """A randomly initialised (or backbone-pretrained) GVOSNet, or None for non-learned variants."""
    cfg = model_config(variant, base)
    if not is_learned(variant):
        return None
    from methods.network import GVOSNet

    return GVOSNet(cfg)
