"""Estimate, before allocating anything, how many bytes a (variant, t) measurement needs; refuse if too many.

The readout memory answers for itself (``methods.memory.state_bytes`` / ``read_workspace_bytes``, asked of
the variant's ModelConfig): the state after t + 1 frames (the timed step writes one more before the harness
restores the t-frame state) and the workspace of one read (STM: its chunked affinity blocks). A fixed
``BASE_BYTES`` stands for the weights and the activations of one step. The round robin keeps every
(variant, t) state alive at once, so their sum is checked too. The numbers are estimates, meant
to refuse runs that would be killed by the OOM killer, not to predict the peak exactly.
"""

from __future__ import annotations

from methods import memory

BASE_BYTES = 1 << 30


def memory_parts(cfg, t: int, objects: int, height: int, width: int) -> tuple[int, int]:
    """(state bytes after t + 1 frames, workspace bytes of one read) of a variant; (0, 0) for ``cfg`` None
    (non-learned baselines, peers)."""
    if cfg is None:
        return 0, 0
    return (memory.state_bytes(cfg, t + 1, objects, height, width),
            memory.read_workspace_bytes(cfg, t, objects, height, width))


def needed_bytes(cfg, t: int, objects: int, height: int, width: int) -> int:
    """Estimated peak bytes of one (variant, t) measurement; ``cfg`` None for non-learned baselines."""
    return BASE_BYTES + sum(memory_parts(cfg, t, objects, height, width))


def check_budget(plans: list[tuple[str, object]], t_values: list[int], objects: int, height: int, width: int,
                 available: int, where: str) -> None:
    """ValueError naming every (variant, t) whose estimate exceeds ``available`` bytes on ``where``.

    plans: (variant name, its ModelConfig or None) pairs.
    """
    too_big = []
    states, workspace = 0, 0
    for variant, cfg in plans:
        for t in t_values:
            state, read = memory_parts(cfg, t, objects, height, width)
            need = BASE_BYTES + state + read
            if need > available:
                too_big.append(f"{variant} at t={t} needs about {need / 2**30:.1f} GiB ({need} bytes)")
            states, workspace = states + state, max(workspace, read)
    together = BASE_BYTES + states + workspace
    if not too_big and together > available:
        too_big.append(f"the round robin keeps every (variant, t) state alive at once: about "
                       f"{together / 2**30:.1f} GiB ({together} bytes)")
    if too_big:
        raise ValueError(
            f"not enough memory on {where}: {available / 2**30:.1f} GiB ({available} bytes) available, but "
            + "; ".join(too_big)
            + ". Lower the largest --t, the --size or --objects, or run on a bigger device."
        )
