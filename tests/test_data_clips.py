"""Training clip samplers: shapes, temporal order and skip, valid objects, determinism, alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipelines.data.clips import StaticClipDataset, VideoClipDataset, lazy_videos, max_skip_at
from pipelines.data.coco import CocoImages, CocoSample
from pipelines.data.davis import DavisDataset
from pipelines.data.video import VideoSample


def square_video(frames: int = 12, height: int = 40, width: int = 56) -> VideoSample:
    """Object 1: a red square moving right, present throughout; object 2: a green square appearing at
    frame 5. The picture is drawn from the labels, so masks and pixels must stay aligned."""
    labels = np.zeros((frames, height, width), dtype=np.uint8)
    for t in range(frames):
        labels[t, 8:24, 2 + 2 * t : 18 + 2 * t] = 1
        if t >= 5:
            labels[t, 24:38, 30:44] = 2
    images = np.zeros((frames, height, width, 3), dtype=np.uint8)
    images[labels == 1] = (255, 0, 0)
    images[labels == 2] = (0, 255, 0)
    return VideoSample("squares", [f"{t:05d}" for t in range(frames)], images, {0: labels[0]}, {1: 0, 2: 5}, labels)


def test_max_skip_schedule_follows_the_paper():
    assert [max_skip_at(e) for e in (0, 19, 20, 39, 40, 100, 1000)] == [0, 0, 5, 5, 10, 25, 25]
    assert max_skip_at(3, start=2, step=1, every=1, maximum=4) == 4
    with pytest.raises(ValueError):
        max_skip_at(1, every=0)


def test_video_clip_shapes_and_value_ranges(smoke_data):
    clips = VideoClipDataset(lazy_videos(DavisDataset(smoke_data / "DAVIS", 2017, "train")), num_frames=3,
                             max_skip=2, crop=(32, 48), max_objects=4, seed=0)
    assert len(clips) == 3
    item = clips[0]
    assert item["frames"].shape == (3, 3, 32, 48) and item["frames"].dtype == torch.float32
    assert item["masks"].shape == (3, 4, 32, 48) and item["masks"].dtype == torch.float32
    assert item["valid"].shape == (4,) and item["valid"].dtype == torch.bool
    assert 0 <= item["frames"].min() and item["frames"].max() <= 1
    assert set(torch.unique(item["masks"]).tolist()) <= {0.0, 1.0}
    assert (item["masks"].sum(dim=1) <= 1).all(), "objects do not overlap"
    batch = torch.utils.data.default_collate([clips[i] for i in range(3)])
    assert batch["frames"].shape == (3, 3, 3, 32, 48)


def test_frames_in_temporal_order_within_the_maximum_skip():
    clips = VideoClipDataset([square_video(frames=30)], num_frames=3, max_skip=0, crop=None, seed=0)
    for epoch in range(20):
        clips.set_epoch(epoch)
        assert np.diff(clips[0]["indices"].numpy()).tolist() == [1, 1]
    clips.set_max_skip(4)
    steps = []
    for epoch in range(40):
        clips.set_epoch(epoch)
        steps += np.diff(clips[0]["indices"].numpy()).tolist()
    assert min(steps) >= 1 and max(steps) == 5
    with pytest.raises(ValueError):
        clips.set_max_skip(-1)


def test_short_video_gives_ordered_repeated_frames():
    clips = VideoClipDataset([square_video(frames=2)], num_frames=3, max_skip=5, crop=None, seed=0)
    indices = clips[0]["indices"].numpy()
    assert (np.diff(indices) >= 0).all() and indices.max() <= 1


def test_objects_absent_from_the_first_frame_are_not_valid():
    clips = VideoClipDataset([square_video()], num_frames=3, max_skip=1, crop=None, max_objects=3, seed=0)
    clips.affine = clips.affine.__class__(0, 0, (1.0, 1.0), 0)  # no warp: pixels stay where the labels say
    for epoch in range(30):
        clips.set_epoch(epoch)
        item = clips[0]
        first = item["indices"][0].item()
        assert item["valid"].tolist() == ([True, True, False] if first >= 5 else [True, False, False])
        for channel in range(3):
            if not item["valid"][channel]:
                assert item["masks"][:, channel].sum() == 0
            else:
                assert item["masks"][0, channel].sum() > 0


def test_image_and_masks_move_together():
    clips = VideoClipDataset([square_video()], num_frames=3, max_skip=2, crop=(32, 32), seed=3)
    for epoch in range(10):
        clips.set_epoch(epoch)
        item = clips[0]
        red = (item["frames"][:, 0] > 0.5) & (item["frames"][:, 1] < 0.5)
        mask = item["masks"][:, 0] > 0.5
        overlap = (red & mask).sum() / (red | mask).sum().clamp(min=1)
        assert overlap > 0.85


def test_items_are_deterministic_and_vary_with_epoch_and_index(smoke_data):
    videos = [DavisDataset(smoke_data / "DAVIS", 2017, "train").load_video(n) for n in ("train-000", "train-001")]
    make = lambda: VideoClipDataset(videos, num_frames=3, max_skip=3, crop=32, seed=7)  # noqa: E731
    a, b = make(), make()
    for key in ("frames", "masks", "valid", "indices"):
        assert torch.equal(a[1][key], b[1][key])
    b.set_epoch(1)
    assert not torch.equal(a[1]["frames"], b[1]["frames"])
    a.rng = np.random.default_rng(5)
    b.rng = np.random.default_rng(5)
    assert torch.equal(a[0]["frames"], b[0]["frames"])


def test_max_objects_keeps_a_subset_of_present_objects(smoke_data):
    davis = DavisDataset(smoke_data / "DAVIS", 2017, "train")
    name = max(davis.sequences, key=lambda n: len(davis.load_video(n).objects))
    clips = VideoClipDataset([davis.load_video(name)], num_frames=2, crop=None, max_objects=1, seed=0)
    assert clips[0]["valid"].tolist() == [True]


class TwoSquares:
    """A minimal COCO stand-in: one picture whose pixels are drawn from two instance masks."""

    def __len__(self):
        return 1

    def __getitem__(self, index):
        masks = np.zeros((2, 48, 64), dtype=bool)
        masks[0, 6:26, 6:30] = True
        masks[1, 28:44, 36:60] = True
        image = np.zeros((48, 64, 3), dtype=np.uint8)
        image[masks[0]] = (255, 0, 0)
        image[masks[1]] = (0, 255, 0)
        return CocoSample(1, "x.jpg", image, masks, [1, 1])


def test_static_clip_is_three_differently_warped_copies_with_aligned_masks():
    clips = StaticClipDataset(TwoSquares(), num_frames=3, crop=None, max_objects=3, seed=0)
    item = clips[0]
    assert item["frames"].shape == (3, 3, 48, 64) and item["masks"].shape == (3, 3, 48, 64)
    assert item["valid"].tolist() == [True, True, False]
    assert not torch.equal(item["frames"][0], item["frames"][1])
    for channel, colour in ((0, 0), (1, 1)):
        painted = item["frames"][:, colour] > 0.5
        mask = item["masks"][:, channel] > 0.5
        assert (painted & mask).sum() / (painted | mask).sum() > 0.85


def test_static_clips_from_synthetic_coco(smoke_data):
    clips = StaticClipDataset(CocoImages(smoke_data / "COCO"), num_frames=3, crop=(40, 40), max_objects=2, seed=1)
    item = clips[2]
    assert item["frames"].shape == (3, 3, 40, 40) and item["masks"].shape == (3, 2, 40, 40)
    assert item["valid"].any()
    assert torch.equal(clips[2]["masks"], item["masks"])
