"""The synthetic dataset generator: determinism, layouts, COCO encodings, CLI errors, no partial output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from scipy.ndimage import binary_dilation

from pipelines.data.coco import CocoImages
from pipelines.data.davis import DavisDataset
from pipelines.data.masks import DAVIS_PALETTE, read_mask
from pipelines.data.synthetic import generate, get_preset
from pipelines.data.synthetic.backgrounds import load_photos
from pipelines.data.synthetic.looks import split_looks
from pipelines.data.synthetic.write_coco import coco_scene
from pipelines.data.synthetic.write_davis import object_counts
from pipelines.data.youtubevos import YouTubeVOSDataset

REPO_ROOT = Path(__file__).resolve().parent.parent


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_differs(smoke_data, tmp_path):
    generate(tmp_path / "again", get_preset("smoke"), seed=0, progress=False)
    generate(tmp_path / "other", get_preset("smoke"), seed=1, progress=False)
    reference = tree_digest(smoke_data)
    assert tree_digest(tmp_path / "again") == reference
    other = tree_digest(tmp_path / "other")
    davis_files = [k for k in reference if k.startswith("DAVIS/JPEGImages")]
    assert davis_files and all(other.get(k) != reference[k] for k in davis_files)


def test_layout_has_the_three_datasets_and_a_readme(smoke_data):
    for path in ("DAVIS/JPEGImages/480p", "DAVIS/Annotations/480p", "DAVIS/ImageSets/2017/train.txt",
                 "DAVIS/ImageSets/2017/val.txt", "DAVIS/ImageSets/2016/train.txt", "DAVIS/ImageSets/2016/val.txt",
                 "YouTubeVOS/train/meta.json", "YouTubeVOS/valid/meta.json", "YouTubeVOS/valid_gt/Annotations",
                 "COCO/annotations/instances_train.json", "COCO/images", "README.md"):
        assert (smoke_data / path).exists(), path
    readme = (smoke_data / "README.md").read_text()
    assert "--preset smoke --seed 0" in readme and "| DAVIS | val | 3 |" in readme


def test_davis_masks_are_davis_palette_pngs_with_objects_in_frame_zero(smoke_data):
    davis = DavisDataset(smoke_data / "DAVIS", year=2017, split="val")
    for name in davis.sequences:
        png = smoke_data / "DAVIS" / "Annotations" / "480p" / name / "00000.png"
        with Image.open(png) as image:
            assert image.mode == "P"
            assert bytes(image.getpalette()[:48]) == DAVIS_PALETTE[:48]
        video = davis.load_video(name)
        ids = sorted(video.objects)
        assert ids == list(range(1, len(ids) + 1))  # DAVIS evaluates ids 1..K of frame 0
        assert video.images.shape == (6, 48, 80, 3)


def test_davis_2016_lists_exactly_the_single_object_sequences(smoke_data):
    root = smoke_data / "DAVIS"
    for split in ("train", "val"):
        multi = DavisDataset(root, year=2017, split=split)
        singles = [n for n in multi.sequences if len(multi.load_video(n).objects) == 1]
        listed = (root / "ImageSets" / "2016" / f"{split}.txt").read_text().split()
        assert listed == singles and singles


def test_youtubevos_valid_has_first_appearance_annotations_and_unseen_categories(smoke_data):
    root = smoke_data / "YouTubeVOS"
    train = YouTubeVOSDataset(root, "train")
    valid = YouTubeVOSDataset(root, "valid")
    train_categories = {c for name in train.sequences for c in train.categories(name).values()}
    valid_categories = {c for name in valid.sequences for c in valid.categories(name).values()}
    assert valid_categories & train_categories, "valid needs seen categories"
    assert valid_categories - train_categories, "valid needs unseen categories"
    mid_video = 0
    for name in valid.sequences:
        stored = sorted(p.stem for p in (root / "valid" / "Annotations" / name).glob("*.png"))
        video = valid.load_video(name)
        assert stored == [video.frame_names[i] for i in sorted(set(video.objects.values()))]
        assert video.gt is not None and len(video.gt) == video.num_frames
        for obj, first in video.objects.items():
            assert (video.gt[first] == obj).any()
            assert not (video.gt[:first] == obj).any(), "an object is not visible before it is first given"
            mid_video += first > 0
        for index, mask in video.given.items():
            np.testing.assert_array_equal(mask, video.gt[index])
    assert mid_video > 0
    assert valid.load_video(valid.sequences[0]).frame_names[:2] == ["00000", "00005"]


def test_default_preset_plans_at_least_100_davis_val_objects():
    preset = get_preset("default")
    assert sum(object_counts(preset, "val", seed=0)) >= 100
    assert preset.height * preset.width <= 128 * 224


def test_coco_json_opens_with_pycocotools_and_both_encodings_decode_to_the_scene(smoke_data):
    coco = CocoImages(smoke_data / "COCO")
    annotations = coco.coco.dataset["annotations"]
    kinds = {"polygon" if isinstance(a["segmentation"], list) else "rle" for a in annotations}
    assert kinds == {"polygon", "rle"}
    preset = get_preset("smoke")
    seen, _ = split_looks(preset.held_out_looks)
    photos = load_photos()
    for index, image_id in enumerate(sorted(coco.coco.getImgIds())):
        image, instances = coco_scene(preset, 0, index, seen, photos)
        anns = coco.coco.loadAnns(coco.coco.getAnnIds(imgIds=[image_id]))
        assert len(anns) == len(instances)
        for ann, (_, _, visible) in zip(anns, instances, strict=True):
            np.testing.assert_array_equal(coco.coco.annToMask(ann).astype(bool), visible)
            assert ann["area"] == visible.sum()
        sample = coco[index]
        assert sample.image.shape == image.shape
        assert np.abs(sample.image.astype(int) - image).mean() < 12  # JPEG loss only


def test_polygon_segmentation_is_exactly_pycocotools_rasterisation(smoke_data):
    data = json.loads((smoke_data / "COCO" / "annotations" / "instances_train.json").read_text())
    sizes = {i["id"]: (i["height"], i["width"]) for i in data["images"]}
    polygons = [a for a in data["annotations"] if isinstance(a["segmentation"], list)]
    coco = CocoImages(smoke_data / "COCO").coco
    for ann in polygons:
        height, width = sizes[ann["image_id"]]
        rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], height, width))
        np.testing.assert_array_equal(mask_utils.decode(rle), coco.annToMask(ann))
        assert mask_utils.decode(rle).sum() == ann["area"] > 0


def run_generator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.data.synthetic", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--preset", "huge", "--seed", "0"], "invalid choice"),
    (["--preset", "smoke", "--seed", "-3"], "error: seed must be >= 0"),
    (["--preset", "smoke", "--seed", "x"], "invalid int value"),
    (["--preset", "smoke", "--set", "colour=red"], "error: unknown preset field 'colour'"),
    (["--preset", "smoke", "--set", "frames=two"], "error: preset field frames"),
    (["--preset", "smoke", "--set", "frames=2"], "at least 3 frames"),
])
def test_cli_rejects_bad_arguments_without_output(tmp_path, args, message):
    result = run_generator("--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_a_non_empty_output_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run_generator("--out", str(out), "--preset", "smoke", "--quiet")
    assert result.returncode == 2 and "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cli_writes_the_smoke_preset_quickly(tmp_path):
    started = time.perf_counter()
    result = run_generator("--out", str(tmp_path / "out"), "--preset", "smoke", "--seed", "0", "--quiet",
                           "--set", "coco_images=2")
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 60
    assert (tmp_path / "out" / "DAVIS" / "ImageSets" / "2017" / "val.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failure_midway_leaves_no_partial_dataset(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("pipelines.data.synthetic.generator.write_coco", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path / "out", get_preset("smoke"), seed=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_an_existing_dataset(smoke_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    generate(out, get_preset("smoke"), seed=0, overwrite=True, progress=False)
    assert not (out / "stale.txt").exists()
    assert tree_digest(out) == tree_digest(smoke_data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.slow
def test_default_preset_is_large_enough_and_copy_first_frame_scores_low(tmp_path):
    # generation time is a figure to print, not to assert (timed tests only measure the machine)
    started = time.perf_counter()
    summary = generate(tmp_path / "default", get_preset("default"), seed=0, progress=False)
    print(f"\ndefault preset generated in {time.perf_counter() - started:.1f} s")
    val = summary["davis"]["val"]
    assert val["objects"] >= 100
    assert val["copy_first_frame_iou"] < 0.5
    davis = DavisDataset(tmp_path / "default" / "DAVIS", year=2017, split="val")
    video = davis.load_video(davis.sequences[0])
    assert video.images.shape[1:3] == (96, 160)
    # learnable: a crude colour tracker (first-frame colour histograms + the previous mask) does far better
    tracked = np.mean([colour_tracker_iou(davis.load_video(name)) for name in davis.sequences[:20]])
    assert tracked > val["copy_first_frame_iou"] + 0.2
    assert read_mask(tmp_path / "default" / "DAVIS" / "Annotations" / "480p" / davis.sequences[0] / "00000.png").max() > 0


def colour_tracker_iou(video) -> float:
    """Mean IoU over objects and frames 1..T-2 of a non-learned tracker: each pixel goes to the object
    (or background) whose first-frame colour histogram explains it best, objects limited to a band
    around their previous mask."""
    def quantise(image):
        return (image[..., 0] // 32) * 64 + (image[..., 1] // 32) * 8 + image[..., 2] // 32

    ids = sorted(video.objects)
    first, codes = video.gt[0], quantise(video.images[0])
    hists = np.stack([np.bincount(codes[first == k], minlength=512) + 0.5 for k in [0, *ids]])
    hists /= hists.sum(axis=1, keepdims=True)
    previous, scores = first, {k: [] for k in ids}
    for t in range(1, video.num_frames - 1):
        likelihood = hists[:, quantise(video.images[t])]
        for i, k in enumerate(ids):
            likelihood[i + 1][~binary_dilation(previous == k, iterations=8)] *= 1e-3
        previous = np.array([0, *ids])[likelihood.argmax(axis=0)]
        for k in ids:
            union = ((previous == k) | (video.gt[t] == k)).sum()
            scores[k].append(1.0 if union == 0 else ((previous == k) & (video.gt[t] == k)).sum() / union)
    return float(np.mean([np.mean(v) for v in scores.values()]))
