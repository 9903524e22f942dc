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

CUTIE = importlib.util.find_spec("cutie") is not None and importlib.util.find_spec("hydra") is not None
needs_cutie = pytest.mark.skipif(not CUTIE, reason="rf-cutie is not installed (make peers installs it)")

SIZE = (128, 224)  # Cutie's top-k (30) needs at least 30 positions at stride 16


def two_objects() -> torch.Tensor:
    mask = torch.zeros(SIZE, dtype=torch.long)
    mask[10:60, 10:100] = 1
    mask[70:120, 120:200] = 2
    return mask


def test_an_unknown_peer_is_refused_with_the_registered_names():
    with pytest.raises(ValueError, match="unknown peer.*registered: cutie_small, cutie_base"):
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
