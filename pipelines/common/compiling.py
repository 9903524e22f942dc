"""torch.compile (inductor) for training and inference: the ``train.compile``, ``predict.compile`` and
``benchmark.compile`` switches.

``compile_network`` compiles the parts of a GVOSNet whose input shapes are fixed for a video or a
training batch, each in place (``nn.Module.compile``: the state dict keeps its keys): the ResNet stages
of both encoders, ASPP, the spatial constraint, the decoder and the refinement module. The memory read,
whose size grows with t (STM) and whose rows follow the valid objects, and the per-object bookkeeping
stay eager, so a new memory size never recompiles anything. The first call of each part compiles it
(seconds to a minute); the caller reports that time apart from the steady state.

Inductor needs a C++ compiler on the CPU and Triton on CUDA; without them the network runs eager
after one line saying why (``compiler_problem``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil

import torch
import torch._inductor.config
from torch import nn

log = logging.getLogger("gvos.compile")

ENCODER_STAGES = ("layer1", "layer2", "layer3")
HEADS = ("aspp", "scm", "decoder", "refiner")


def compiler_problem(device: torch.device) -> str | None:
    """Why inductor cannot compile for ``device`` here (no C++ compiler, no Triton), or None."""
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") else "inductor needs Triton on CUDA (pip install triton)"
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    if not any(shutil.which(name) for name in candidates):
        return (f"inductor needs a C++ compiler on the CPU and none of {', '.join(candidates)} is on PATH "
                "(apt install g++, or set CXX)")
    return None


def compiled_parts(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of each part compile_network compiles, in the network's order."""
    parts = []
    for encoder in ("memory_encoder", "query_encoder"):
        for stage in ENCODER_STAGES:
            module = getattr(getattr(model, encoder), stage, None)
            if module is not None:
                parts.append((f"{encoder}.{stage}", module))
    for name in HEADS:
        module = getattr(model, name, None)
        if module is not None:
            parts.append((name, module))
    return parts


def compile_network(model: nn.Module, device: torch.device, switch: str) -> bool:
    """Compile ``model``'s shape-stable parts in place; False (and one log line naming ``switch``, e.g.
    'train.compile') where inductor cannot run here. A part that fails to compile at its first call
    runs eager (torch._dynamo's suppress_errors) rather than stopping the run."""
    problem = compiler_problem(device)
    if problem:
        log.warning("%s: %s; running without compiling", switch, problem)
        return False
    torch._dynamo.config.suppress_errors = True
    torch._inductor.config.fallback_random = True  # dropout draws the masks eager draws: same seeds, same run
    for _, module in compiled_parts(model):
        module.compile()
    return True
