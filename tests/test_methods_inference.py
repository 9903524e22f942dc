"""Stepwise inference engine: every variant end to end, objects added mid-video, memory sizes."""

import pytest
import torch
from tiny_model import TINY_MODEL

from methods.inference import CopyFirstFrameEngine, InferenceEngine, build_engine
from methods.variants import VARIANTS, build_model

pytestmark = pytest.mark.usefixtures("one_thread")
H, W = 33, 47


def _video(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = [torch.rand(3, H, W, generator=g) for _ in range(n)]
    first = torch.zeros(H, W, dtype=torch.long)
    first[4:14, 5:20] = 1
    first[18:30, 25:40] = 2
    return frames, first


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_runs_a_video_with_a_late_object(variant):
    torch.manual_seed(0)
    engine = build_engine(variant, cfg=TINY_MODEL)
    frames, first = _video()
    late = torch.zeros(H, W, dtype=torch.long)
    late[0:5, 30:45] = 5
    for i, frame in enumerate(frames):
        if i == 0:
            probs = engine.step(frame, first)
        elif i == 2:
            probs = engine.step(frame, late, objects=[5])
        else:
            probs = engine.step(frame)
        n = 2 if i < 2 else 3
        assert probs.shape == (1 + n, H, W) and probs.dtype == torch.float32
        assert torch.allclose(probs.sum(0), torch.ones(H, W), atol=1e-5)
        if i == 0:
            assert torch.equal(probs.argmax(0), first)  # the given frame returns its mask
        if i == 2:
            assert torch.all(probs[3][late == 5] == 1.0)  # the new object's pixels override
    assert engine.object_ids == [1, 2, 5]
    assert engine.memory_bytes() > 0
    engine.reset()
    assert engine.object_ids == [] and engine.memory_bytes() == 0


def test_engine_matches_training_forward():
    """Frame 1 of the stepwise engine equals the training forward's first prediction (eval mode)."""
    torch.manual_seed(0)
    model = build_model("gvos_scm", TINY_MODEL).eval()
    frames, first = _video(n=2)
    masks = torch.stack([(first == 1), (first == 2)]).float()[None]
    with torch.no_grad():
        out = model(torch.stack(frames)[None], masks, torch.ones(1, 2, dtype=torch.bool))
    engine = InferenceEngine(model, model.cfg)
    engine.step(frames[0], first)
    probs = engine.step(frames[1])
    assert torch.allclose(probs, torch.softmax(out["logits"][0, 0], dim=0), atol=1e-5)


@pytest.mark.parametrize("variant", ["gvos_scm", "stm_read"])
def test_memory_bytes_over_time(variant):
    torch.manual_seed(0)
    engine = build_engine(variant, cfg=TINY_MODEL)
    frames, first = _video(n=10)
    sizes = {}
    for t, frame in enumerate(frames, start=1):
        engine.step(frame, first if t == 1 else None)
        sizes[t] = engine.memory_bytes()
    key, value = engine.memory_entry(frames[-1], first)
    for t in range(11, 101):
        engine.memory.update(key, value)
        sizes[t] = engine.memory_bytes()
    assert engine.memory.num_frames == 100
    if variant == "gvos_scm":
        assert sizes[1] == sizes[10] == sizes[100] == 2 * (16 * 32 + 1) * 4
    else:  # every frame stored: exactly linear in t; 2 objects x (16+32) channels x 6x6 positions (33x47 -> 48x48, /8)
        per_frame = 2 * (16 + 32) * (48 // 8) * (48 // 8) * 4
        assert all(sizes[t] == t * per_frame for t in sizes)


def test_copy_first_frame_repeats_given_masks():
    engine = build_engine("copy_first_frame")
    assert isinstance(engine, CopyFirstFrameEngine)
    frames, first = _video(n=3)
    engine.step(frames[0], first)
    assert torch.equal(engine.step(frames[1]).argmax(0), first)
    moved = torch.zeros(H, W, dtype=torch.long)
    moved[0:3, 0:3] = 2  # object 2 re-anchored elsewhere
    labels = engine.step(frames[2], moved, objects=[2]).argmax(0)
    expected = first.clone()
    expected[expected == 2] = 0
    expected[moved == 2] = 2
    assert torch.equal(labels, expected)
    assert engine.memory_bytes() == H * W * 8


def test_engine_errors():
    engine = build_engine("gvos_scm", cfg=TINY_MODEL)
    frames, first = _video(n=2)
    with pytest.raises(ValueError, match="first step"):
        engine.step(frames[0])
    with pytest.raises(ValueError, match="image"):
        engine.step(frames[0].double()[:2], first)
    with pytest.raises(ValueError, match="mask"):
        engine.step(frames[0], first.float())
    with pytest.raises(ValueError, match="1..254"):
        engine.step(frames[0], first, objects=[0])
    engine.step(frames[0], first)
    with pytest.raises(ValueError, match="size"):
        engine.step(torch.rand(3, H + 1, W))
    with pytest.raises(ValueError, match="differs"):
        InferenceEngine(engine.model, {**TINY_MODEL, "key_dim": 8})


@pytest.mark.parametrize(("flags", "native"), [
    ("flags\t\t: fpu sse avx2 avx512f avx512_bf16", True),
    ("flags\t\t: fpu sse avx2 amx_bf16 amx_tile", True),
    ("Features\t: fp asimd bf16 i8mm", True),
    ("flags\t\t: fpu sse avx2 fma", False),
    ("", False),
])
def test_native_bfloat16_is_read_from_the_cpu_flags(flags, native):
    from methods.precision import cpu_has_native_bfloat16

    assert cpu_has_native_bfloat16(f"processor\t: 0\n{flags}\n") is native


def test_amp_auto_is_float32_on_a_cpu_without_native_bfloat16(monkeypatch):
    import methods.precision as precision

    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda cpuinfo=None: False)
    assert precision.resolve_amp("auto", "cpu") is False
    assert precision.resolve_amp(True, "cpu") is True and precision.resolve_amp("off", "cpu") is False
    assert precision.resolve_amp("auto", "cuda") is True
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda cpuinfo=None: True)
    assert precision.resolve_amp("auto", "cpu") is True
    assert precision.precision_name(True, "cpu") == "bfloat16-amp"
    assert precision.precision_name(True, "cuda") == "float16-amp"
    assert precision.precision_name(False, "cpu") == "float32"
    with pytest.raises(ValueError, match="expected auto, true or false"):
        precision.resolve_amp("fast", "cpu")
