"""The reappearance test: the generator's reappearance videos and the frame-group scores (J&F_r, J&F_d)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.data.masks import read_mask
from pipelines.data.synthetic import generate, get_preset
from pipelines.data.synthetic.backgrounds import load_photos
from pipelines.data.synthetic.looks import split_looks
from pipelines.data.synthetic.write_davis import REAPPEARANCE_FILE, SPLITS, split_videos
from pipelines.evaluation.davis import evaluate_davis
from pipelines.evaluation.frame_groups import absent_segments, object_group_scores, reappeared_segments

SMOKE_SPLITS_BEFORE_REAPPEARANCE = "0e43db455b4587951298311fe2af450fe56d82a5d6558312c8677f1ab3117225"
"""sha256 of the smoke preset's rendered DAVIS videos (names, images, labels; seed 0) as the generator of
format 3 rendered them, before the reappearance videos existed."""


def test_switch_off_renders_the_splits_of_before_byte_for_byte():
    preset = get_preset("smoke", {"reappear_fraction": "0"})
    seen, _ = split_looks(preset.held_out_looks)
    photos = load_photos()
    digest = hashlib.sha256()
    for split in SPLITS:
        for name, _, video in split_videos(preset, 0, split, seen, photos):
            assert not video.absences
            digest.update(name.encode())
            digest.update(video.images.tobytes())
            digest.update(video.labels.tobytes())
    assert digest.hexdigest() == SMOKE_SPLITS_BEFORE_REAPPEARANCE


@pytest.fixture(scope="module")
def reappearing(tmp_path_factory):
    """A small set with a reappearance in every multi-object video, absences of 3 to 5 frames."""
    root = tmp_path_factory.mktemp("reappear") / "data"
    preset = get_preset("smoke", {"reappear_fraction": "1", "frames": "12", "absence_frames": "3,5",
                                  "frames_after_return": "2", "davis_val": "6", "davis_train": "4"})
    generate(root, preset, seed=3, progress=False)
    return root / "DAVIS", preset


def test_reappearance_videos_have_the_stated_absence_and_a_same_look_twin(reappearing):
    root, preset = reappearing
    table = pd.read_csv(root / REAPPEARANCE_FILE)
    looks = {}
    for split in SPLITS:
        multi = [n for n in (root / "ImageSets" / "2017" / f"{split}.txt").read_text().split()
                 if int(read_mask(root / "Annotations" / "480p" / n / "00000.png").max()) >= 2]
        assert sorted(table.loc[table["split"] == split, "sequence"]) == sorted(multi)
    seen, _ = split_looks(preset.held_out_looks)
    for split in SPLITS:
        for name, _, video in split_videos(preset, 3, split, seen, load_photos()):
            looks.update({(name, obj): look.name for obj, look in video.looks.items()})
    for row in table.itertuples():
        labels = np.stack([read_mask(p) for p in sorted((root / "Annotations" / "480p" / row.sequence).glob("*.png"))])
        present = (labels == row.object).any(axis=(1, 2))
        gone = np.flatnonzero(~present)
        assert gone.tolist() == list(range(row.absent_from, row.absent_from + row.absent_frames))
        assert 3 <= row.absent_frames <= 5
        assert row.absent_from + row.absent_frames + preset.frames_after_return <= preset.frames - 1
        twins = [int(t) for t in str(row.twins).split(";")]
        assert twins and all(looks[(row.sequence, t)] == looks[(row.sequence, row.object)] for t in twins)
        assert all(((labels == t).any(axis=(1, 2))).all() for t in twins)  # the twin stays in view


def test_frame_groups_on_a_presence_sequence():
    present = np.array([1, 1, 0, 0, 1, 1, 0, 1, 1, 1], dtype=bool)  # frames 0..9, evaluated 1..8
    assert [s.tolist() for s in absent_segments(present)] == [[1, 2], [5]]
    assert [s.tolist() for s in reappeared_segments(present)] == [[3, 4], [6, 7]]
    never = np.ones(6, dtype=bool)
    assert absent_segments(never) == [] and reappeared_segments(never) == []
    gone_to_the_end = np.array([1, 1, 0, 0, 0, 1], dtype=bool)  # back only in the last, unevaluated frame
    assert [s.tolist() for s in absent_segments(gone_to_the_end)] == [[1, 2, 3]]
    assert reappeared_segments(gone_to_the_end) == []
    j = np.array([0.9, 1.0, 0.0, 0.5, 0.7, 0.2, 0.8, 0.6])
    f = np.array([0.8, 1.0, 1.0, 0.3, 0.5, 0.0, 0.4, 0.2])
    row = object_group_scores({"J": j, "F": f}, present)
    assert row["J_d"] == pytest.approx(((1.0 + 0.0) / 2 + 0.2) / 2)
    assert row["J_r"] == pytest.approx(((0.5 + 0.7) / 2 + (0.8 + 0.6) / 2) / 2)
    assert row["J&F_r"] == pytest.approx((row["J_r"] + row["F_r"]) / 2)
    assert np.isnan(object_group_scores({"J": j[:4], "F": f[:4]}, never)["J&F_r"])


def write_sequence(root, name, gt, pred):
    from pipelines.data.masks import write_mask

    for t, (g, p) in enumerate(zip(gt, pred, strict=True)):
        write_mask(root / "gt" / "Annotations" / "480p" / name / f"{t:05d}.png", g)
        write_mask(root / "pred" / name / f"{t:05d}.png", p)


def test_evaluator_scores_an_object_absent_predicted_empty_then_back_by_hand(tmp_path):
    """Object 1 is in frames 0-1, gone in 2-3, back in 4-6 (7 is the last, not evaluated); object 2 never
    leaves. The prediction is empty while object 1 is gone, then finds it in frame 4 with half of it (a
    2x4 box over 2x8: J = 1/2) and whole in frames 5 and 6; in frame 3 it predicts 4 pixels of object 1."""
    h, w, frames = 16, 16, 8
    gt = np.zeros((frames, h, w), np.uint8)
    pred = np.zeros_like(gt)
    for t in (0, 1, 4, 5, 6, 7):
        gt[t, 2:4, 2:10] = 1
    gt[:, 10:14, 10:14] = 2
    pred[:, 10:14, 10:14] = 2
    pred[1, 2:4, 2:10] = 1
    pred[3, 8:10, 12:14] = 1  # a false object-1 blob while it is gone
    pred[4, 2:4, 2:6] = 1
    pred[5, 2:4, 2:10] = 1
    pred[6, 2:4, 2:10] = 1
    write_sequence(tmp_path, "seq", gt, pred)
    lists = tmp_path / "gt" / "ImageSets" / "2017"
    lists.mkdir(parents=True)
    (lists / "val.txt").write_text("seq\n")
    result = evaluate_davis(tmp_path / "gt", tmp_path / "pred", split="val", workers=1)
    one = result.per_object.set_index("object").loc[1]
    # absent in frames 2 and 3: empty (J = F = 1), then a false blob (J = F = 0)
    assert one["J_d"] == pytest.approx(0.5) and one["F_d"] == pytest.approx(0.5)
    # back in 4, 5, 6: J = 1/2, 1, 1
    assert one["J_r"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert one["J&F_r"] == pytest.approx((one["J_r"] + one["F_r"]) / 2)
    assert 0 < one["F_r"] < 1
    two = result.per_object.set_index("object").loc[2]
    assert np.isnan(two["J&F_r"]) and np.isnan(two["J&F_d"])
    assert "J&F_r" not in result.global_.columns  # the official table is unchanged


def absent_video(frames: int = 10):
    """A VideoSample of two objects; object 1 is gone in frames 3-5."""
    from pipelines.data.video import VideoSample

    gt = np.zeros((frames, 32, 48), np.uint8)
    gt[:, 4:14, 4:14] = 1
    gt[3:6] = 0
    gt[:, 18:28, 30:42] = 2
    images = np.random.default_rng(0).integers(0, 255, (frames, 32, 48, 3), dtype=np.uint8)
    return VideoSample("absent", [f"{t:05d}" for t in range(frames)], images, {0: gt[0]}, {1: 0, 2: 0}, gt)


def test_absences_are_found_in_the_masks():
    from pipelines.data.clips import absences

    found = absences(absent_video().gt)
    assert len(found) == 1
    gap = found[0]
    assert (gap.obj, gap.before, gap.gone, gap.back) == (1, (0, 1, 2), (3, 4, 5), (6, 7, 8, 9))


@pytest.mark.parametrize("num_frames", [2, 3, 5])
def test_reappear_clips_span_an_absence(num_frames):
    from pipelines.data.clips import VideoClipDataset

    dataset = VideoClipDataset([absent_video()], num_frames=num_frames, crop=None, reappear_clips=1.0, seed=4)
    for index in range(20):
        dataset.set_epoch(index)
        indices = dataset[0]["indices"].tolist()
        assert len(indices) == num_frames and indices == sorted(indices)
        assert indices[0] <= 2 and indices[-1] >= 6  # seen first, back last
        if num_frames >= 3:
            assert any(3 <= i <= 5 for i in indices)  # gone in between


def test_reappear_clips_off_draws_the_clips_of_before():
    """Share 0 takes no random draw, so every clip is the one the sampler drew before the lever existed."""
    from pipelines.data.clips import VideoClipDataset

    video = absent_video()
    plain = VideoClipDataset([video], num_frames=3, crop=None, max_skip=3, seed=1)
    off = VideoClipDataset([video], num_frames=3, crop=None, max_skip=3, seed=1, reappear_clips=0.0)
    half = VideoClipDataset([video], num_frames=3, crop=None, max_skip=3, seed=1, reappear_clips=0.5)
    drawn = {name: [] for name in ("plain", "off", "half")}
    for epoch in range(30):
        for name, dataset in (("plain", plain), ("off", off), ("half", half)):
            dataset.set_epoch(epoch)
            drawn[name].append(dataset[0]["indices"].tolist())
    assert drawn["off"] == drawn["plain"]
    assert drawn["half"] != drawn["plain"]
    with pytest.raises(ValueError, match="reappear_clips"):
        VideoClipDataset([video], reappear_clips=1.5)


def per_object_scores(effect_r: float, seeds=(0, 1, 2), sequences=10):
    """Per-object rows of gvos_scm/full and stm_read/full: equal on all frames; after a reappearance (half the
    sequences have one object that comes back) GCM is ``effect_r`` points better."""
    rng = np.random.default_rng(2)
    rows = []
    for seed in seeds:
        for q in range(sequences):
            for obj in (1, 2):
                base, base_r = rng.uniform(30, 80), rng.uniform(0, 100)
                returns = q % 2 == 0 and obj == 2
                for variant, shift in (("gvos_scm", effect_r), ("stm_read", 0.0)):
                    jf = base + rng.normal(0, 0.5)
                    r = base_r + shift + rng.normal(0, 0.5) if returns else np.nan
                    rows.append({"variant": variant, "stage": "full", "seed": seed, "dataset": "davis2017",
                                 "sequence": f"s{q}", "object": obj, "J&F-Mean": jf, "J-Mean": jf, "F-Mean": jf,
                                 "J&F_r": r, "J_r": r, "F_r": r})
    return pd.DataFrame(rows)


def test_table_2_claim_is_judged_after_a_reappearance_too():
    from pipelines.tables import claims

    table = claims.claims_table(per_object_scores(-20.0), None, None, samples=500).set_index(["claim", "metric"])
    everywhere = table.loc[("GCM read about as accurate as STM read", "J&F")]
    after = table.loc[("GCM read about as accurate as STM read, after a reappearance", "J&F_r")]
    assert everywhere["verdict"] == "reproduced" and everywhere["n_objects"] == 20
    assert after["n_objects"] == 5 and after["n_seeds"] == 3  # only the objects that come back
    assert after["measured"] == pytest.approx(-20.0, abs=1.0) and after["verdict"] == "contradicted"
    assert np.isnan(after["reported"])  # the paper has no number for these frames
    assert "after a reappearance" in claims.VERDICT_RULE


def test_probes_table_scores_the_interventions_after_a_reappearance():
    from pipelines.tables.probes import probes_table

    scores = per_object_scores(0.0).assign(split="val")
    reference = scores[scores["variant"] == "stm_read"].assign(variant="gvos_scm")
    probe = scores[scores["variant"] == "gvos_scm"].assign(intervention="readout_zero", target="readout",
                                                           config_hash="h")
    probe["J&F_r"] -= 30  # the readout is what finds the object again
    table = probes_table(probe, reference, samples=500)
    row = table.iloc[0]
    assert row["n_objects_r"] == 5 and row["n_objects"] == 20
    assert row["ci_high_r"] < 0 and row["mean_delta_J&F_r"] == pytest.approx(-30, abs=1.5)
    assert row["ci_low"] < 0 < row["ci_high"]  # over all frames nothing is seen


def test_report_shows_the_reappearance_scores_with_their_floors():
    from report.tables import reappearance

    accuracy = pd.DataFrame([
        {"variant": v, "stage": s, "seed": seed, "dataset": "davis2017", "J&F-Mean": 50.0 + seed, "J&F_r": r + seed,
         "J&F_d": 90.0, "n_objects_r": 25, "n_objects_d": 24}
        for v, s, r in (("gvos_scm", "full", 40.0), ("copy_first_frame", "none", 5.0), ("no_scm", "full", 10.0))
        for seed in (0, 1, 2)])
    table = reappearance({"accuracy": accuracy}).set_index("run")
    assert table.loc["gvos_scm / full", "J&F after a reappearance (J&F_r)"] == "41.0 ± 1.0"
    assert table.loc["copy_first_frame / none", "objects that reappear"] == 25
    assert reappearance({"accuracy": accuracy.drop(columns=["J&F_r"])}) is None


def test_clip_census_counts_the_clips_that_span_an_absence(smoke_data, capsys):
    from pipelines.tools import clip_census

    assert clip_census.spans_absence(np.array([[1, 0, 1], [1, 1, 1]], bool), [0, 1, 2])
    assert not clip_census.spans_absence(np.array([[1, 0, 0, 1]], bool), [0, 3])  # nothing between
    assert not clip_census.spans_absence(np.array([[1, 0, 1, 0]], bool), [0, 1, 3])  # not back at the end
    smoke_config = Path(__file__).resolve().parent.parent / "config" / "smoke.yaml"
    assert clip_census.main(["--config", str(smoke_config), "--data", str(smoke_data), "--shares", "0", "1",
                             "--clips", "200"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shares = [float(line.split(": ")[1].split("%")[0]) for line in lines[1:]]
    assert lines[0].startswith("6 training videos") and shares[1] > shares[0]


def test_the_pages_findings_say_whether_memory_finds_a_returning_object():
    from pipelines.tables.claims import REAPPEARANCE_CLAIM
    from report.notes import findings

    summary = pd.DataFrame([{"variant": v, "stage": s, "dataset": "davis2017", "J&F-Mean": 50.0, "J&F_r": r}
                            for v, s, r in (("gvos_scm", "full", 17.25), ("stm_read", "full", 16.0),
                                            ("copy_first_frame", "none", 9.0))])
    claims = pd.DataFrame([{"claim": REAPPEARANCE_CLAIM, "metric": "J&F_r", "measured": 1.1, "ci_low": -20.8,
                            "ci_high": 23.0, "verdict": "inconclusive", "n_seeds": 3}])
    probes = pd.DataFrame([{"variant": "gvos_scm", "stage": "full", "intervention": "readout_zero",
                            "mean_delta_J&F_r": 8.3, "ci_low_r": -20.8, "ci_high_r": 37.4}])
    text = " ".join(t for _, t in findings({"accuracy_summary": summary, "claims": claims, "probes": probes}))
    assert "J&F_r 17.2 for gvos_scm full, 16.0 for stm_read full, 9.0 copying the first frame" in text
    assert "+1.1 [-20.8, 23.0] (inconclusive)" in text and "gvos_scm +8.3 [-20.8, 37.4]" in text
    assert "After a reappearance" not in " ".join(t for _, t in findings({"accuracy_summary": summary}))
