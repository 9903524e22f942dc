"""The dataset readers on the synthetic data and on the golden DAVIS set."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from pipelines.data.coco import CocoImages
from pipelines.data.davis import DavisDataset
from pipelines.data.youtubevos import YouTubeVOSDataset


def test_davis_2017_video_sample(smoke_data):
    davis = DavisDataset(smoke_data / "DAVIS", year="2017", split="train")
    assert davis.sequences == (smoke_data / "DAVIS/ImageSets/2017/train.txt").read_text().split()
    video = davis.load_video(davis.sequences[0])
    assert video.frame_names == [f"{i:05d}" for i in range(6)]
    assert video.images.dtype == np.uint8 and video.images.shape == (6, 48, 80, 3)
    assert video.gt.dtype == np.uint8 and video.gt.shape == (6, 48, 80)
    assert list(video.given) == [0]
    np.testing.assert_array_equal(video.given[0], video.gt[0])
    assert set(video.objects) == set(np.unique(video.gt[0])) - {0}
    assert set(video.objects.values()) == {0}


def test_davis_load_frames_matches_load_video(smoke_data):
    davis = DavisDataset(smoke_data / "DAVIS", year="2017", split="val")
    name = davis.sequences[-1]
    video = davis.load_video(name)
    images, masks = davis.load_frames(name, [1, 3, 4])
    np.testing.assert_array_equal(images, video.images[[1, 3, 4]])
    np.testing.assert_array_equal(masks, video.gt[[1, 3, 4]])


def test_davis_2016_merges_objects_into_one(smoke_data, tmp_path):
    root = smoke_data / "DAVIS"
    davis16 = DavisDataset(root, year=2016, split="val")
    assert davis16.sequences == (root / "ImageSets/2016/val.txt").read_text().split()
    # a multi-object sequence read as DAVIS-2016 has one object covering all of them
    multi = next(n for n in DavisDataset(root, 2017, "val").sequences if n not in davis16.sequences)
    (tmp_path / "ImageSets" / "2016").mkdir(parents=True)
    for sub in ("JPEGImages", "Annotations"):
        (tmp_path / sub).symlink_to(root / sub)
    (tmp_path / "ImageSets/2016/val.txt").write_text(multi + "\n")
    merged = DavisDataset(tmp_path, year=2016, split="val").load_video(multi)
    original = DavisDataset(root, 2017, "val").load_video(multi)
    assert merged.objects == {1: 0}
    np.testing.assert_array_equal(merged.gt, (original.gt > 0).astype(np.uint8))


def test_davis_2016_standalone_release_layout(smoke_data, tmp_path):
    """DAVIS-2016 as released: grey 0/255 masks and ImageSets/480p/<split>.txt listing frame paths."""
    source = DavisDataset(smoke_data / "DAVIS", 2017, "val")
    name = source.sequences[0]
    video = source.load_video(name)
    (tmp_path / "JPEGImages/480p").mkdir(parents=True)
    (tmp_path / "JPEGImages/480p" / name).symlink_to(smoke_data / "DAVIS/JPEGImages/480p" / name)
    (tmp_path / "Annotations/480p" / name).mkdir(parents=True)
    for stem, mask in zip(video.frame_names, video.gt, strict=True):
        Image.fromarray(np.where(mask > 0, 255, 0).astype(np.uint8), mode="L").save(
            tmp_path / "Annotations/480p" / name / f"{stem}.png")
    (tmp_path / "ImageSets/480p").mkdir(parents=True)
    (tmp_path / "ImageSets/480p/val.txt").write_text("".join(
        f"/JPEGImages/480p/{name}/{s}.jpg /Annotations/480p/{name}/{s}.png\n" for s in video.frame_names))
    davis16 = DavisDataset(tmp_path, year=2016, split="val")
    assert davis16.sequences == [name]
    np.testing.assert_array_equal(davis16.load_video(name).gt, (video.gt > 0).astype(np.uint8))


def test_davis_reader_on_the_golden_set(golden_dir):
    davis = DavisDataset(golden_dir / "gt", year=2017, split="val")
    assert "a-quirks" in davis.sequences
    quirks = davis.load_video("a-quirks")
    assert sorted(quirks.objects) == [1, 3]  # frame 0 holds ids {1, 3}; id 2 appears later
    assert quirks.gt is not None and (quirks.gt == 255).any()
    wide = davis.load_video("a-wide")
    assert wide.images.shape[1:3] == (480, 910)


def test_youtubevos_train_and_valid(smoke_data):
    root = smoke_data / "YouTubeVOS"
    meta = json.loads((root / "valid" / "meta.json").read_text())["videos"]
    valid = YouTubeVOSDataset(root, "valid")
    assert valid.sequences == sorted(meta)
    for name in valid.sequences:
        video = valid.load_video(name)
        for obj, first in video.objects.items():
            assert meta[name]["objects"][str(obj)]["frames"][0] == video.frame_names[first]
            assert (video.given[first] == obj).any()
        assert video.categories == {int(k): v["category"] for k, v in meta[name]["objects"].items()}
    train = YouTubeVOSDataset(root, "train")
    video = train.load_video(train.sequences[0])
    assert video.gt is not None and video.gt.shape[0] == video.num_frames
    images, masks = train.load_frames(train.sequences[0], [0, 2])
    np.testing.assert_array_equal(masks, video.gt[[0, 2]])
    np.testing.assert_array_equal(images, video.images[[0, 2]])


def test_youtubevos_valid_without_gt_folder(smoke_data):
    valid = YouTubeVOSDataset(smoke_data / "YouTubeVOS", "valid", gt_split=None)
    assert valid.load_video(valid.sequences[0]).gt is None


def test_coco_images(smoke_data):
    coco = CocoImages(smoke_data / "COCO")
    assert len(coco) == 4
    sample = coco[0]
    assert sample.image.shape == (48, 80, 3)
    assert sample.masks.dtype == bool and sample.masks.shape[1:] == (48, 80)
    assert len(sample.category_ids) == len(sample.masks)
    assert set(sample.category_ids) <= set(coco.categories())
    labels = sample.label_map()
    for i, mask in enumerate(sample.masks):  # synthetic instances do not overlap
        np.testing.assert_array_equal(labels == i + 1, mask)
