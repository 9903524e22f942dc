"""Other methods behind the engine protocol (methods.peers): built with random weights from their own
packages, stepped like our variants, timed by the same benchmark. The tests that build a peer are skipped,
saying why, where its package is not installed (make peers installs them)."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest
import torch

from methods import peers
from pipelines.benchmarking.settings import merge, parse_peers
from pipelines.common.results_tables import is_successive


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


CUTIE = installed("cutie", "hydra")
needs_cutie = pytest.mark.skipif(not CUTIE, reason="rf-cutie is not installed (make peers installs it)")
needs_stcn = pytest.mark.skipif(not installed("stcnbuf"), reason="stcnbuf is not installed (make peers installs it)")
needs_deaot = pytest.mark.skipif(not installed("aot"), reason="deaotpy is not installed (make peers installs it)")
needs_sam2 = pytest.mark.skipif(not installed("sam2", "hydra", "iopath"),
                                reason="sam2 is not installed (make peers installs it)")

SIZE = (128, 224)  # Cutie's top-k (30) needs at least 30 positions at stride 16


def two_objects() -> torch.Tensor:
    mask = torch.zeros(SIZE, dtype=torch.long)
    mask[10:60, 10:100] = 1
    mask[70:120, 120:200] = 2
    return mask


def test_an_unknown_peer_is_refused_with_the_registered_names():
    with pytest.raises(ValueError, match="unknown peer.*registered: cutie_small, cutie_base, sam2.1_tiny"):
        parse_peers("cutie_small,sam9")
    assert merge({}, {"peers": "cutie_base,cutie_small"}).peers == ["cutie_base", "cutie_small"]
    assert merge({}, {}).peers == []


@pytest.mark.skipif(CUTIE, reason="checks the message of a missing package; rf-cutie is installed here")
def test_a_missing_package_is_named():
    with pytest.raises(ImportError, match="needs the package rf-cutie"):
        peers.build_peer("cutie_small")


@pytest.fixture(scope="module")
def cutie_small():
    torch.manual_seed(0)
    return peers.build_peer("cutie_small")


@needs_cutie
def test_cutie_steps_like_our_engines_and_its_memory_is_capped(cutie_small):
    engine = cutie_small
    engine.reset()
    generator = torch.Generator().manual_seed(0)
    probs = engine.step(torch.rand(3, *SIZE, generator=generator), two_objects(), [1, 2])
    assert probs.shape == (3, *SIZE) and engine.object_ids == [1, 2]
    sizes = []
    for _ in range(40):
        probs = engine.step(torch.rand(3, *SIZE, generator=generator))
        assert probs.shape == (3, *SIZE) and probs.dtype == torch.float32
        torch.testing.assert_close(probs.sum(0), torch.ones(SIZE))
        sizes.append((engine.memory_frames(), engine.memory_bytes()))
    frames = [f for f, _ in sizes]
    assert frames[0] == 1 and max(frames) == 5, "a memory frame every 5th frame, at most 5 kept"
    assert len({b for _, b in sizes[-10:]}) == 1 and sizes[-1][1] > sizes[0][1], "bytes grow, then stop"


@needs_cutie
def test_cutie_snapshot_restore_is_exact(cutie_small):
    engine = cutie_small
    engine.reset()
    generator = torch.Generator().manual_seed(1)
    engine.step(torch.rand(3, *SIZE, generator=generator), two_objects(), [1, 2])
    for _ in range(6):
        engine.step(torch.rand(3, *SIZE, generator=generator))
    state, frame = engine.snapshot(), torch.rand(3, *SIZE, generator=generator)
    first = engine.step(frame)
    engine.restore(state)
    assert torch.equal(engine.step(frame), first)
    engine.restore(state)
    assert torch.equal(engine.step(frame), first), "a snapshot can be restored more than once"


@needs_cutie
def test_the_benchmark_times_a_peer_beside_our_variants(tmp_path):
    from pipelines.benchmark import main
    from tests.tiny_model import TINY_MODEL

    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{backbone: {TINY_MODEL['backbone']}, backbone_stage: {TINY_MODEL['backbone_stage']}}}\n")
    assert main(["--config", str(config), "--out", str(tmp_path / "out"), "--variants", "gvos_scm",
                 "--peers", "cutie_small", "--size", f"{SIZE[0]}x{SIZE[1]}", "--t", "1,20", "--repeats", "1",
                 "--warmup", "0", "--threads", "1", "--device", "cpu", "--quiet"]) == 0
    speed = pd.read_csv(tmp_path / "out" / "speed.csv").set_index(["variant", "t"])
    cutie = speed.loc["cutie_small"]
    assert list(cutie.index) == [1, 20] and (cutie["weights"] == "random").all()
    assert cutie["setting"].iloc[0] == peers.PEERS["cutie_small"].setting
    assert cutie.loc[20, "memory_frames"] == 4 and cutie.loc[20, "memory_bytes"] > cutie.loc[1, "memory_bytes"]
    # the small network as rf-cutie 1.0.1's config builds it: 28.7 M parameters
    assert round(cutie["parameters"].iloc[0] / 1e6, 1) == 28.7
    # its whole step's FLOPs are counted (it has no sections to time apart)
    assert cutie["gflops_per_frame"].notna().all() and (cutie["gflops_per_frame"] > 0).all()
    assert cutie["seconds_readout"].isna().all()


def seeded_peer(name: str, **size):
    """The peer built from seed 0 (its random weights the same in every run)."""
    torch.manual_seed(0)
    return peers.build_peer(name, **size)


def millions_of_parameters(engine) -> float:
    return sum(p.numel() for p in engine.model.parameters()) / 1e6


def step_video(engine, steps: int, seed: int = 0) -> list[tuple[int, int]]:
    """Reset, the labelled frame with two objects, then ``steps`` random frames; checks every output is
    (1+K, H, W) probabilities and returns (memory frames, memory bytes) after each step."""
    engine.reset()
    generator = torch.Generator().manual_seed(seed)
    probs = engine.step(torch.rand(3, *SIZE, generator=generator), two_objects(), [1, 2])
    assert probs.shape == (3, *SIZE) and engine.object_ids == [1, 2]
    sizes = []
    for _ in range(steps):
        probs = engine.step(torch.rand(3, *SIZE, generator=generator))
        assert probs.shape == (3, *SIZE) and probs.dtype == torch.float32
        torch.testing.assert_close(probs.sum(0), torch.ones(SIZE))
        sizes.append((engine.memory_frames(), engine.memory_bytes()))
    return sizes


def assert_snapshot_exact(engine) -> None:
    step_video(engine, 6, seed=3)
    state, frame = engine.snapshot(), torch.rand(3, *SIZE, generator=torch.Generator().manual_seed(4))
    first, bytes_before = engine.step(frame), engine.memory_bytes()
    engine.restore(state)
    assert torch.equal(engine.step(frame), first) and engine.memory_bytes() == bytes_before
    engine.restore(state)
    assert torch.equal(engine.step(frame), first), "a snapshot can be restored more than once"


@pytest.fixture(scope="module")
def stcn():
    return seeded_peer("stcn")


@needs_stcn
def test_stcn_keeps_every_fifth_frame_and_its_memory_is_linear_in_them(stcn):
    sizes = step_video(stcn, 11)
    # the labelled frame, then frames 5 and 10: no cap
    assert [frames for frames, _ in sizes] == [1] * 4 + [2] * 5 + [3] * 2
    per_frame = sizes[0][1]
    assert all(size == frames * per_frame for frames, size in sizes)
    # STCN as the package builds it: 54.4 M parameters
    assert round(millions_of_parameters(stcn), 1) == 54.4


@needs_stcn
def test_stcn_snapshot_restore_is_exact(stcn):
    assert_snapshot_exact(stcn)


@pytest.fixture(scope="module")
def deaot_t():
    return seeded_peer("deaot_t")


@needs_deaot
def test_deaot_t_memory_is_constant_and_r50_l_grows_by_its_gap(deaot_t):
    sizes = step_video(deaot_t, 7)
    assert len({size for _, size in sizes}) == 1 and sizes[0][1] > 0, "DeAOT-T: the labelled frame and the last"
    # the DeAOT paper's sizes: DeAOT-T 7.2 M, R50-DeAOT-L 19.8 M parameters
    assert round(millions_of_parameters(deaot_t), 1) == 7.2
    large = seeded_peer("deaot_r50_l")
    assert round(millions_of_parameters(large), 1) == 19.8
    sizes = step_video(large, 6)
    frames = [f for f, _ in sizes]
    assert frames == [2, 2, 2, 2, 3, 3], "long-term memory: the labelled frame and every 5th; plus the last"
    assert sizes[4][1] > sizes[3][1]


@needs_deaot
def test_deaot_snapshot_restore_is_exact(deaot_t):
    assert_snapshot_exact(deaot_t)


def test_the_deaot_evaluator_size_rounds_each_side_to_16k_plus_1():
    from methods.peers.deaot import eval_size

    assert eval_size(480, 854) == (481, 849)
    assert eval_size(240, 432) == (241, 433)
    assert eval_size(1080, 1920) == (577, 1041)  # the long edge brought to 1040 first (585 x 1040)


@pytest.fixture(scope="module")
def sam2_small_square():
    return seeded_peer("sam2.1_tiny_equal_pixels", height=SIZE[0], width=SIZE[1])


@needs_sam2
def test_sam2_keeps_every_frame_and_steps_successively(sam2_small_square):
    engine = sam2_small_square
    assert engine.side == 192 and engine.exact_snapshot is False
    sizes = step_video(engine, 4)
    assert [frames for frames, _ in sizes] == [2, 3, 4, 5], "no cap: every frame's memory is kept"
    growth = {b - a for (_, a), (_, b) in zip(sizes, sizes[1:], strict=False)}
    assert len(growth) == 1 and growth.pop() > 0, "the same bytes a frame"
    handle = engine.snapshot()
    engine.step(torch.rand(3, *SIZE))
    engine.restore(handle)
    assert engine.memory_frames() == 6, "a handle, not a copy: the step moved the state on"


@needs_sam2
def test_sam2_fill_leaves_the_state_of_t_real_steps(sam2_small_square):
    engine = sam2_small_square
    frame, mask = torch.rand(3, *SIZE, generator=torch.Generator().manual_seed(5)), two_objects()
    engine.reset()
    engine.step(frame, mask, [1, 2])
    for _ in range(5):
        engine.step(frame)
    real = (engine.memory_frames(), engine.memory_bytes())
    engine.fill(frame, mask, [1, 2], 6)
    assert (engine.memory_frames(), engine.memory_bytes()) == real


@needs_sam2
def test_sam2_sizes_are_the_published_ones():
    from methods.peers.sam2 import equal_pixels_side

    assert (equal_pixels_side(240, 432), equal_pixels_side(480, 854)) == (320, 640)
    # the SAM 2.1 model card: tiny 38.9 M, base+ 80.8 M parameters; the default square 1024
    for name, published in (("sam2.1_tiny", 38.9), ("sam2.1_base_plus", 80.8)):
        engine = peers.build_peer(name)
        assert engine.side == 1024
        assert abs(millions_of_parameters(engine) - published) < 0.1


@needs_sam2
def test_the_benchmark_times_sam2_in_successive_steps(tmp_path):
    from pipelines.benchmark import main
    from tests.tiny_model import TINY_MODEL

    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{backbone: {TINY_MODEL['backbone']}, backbone_stage: {TINY_MODEL['backbone_stage']}}}\n")
    assert main(["--config", str(config), "--out", str(tmp_path / "out"), "--variants", "gvos_scm",
                 "--peers", "sam2.1_tiny_equal_pixels", "--size", f"{SIZE[0]}x{SIZE[1]}", "--t", "1,8",
                 "--repeats", "2", "--warmup", "0", "--threads", "1", "--device", "cpu", "--quiet"]) == 0
    speed = pd.read_csv(tmp_path / "out" / "speed.csv").set_index(["variant", "t"])
    sam = speed.loc["sam2.1_tiny_equal_pixels"]
    assert sam["timing_mode"].map(is_successive).all()
    assert not speed.loc["gvos_scm", "timing_mode"].map(is_successive).any()
    assert list(sam["memory_frames"]) == [1, 8] and sam.loc[8, "memory_bytes"] > sam.loc[1, "memory_bytes"]


def test_every_reported_number_names_a_registered_peer():
    from pipelines.experiment.peer_reports import reported_davis16

    reported = reported_davis16()
    assert set(reported) <= set(peers.PEERS) and reported["stcn"] == 91.7
