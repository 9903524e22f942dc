"""Several training processes of one global batch compute one process's step.

Two gloo ranks on the CPU, each given half of a global batch of 4 by IterationBatches, against one
process given all 4: the same loss, loss parts and gradients within float tolerance. This needs the
loss normalised by the global count of valid maps and the trainable BatchNorms' statistics taken over
both ranks (pipelines.training.distributed); dropout is switched off, since each rank draws its masks
from its own RNG stream. The network runs in float64: in float32, sums taken in another order round
differently (~1e-6), enough to flip a ReLU at an activation within that of zero, and one flipped unit
moves a weight's gradient by ~1% (measured on query_encoder.layer1.0.conv2: the BatchNorm and
convolution gradients themselves agree with a float64 reference to 1e-9).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from methods.checkpoint import load_torch_file
from pipelines.training.distributed import CrossRankBatchNorm2d, global_map_count, sync_batch_norm

GLOBAL_BATCH = 4


def _stage():
    from pipelines.training.config import TrainConfig

    return TrainConfig.from_dict({"main": {"iterations": 1, "batch_size": GLOBAL_BATCH, "crop": [48, 64],
                                           "num_frames": 3, "max_objects": 2, "lr": 1e-3,
                                           "datasets": ["davis2017"]}}).main


def one_step(data_root: str, rank: int, world: int) -> dict:
    """One Trainer step on this rank's slice of iteration 0's global batch; returns the loss and its parts
    (means over the ranks), the gradients (DDP-averaged) and the BatchNorm running statistics."""
    from methods import variants
    from pipelines.experiment.stages import MAIN_ONLY
    from pipelines.training.data import IterationBatches, build_clip_dataset
    from pipelines.training.trainer import Trainer
    from tests.tiny_model import TINY_MODEL

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # float32 rounding flips a ReLU here and there: see the module doc
    stage = _stage()
    clips = build_clip_dataset(MAIN_ONLY, stage, {"davis": str(Path(data_root) / "DAVIS")}, None, 0)
    torch.manual_seed(0)
    model = variants.build_model("gvos_scm", dict(TINY_MODEL, freeze_bn=False))
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    trainer = Trainer(model, stage, torch.device("cpu"), amp=False, seed=0, rank=rank, world=world)
    batch = IterationBatches(clips, stage, 0, 0, rank, world)[0]
    batch["frames"] = batch["frames"].double()
    loss, parts = trainer.step(batch, 0)
    values = torch.tensor([float(loss), *parts.values()], dtype=torch.float64)
    if world > 1:
        torch.distributed.all_reduce(values)
        values /= world
    return {"values": dict(zip(["loss", *parts], values.tolist(), strict=True)),
            "valid": int(batch["valid"].sum()),
            "grads": {name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.grad is not None},
            "stats": {name: b.clone() for name, b in trainer.model.named_buffers() if "running" in name}}


def _rank_main(rank: int, world: int, init_file: str, data_root: str, out: str) -> None:
    """One process of the step (its own interpreter: one_step sets global torch state)."""
    if world > 1:
        torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.save(one_step(data_root, rank, world), f"{out}.rank{rank}")
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _run(world: int, folder: Path, data_root: Path) -> list[dict]:
    out = folder / f"world{world}"
    mp.start_processes(_rank_main, args=(world, str(folder / f"init{world}"), str(data_root), str(out)),
                       nprocs=world, start_method="spawn")
    return [load_torch_file(f"{out}.rank{rank}") for rank in range(world)]


@pytest.fixture(scope="module")
def steps(smoke_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    return _run(1, folder, smoke_data)[0], _run(2, folder, smoke_data)


def test_two_ranks_with_half_the_batch_each_compute_one_process_step(steps):
    single, ranks = steps
    assert all(rank["valid"] >= 2 for rank in ranks), "each rank needs two valid objects (the forward's rule)"
    for name, value in single["values"].items():
        assert ranks[0]["values"][name] == pytest.approx(value, rel=1e-5, abs=1e-7), name
    assert set(ranks[0]["grads"]) == set(single["grads"])
    for name, grad in single["grads"].items():
        torch.testing.assert_close(ranks[0]["grads"][name], grad, rtol=1e-6, atol=1e-9, msg=name)
        torch.testing.assert_close(ranks[1]["grads"][name], ranks[0]["grads"][name], rtol=0, atol=0, msg=name)
    assert single["stats"], "the tiny model has trainable BatchNorms"
    for name, stat in single["stats"].items():
        torch.testing.assert_close(ranks[0]["stats"][name], stat, rtol=1e-4, atol=1e-5, msg=name)


def test_cross_rank_batch_norm_is_batch_norm_in_one_process():
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    plain[1].weight.data.uniform_(0.5, 1.5)
    synced = sync_batch_norm(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)))
    synced.load_state_dict(plain.state_dict())
    assert type(synced[1]) is CrossRankBatchNorm2d and set(synced.state_dict()) == set(plain.state_dict())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(synced(x), plain(x))
    torch.testing.assert_close(synced[1].running_var, plain[1].running_var)


def test_the_loss_normaliser_of_one_process_is_its_valid_map_count():
    valid = torch.tensor([[True, False], [True, True]])
    assert float(global_map_count(valid, frames=2)) == 6.0
    assert float(global_map_count(torch.zeros(2, 2, dtype=torch.bool), frames=2)) == 1.0


def test_the_logged_mean_over_ranks_is_all_reduced_on_the_training_device(monkeypatch):
    """NCCL reduces only CUDA tensors, so the loss values logged as a mean over ranks must
    reach the all-reduce on the training device, not on the CPU where they are kept. The meta device stands
    in for CUDA here; a meta tensor cannot be copied back, so only what reached the all-reduce is checked."""
    from pipelines.train import _mean_over_ranks

    reached = []
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda tensor: reached.append(tensor.device))
    with pytest.raises(NotImplementedError, match="meta"):
        _mean_over_ranks(torch.ones(3), 2, torch.device("meta"))
    assert reached == [torch.device("meta")]
    reached.clear()
    assert torch.equal(_mean_over_ranks(torch.ones(3), 1, torch.device("meta")), torch.ones(3))  # one process
    assert reached == []
