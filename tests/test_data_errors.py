"""Bad input: each case is one DataError that names the offending path and says what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.common.files import DataError
from pipelines.data.coco import CocoImages
from pipelines.data.davis import DavisDataset
from pipelines.data.masks import write_mask
from pipelines.data.youtubevos import YouTubeVOSDataset


@pytest.fixture()
def davis(smoke_data, tmp_path) -> Path:
    root = tmp_path / "DAVIS"
    shutil.copytree(smoke_data / "DAVIS", root)
    return root


@pytest.fixture()
def ytvos(smoke_data, tmp_path) -> Path:
    root = tmp_path / "YouTubeVOS"
    shutil.copytree(smoke_data / "YouTubeVOS", root)
    return root


def first_sequence(root: Path) -> str:
    return (root / "ImageSets/2017/val.txt").read_text().split()[0]


def expect_error(call, path: Path, problem: str) -> DataError:
    with pytest.raises(DataError) as caught:
        call()
    assert caught.value.path == path
    assert problem in str(caught.value) and str(path) in str(caught.value)
    return caught.value


def test_missing_root(tmp_path):
    expect_error(lambda: DavisDataset(tmp_path / "nowhere"), tmp_path / "nowhere", "does not exist")
    expect_error(lambda: YouTubeVOSDataset(tmp_path / "nowhere"), tmp_path / "nowhere", "does not exist")
    expect_error(lambda: CocoImages(tmp_path / "nowhere"), tmp_path / "nowhere", "does not exist")


def test_missing_image_folder(davis):
    shutil.rmtree(davis / "JPEGImages")
    expect_error(lambda: DavisDataset(davis), davis / "JPEGImages" / "480p", "folder does not exist")


def test_listed_sequence_without_frames(davis):
    (davis / "JPEGImages/480p/ghost").mkdir()
    with (davis / "ImageSets/2017/val.txt").open("a") as listing:
        listing.write("ghost\n")
    expect_error(lambda: DavisDataset(davis), davis / "JPEGImages/480p/ghost", "has no frames")


def test_empty_split(davis):
    (davis / "ImageSets/2017/val.txt").write_text("\n")
    expect_error(lambda: DavisDataset(davis), davis / "ImageSets/2017/val.txt", "empty split")


def test_missing_split_file(davis):
    expect_error(lambda: DavisDataset(davis, split="test"), davis / "ImageSets/2017/test.txt", "does not exist")


def test_annotation_size_differs_from_frame(davis):
    name = first_sequence(davis)
    png = davis / "Annotations/480p" / name / "00002.png"
    write_mask(png, np.zeros((40, 80), dtype=np.uint8))
    expect_error(lambda: DavisDataset(davis).load_video(name), png, "annotation is 40x80 but frame 00002.jpg is 48x80")


def test_non_palette_png(davis):
    name = first_sequence(davis)
    png = davis / "Annotations/480p" / name / "00001.png"
    Image.fromarray(np.zeros((48, 80, 3), dtype=np.uint8)).save(png)
    expect_error(lambda: DavisDataset(davis).load_video(name), png, "not a palette PNG")


def test_corrupt_png(davis):
    name = first_sequence(davis)
    png = davis / "Annotations/480p" / name / "00003.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    expect_error(lambda: DavisDataset(davis).load_video(name), png, "cannot read PNG")


def test_corrupt_jpeg(davis):
    name = first_sequence(davis)
    jpg = davis / "JPEGImages/480p" / name / "00001.jpg"
    jpg.write_bytes(b"garbage")
    expect_error(lambda: DavisDataset(davis).load_video(name), jpg, "cannot read image")


def test_missing_first_frame_annotation(davis):
    name = first_sequence(davis)
    (davis / "Annotations/480p" / name / "00000.png").unlink()
    expect_error(lambda: DavisDataset(davis).load_video(name), davis / "Annotations/480p" / name / "00000.png",
                 "first-frame annotation is missing")


def edit_meta(root: Path, split: str, change) -> Path:
    path = root / split / "meta.json"
    meta = json.loads(path.read_text())
    change(meta["videos"])
    path.write_text(json.dumps(meta))
    return path


def test_meta_lists_a_video_without_folder(ytvos):
    meta = edit_meta(ytvos, "valid", lambda v: v.update(ghost={"objects": {"1": {"category": "x", "frames": []}}}))
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid"), meta, "no JPEGImages folder: ghost")


def test_meta_misses_a_video_folder(ytvos):
    dropped = []
    meta = edit_meta(ytvos, "train", lambda v: dropped.append(v.pop(sorted(v)[0])))
    expect_error(lambda: YouTubeVOSDataset(ytvos, "train"), meta, "does not list videos found in JPEGImages")


def test_meta_frames_without_images(ytvos):
    name = sorted(json.loads((ytvos / "valid/meta.json").read_text())["videos"])[0]
    meta = edit_meta(ytvos, "valid", lambda v: v[name]["objects"]["1"]["frames"].append("99999"))
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid").load_video(name), meta, "frames with no image: 99999")


def test_meta_frames_given_as_a_string(ytvos):
    """"frames": "00000" was read character by character ("frames with no image: 0, 0, 0")."""
    name = sorted(json.loads((ytvos / "valid/meta.json").read_text())["videos"])[0]
    meta = edit_meta(ytvos, "valid", lambda v: v[name]["objects"]["1"].update(frames="00000"))
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid").load_video(name), meta,
                 '"frames" must be a list of frame names (strings), got str')


def test_annotation_objects_missing_from_meta(ytvos):
    name = sorted(json.loads((ytvos / "valid/meta.json").read_text())["videos"])[0]
    edit_meta(ytvos, "valid", lambda v: v[name]["objects"].pop("1"))
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid").load_video(name), ytvos / "valid/Annotations" / name,
                 "that meta.json does not list")


def test_meta_not_json(ytvos):
    (ytvos / "valid/meta.json").write_text("{not json")
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid"), ytvos / "valid/meta.json", "not valid JSON")


def test_empty_youtubevos_split(ytvos):
    shutil.rmtree(ytvos / "valid/JPEGImages")
    (ytvos / "valid/JPEGImages").mkdir()
    (ytvos / "valid/meta.json").write_text('{"videos": {}}')
    expect_error(lambda: YouTubeVOSDataset(ytvos, "valid"), ytvos / "valid/meta.json", "empty split")


def test_coco_bad_annotation_file(smoke_data, tmp_path):
    root = tmp_path / "COCO"
    shutil.copytree(smoke_data / "COCO", root)
    path = root / "annotations/instances_train.json"
    path.write_text('{"images": []}')
    expect_error(lambda: CocoImages(root), path, "not a COCO instances file")
    path.unlink()
    expect_error(lambda: CocoImages(root), path, "annotation file does not exist")
