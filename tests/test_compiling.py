"""torch.compile switches (train.compile, predict.compile, benchmark.compile)."""

from __future__ import annotations

import logging

import pytest
import torch

from methods import variants
from pipelines.common import compiling
from pipelines.training.config import TrainConfig
from pipelines.training.trainer import Trainer
from tests.tiny_model import TINY_MODEL

STAGE = {"main": {"iterations": 1, "batch_size": 2, "crop": [32, 48], "num_frames": 3, "max_objects": 2,
                  "datasets": ["davis2017"]}}


def _batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {"frames": torch.rand(2, 3, 3, 32, 48, generator=generator),
            "masks": (torch.rand(2, 3, 2, 32, 48, generator=generator) > 0.5).float(),
            "valid": torch.ones(2, 2, dtype=torch.bool)}


def _trainer() -> Trainer:
    torch.manual_seed(0)
    return Trainer(variants.build_model("gvos_scm", dict(TINY_MODEL)), TrainConfig.from_dict(STAGE).main,
                   torch.device("cpu"))


def test_without_a_cpp_compiler_the_network_runs_eager_after_one_line(monkeypatch, caplog):
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    model = variants.build_model("gvos_scm", dict(TINY_MODEL))
    with caplog.at_level(logging.WARNING, logger="gvos.compile"):
        assert compiling.compile_network(model, torch.device("cpu"), "train.compile") is False
    assert caplog.messages == ["train.compile: inductor needs a C++ compiler on the CPU and none of g++, c++, "
                               "clang++ is on PATH (apt install g++, or set CXX); running without compiling"]
    assert all(module._compiled_call_impl is None for module in model.modules())


def test_the_compiled_parts_are_the_shape_stable_ones():
    model = variants.build_model("gvos_scm", dict(TINY_MODEL))
    names = [name for name, _ in compiling.compiled_parts(model)]
    assert names == ["memory_encoder.layer1", "memory_encoder.layer2", "query_encoder.layer1",
                     "query_encoder.layer2", "aspp", "scm", "decoder", "refiner"]
    no_scm = variants.build_model("no_scm", dict(TINY_MODEL))
    assert "scm" not in [name for name, _ in compiling.compiled_parts(no_scm)]


@pytest.mark.skipif(compiling.compiler_problem(torch.device("cpu")) is not None,
                    reason=str(compiling.compiler_problem(torch.device("cpu"))))
def test_one_compiled_training_step_is_the_eager_step():
    """About 70 s on a 2-core CPU with an empty inductor cache, in the default run all the same (one
    compiled step is tested wherever a compiler is present); the loss and the gradients
    equal eager's (inductor's dropout falls back to eager's random numbers). Gradients, not the updated
    weights: Adam's first step moves each weight by about lr x the sign of its gradient, so a gradient
    within rounding of zero moves its weight by 2 lr either way."""
    eager, compiled = _trainer(), _trainer()
    assert compiling.compile_network(compiled.model, torch.device("cpu"), "train.compile")
    state = {k: v.clone() for k, v in compiled.model.state_dict().items()}
    assert set(state) == set(eager.model.state_dict())  # compiling keeps the checkpoint's keys
    loss_eager, _ = eager.step(_batch(), 0)
    loss_compiled, _ = compiled.step(_batch(), 0)
    assert float(loss_compiled) == pytest.approx(float(loss_eager), rel=1e-5)
    for (name, a), b in zip(eager.model.named_parameters(), compiled.model.parameters(), strict=True):
        scale = float(a.grad.abs().max())
        assert float((b.grad - a.grad).abs().max()) <= 1e-3 * scale + 1e-8, name
