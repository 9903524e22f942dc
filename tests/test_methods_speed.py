"""Slow measurements (run with `-m slow -s`): CPU seconds per frame at 480p and one training
iteration of the CPU-default-sized model. Printed numbers are measured, not asserted."""

import time

import pytest
import torch

from methods.inference import build_engine
from methods.losses import total_loss
from methods.variants import build_model

PAPER = {"backbone": "resnet50", "backbone_stage": "layer3", "key_dim": 128, "value_dim": 512}


@pytest.fixture
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def _seconds_per_frame_at(variant: str, t: int, repeats: int = 1) -> tuple[float, int]:
    """Fill the memory to t-1 frames with a real entry, one warm-up step (-> t), then time steps
    that each read t stored frames (the warm-up's own write is the t-th)."""
    torch.manual_seed(0)
    engine = build_engine(variant, cfg=PAPER)
    frame = torch.rand(3, 480, 854)
    mask = torch.zeros(480, 854, dtype=torch.long)
    mask[100:300, 200:500] = 1
    engine.step(frame, mask)
    key, value = engine.memory_entry(frame, mask)
    for _ in range(t - 2):
        engine.memory.update(key, value)
    engine.step(frame)  # warm-up, memory now holds t frames
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.step(frame)
        times.append(time.perf_counter() - start)
    return min(times), engine.memory_bytes()


@pytest.mark.slow
def test_seconds_per_frame_gcm_vs_stm_480p(two_threads):
    gcm, gcm_bytes = _seconds_per_frame_at("gvos_scm", 100)
    stm, stm_bytes = _seconds_per_frame_at("stm_read", 100)
    print(f"\n480x854, t=100, resnet50 layer3, C_N 128, C_M 512, {torch.get_num_threads()} threads: "
          f"gvos_scm {gcm:.2f} s/frame ({gcm_bytes} B memory), stm_read {stm:.2f} s/frame ({stm_bytes} B memory)")
    assert gcm < stm  # the paper's claim (Table 2): GCM is faster than reading all frames


@pytest.mark.slow
@pytest.mark.parametrize("stage, decoder_dim", [("layer2", 64), ("layer3", 64), ("layer3", 256)])
def test_training_iteration_time_cpu_default(two_threads, stage, decoder_dim):
    cfg = {"backbone": "resnet18", "backbone_stage": stage, "key_dim": 64, "value_dim": 128,
           "decoder_dim": decoder_dim}
    model = build_model("gvos_scm", cfg).train()
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(4, 3, 3, 96, 160, generator=g)
    masks = (torch.rand(4, 3, 2, 96, 160, generator=g) > 0.5).float()
    valid = torch.ones(4, 2, dtype=torch.bool)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = model(frames, masks[:, 0], valid)
        loss, _ = total_loss(out, masks[:, 1:], valid)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - start)
    print(f"\ntrain iteration resnet18 {stage}, key 64 / value 128, decoder {decoder_dim}, batch 4 x 3 frames x 2 objects, 96x160, "
          f"{torch.get_num_threads()} threads: {min(times):.2f} s (min of 3; all {[round(x, 2) for x in times]})")
    assert loss.isfinite()
