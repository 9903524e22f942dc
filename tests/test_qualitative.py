"""The qualitative figures' selection rules on a generated score table, and the SCM gate as recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines import qualitative
from pipelines.predicting import scm_gate

pytestmark = pytest.mark.usefixtures("one_thread")

# video -> (objects, J&F of gvos_scm/full, no_scm/full, stm_read/full)
VIDEOS = {"a": (1, 70.0, 69.0, 71.0), "b": (3, 80.0, 40.0, 60.0), "c": (2, 50.0, 45.0, 10.0),
          "d": (3, 30.0, 31.0, 29.0), "e": (2, 90.0, 60.0, 90.0)}
RUNS = ["gvos_scm/full", "no_scm/full", "stm_read/full"]


def generated_per_sequence() -> pd.DataFrame:
    rows = []
    for video, (objects, *scores) in VIDEOS.items():
        for run, score in zip(RUNS, scores, strict=True):
            variant, stage = run.split("/")
            for seed, offset in ((0, 0.0), (1, 5.0)):
                for obj in range(1, objects + 1):
                    rows.append({"dataset": "davis2017", "variant": variant, "stage": stage, "seed": seed,
                                 "sequence": video, "object": obj, "J&F-Mean": score + offset})
    return pd.DataFrame(rows)


def test_each_figure_takes_the_frames_its_rule_names():
    per_sequence = generated_per_sequence()
    scores = qualitative.video_scores(per_sequence, seed=0)
    assert scores.loc["b", "no_scm/full"] == 40.0
    # Fig. 8: spread max - min: c 40, b 40, e 30, a 2, d 2; ties by name
    assert qualitative.most_different_videos(scores, RUNS, count=3) == ["b", "c", "e"]
    # Fig. 9: most objects, at least two: b, d (3), then c, e (2); a has one
    assert qualitative.multi_object_videos(per_sequence, count=10) == ["b", "d", "c", "e"]
    # Fig. 10: each run's lowest video
    assert qualitative.worst_videos(scores, RUNS) == [("gvos_scm/full", "d"), ("no_scm/full", "d"),
                                                      ("stm_read/full", "c")]
    # Fig. 5: distractor videos only, by gvos_scm - no_scm: b (40) > e (30) > c (5); a is no distractor
    attributes = pd.DataFrame({"sequence": list(VIDEOS), "distractor": [0, 1, 1, 1, 1]})
    assert qualitative.scm_contrast_videos(scores, attributes, count=3) == ["b", "e", "c"]
    assert qualitative.scm_contrast_videos(scores, None, count=1) == ["b"]
    assert qualitative.middle_frame(7) == 3


def test_the_gate_statistics_separate_inside_from_outside():
    gate = np.array([[[0.9, 0.9], [0.1, 0.1]]])  # one object, 2 x 2
    previous = np.array([[[1.0, 0.8], [0.0, 0.2]]])
    inside, outside = scm_gate.gate_statistics([(gate, previous), (gate, previous)])[0]
    assert inside == pytest.approx(0.9) and outside == pytest.approx(0.1)
    never = scm_gate.gate_statistics([(gate, np.zeros_like(previous))])[0]
    assert np.isnan(never[0]) and never[1] == pytest.approx(0.5)


def test_the_recorder_keeps_the_gate_the_scm_multiplies_by():
    from methods.inference import InferenceEngine
    from methods.variants import build_model
    from tests.tiny_model import TINY_MODEL

    torch.manual_seed(0)
    engine = InferenceEngine(build_model("gvos_scm", TINY_MODEL))
    frames = [torch.rand(3, 48, 64) for _ in range(3)]
    mask = torch.zeros(48, 64, dtype=torch.long)
    mask[5:30, 5:40] = 1
    outputs = []
    handle = engine.model.scm.register_forward_hook(
        lambda module, inputs, output: outputs.append((inputs[0].clone(), output.clone())))
    recorder = scm_gate.GateRecorder(engine.model)
    try:
        engine.step(frames[0], mask)
        for frame in frames[1:]:
            engine.step(frame)
    finally:
        recorder.close()
        handle.remove()
    assert len(recorder.steps) == 2  # frame 0 is given: the SCM runs from frame 1 on
    for (gate, previous), (embedding, output) in zip(recorder.steps, outputs, strict=True):
        assert gate.shape == previous.shape == (1, *embedding.shape[-2:])
        np.testing.assert_allclose(embedding[0].numpy() * gate[0], output[0].numpy(), rtol=1e-5, atol=1e-6)
        assert 0 <= previous.min() and previous.max() <= 1
    assert not engine.model.scm._forward_hooks  # closed: the network is as it was
