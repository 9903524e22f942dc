"""Defaults shared by several commands: one value each, read wherever the default is needed."""

from __future__ import annotations

BOOTSTRAP_SAMPLES = 2000
"""Bootstrap draws of every interval (``evaluate.bootstrap_samples`` in the config)."""
BOOTSTRAP_SEED = 0
"""Seed of the bootstrap draws (``evaluate.bootstrap_seed``)."""
CONFIDENCE = 0.95
"""Level of every interval the suite reports."""
MIB = 2**20
"""Bytes in a MiB: the unit of every memory column and figure (the paper's "MB" match MiB)."""


def bootstrap_settings(config: dict | None) -> tuple[int, int]:
    """(samples, seed) of the bootstrap, from the config's ``evaluate`` section or the defaults."""
    options = (config or {}).get("evaluate") or {}
    return int(options.get("bootstrap_samples", BOOTSTRAP_SAMPLES)), int(options.get("bootstrap_seed", BOOTSTRAP_SEED))
