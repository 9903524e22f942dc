"""How often the main stage's clips span an absence: an object given in a clip's first frame, gone in a
later frame of the clip and back in its last. Clips are drawn as training draws them (the frame-skip
curriculum over the stage's iterations, ``train.main.reappear_clips``), without the crop: a count of what
the sampler offers, not of what survives the crop.

    python -m pipelines.tools.clip_census --config CFG --data DATA [--shares 0 0.5] [--clips 1200]

DATA is a generated synthetic set (DATA/DAVIS, DATA/YouTubeVOS); the stage's datasets are read from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipelines.common.cli import run_cli
from pipelines.common.config_file import load_config
from pipelines.data import clips
from pipelines.data.masks import VOID_ID
from pipelines.experiment import datasets
from pipelines.training.config import TrainConfig

FOLDERS = {"davis2017": "DAVIS", "davis2016": "DAVIS", "youtubevos": "YouTubeVOS"}
"""Where a synthetic set keeps each dataset."""


def presence_of_given(labels: np.ndarray) -> np.ndarray:
    """bool (K, T): each object of the first frame present in each frame."""
    ids = [int(i) for i in np.unique(labels[0]) if int(i) not in (0, VOID_ID)]
    return np.stack([(labels == i).any(axis=(1, 2)) for i in ids]) if ids else np.zeros((0, len(labels)), bool)


def spans_absence(presence: np.ndarray, indices: list[int]) -> bool:
    """Some object is present in the clip's first and last frame and absent in one between."""
    part = presence[:, indices]
    return bool(np.any(part[:, 0] & part[:, -1] & ~part[:, 1:-1].all(axis=1))) if part.shape[1] > 2 else False


def census(videos: list, presence: list[np.ndarray], stage, share: float, clips_drawn: int, seed: int = 0) -> float:
    """Share of ``clips_drawn`` clips, spread evenly over the stage's iterations, that span an absence."""
    rng = np.random.default_rng(seed)
    sampler = clips.VideoClipDataset(videos, num_frames=stage.num_frames, crop=None, reappear_clips=share)
    per_epoch = max(1, len(videos) // stage.batch_size)
    hits = 0
    for k in range(clips_drawn):
        iteration = k * stage.iterations // clips_drawn
        sampler.set_max_skip(stage.max_skip.at(iteration, per_epoch))
        index = int(rng.integers(len(videos)))
        hits += spans_absence(presence[index], sampler.clip_indices(rng, videos[index]))
    return hits / clips_drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.tools.clip_census", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the config whose train.main stage draws the clips")
    parser.add_argument("--data", type=Path, required=True, help="a generated synthetic set (DATA/DAVIS, DATA/YouTubeVOS)")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.5], help="reappear_clips values to count")
    parser.add_argument("--clips", type=int, default=1200, help="clips drawn per share")
    args = parser.parse_args(argv)
    stage = TrainConfig.from_dict(load_config(args.config).get("train")).main
    videos = []
    for name in stage.datasets:
        dataset = datasets.get(name)
        videos += clips.lazy_videos(dataset.reader(args.data / FOLDERS[name], dataset.split("train")))
    presence = [presence_of_given(video.load(range(video.num_frames))[1]) for video in videos]
    with_absence = sum(bool(video.absences()) for video in videos)
    print(f"{len(videos)} training videos ({', '.join(stage.datasets)}), {with_absence} with an object that leaves "
          "and comes back")
    for share in args.shares:
        found = census(videos, presence, stage, share, args.clips)
        print(f"reappear_clips {share:g}: {100 * found:.1f}% of {args.clips} clips span an absence of an object "
              "given in their first frame")
    return 0


if __name__ == "__main__":
    run_cli(main)
