"""The training data of a stage and the batches of each iteration.

Determinism: the clip drawn for batch slot ``j`` of iteration ``i`` depends only on ``(seed, i, j)``,
and every RNG is reseeded from ``(seed, i)`` before each step, so the data position is simply the
iteration number, and the global batch does not depend on the number of DDP processes (under
torchrun each rank takes its slice of the global batch).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from pipelines.common.files import DataError
from pipelines.data import clips
from pipelines.data.coco import CocoImages
from pipelines.experiment import datasets
from pipelines.experiment.datasets import HOLDOUT_DATASET, PRETRAIN_ROOT_KEY
from pipelines.experiment.roots import dataset_root
from pipelines.experiment.stages import Stage
from pipelines.training.config import StageConfig


def holdout_names(stage_cfg: StageConfig, data_section: dict, config_path: Path | None) -> list[str]:
    """The DAVIS-2017 train sequences held out of the main stage for validation (the last ``holdout``)."""
    count = getattr(stage_cfg, "holdout", 0)
    if not count:
        return []
    holdout = datasets.get(HOLDOUT_DATASET)
    names = holdout.reader(dataset_root(data_section, holdout.root_key, config_path), holdout.split("train")).sequences
    problem = holdout_problem(count, len(names))
    if problem:
        raise DataError(config_path, problem)
    return names[-count:]


def validation_set(stage_cfg: StageConfig, data_section: dict, config_path: Path | None) -> tuple[str, list[str]]:
    """(DAVIS-2017 split, sequence names) of the main stage's held-out check: the ``holdout_split``
    list, or the ``holdout`` last train videos; no names when neither is set."""
    split = getattr(stage_cfg, "holdout_split", None)
    if not split:
        return "train", holdout_names(stage_cfg, data_section, config_path)
    holdout = datasets.get(HOLDOUT_DATASET)
    root = dataset_root(data_section, holdout.root_key, config_path)
    listing = holdout.split_list(root, split)
    if not listing.is_file():
        raise DataError(listing, f"train.main.holdout_split: {split!r} names no {holdout.title} split list here "
                                 "(a real DAVIS root has none: set holdout_split: null and holdout: N to hold out N "
                                 "train videos)")
    return split, holdout.reader(root, split).sequences


def holdout_problem(count: int, videos: int) -> str | None:
    """Why holding out ``count`` of ``videos`` train videos of the holdout dataset is refused, or None (the
    workflow's dry run asks the same before the data exist)."""
    if count >= videos:
        return (f"train.main.holdout: {count} held-out videos leave none of the {videos} "
                f"{datasets.get(HOLDOUT_DATASET).title} train "
                "videos to train on")
    return None


def build_clip_dataset(stage: Stage, stage_cfg: StageConfig, data_section: dict, config_path: Path | None,
                       seed: int):
    """The clip dataset of a stage: StaticClipDataset over COCO for the ``pretrain`` schedule,
    VideoClipDataset over the configured training videos (less the held-out ones) for ``main``. Missing
    folders raise DataError."""
    if not stage.on_videos:
        coco = CocoImages(dataset_root(data_section, PRETRAIN_ROOT_KEY, config_path))
        return clips.StaticClipDataset(coco, num_frames=stage_cfg.num_frames, crop=tuple(stage_cfg.crop),
                                       max_objects=stage_cfg.max_objects, seed=seed)
    videos = []
    held_out = set(holdout_names(stage_cfg, data_section, config_path))
    holdout_layout = datasets.get(HOLDOUT_DATASET).layout
    for name in stage_cfg.datasets:
        dataset = datasets.get(name)
        reader = dataset.reader(dataset_root(data_section, dataset.root_key, config_path), dataset.split("train"))
        # the held-out videos are left out of every dataset of their layout (DAVIS-2016 train is a part of 2017's)
        skip = held_out if dataset.layout is holdout_layout else set()
        videos.extend(v for v in clips.lazy_videos(reader) if v.name not in skip)  # only sampled frames are read
    if not videos:
        raise DataError(config_path, f"no training videos found in {', '.join(stage_cfg.datasets)}")
    return clips.VideoClipDataset(videos, num_frames=stage_cfg.num_frames, max_skip=stage_cfg.max_skip.start,
                                  crop=tuple(stage_cfg.crop), max_objects=stage_cfg.max_objects, seed=seed,
                                  reappear_clips=stage_cfg.reappear_clips)


def derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class IterationBatches(torch.utils.data.Dataset):
    """Item ``k`` = this rank's slice of the global batch of iteration ``start + k``.

    Each clip is drawn with every RNG seeded from ``(seed, iteration, slot)``, so a batch is a pure
    function of the iteration: resuming needs no sampler state and worker processes need no seeding.
    The frame-skip curriculum is evaluated here too (workers hold copies of the dataset).
    """

    def __init__(self, clips, stage_cfg: StageConfig, seed: int, start: int, rank: int = 0, world: int = 1):
        if stage_cfg.batch_size % world:
            raise ValueError(f"batch_size {stage_cfg.batch_size} is not divisible by {world} processes")
        self.clips = clips
        self.cfg = stage_cfg
        self.seed = seed
        self.start = start
        self.per_rank = stage_cfg.batch_size // world
        self.rank = rank
        self.iterations_per_epoch = max(1, len(clips) // stage_cfg.batch_size)

    def __len__(self) -> int:
        return self.cfg.iterations - self.start

    def max_skip_at(self, iteration: int) -> int | None:
        schedule = getattr(self.cfg, "max_skip", None)
        return None if schedule is None else schedule.at(iteration, self.iterations_per_epoch)

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        iteration = self.start + k
        skip = self.max_skip_at(iteration)
        if skip is not None:
            self.clips.set_max_skip(skip)
        items = []
        for j in range(self.rank * self.per_rank, (self.rank + 1) * self.per_rank):
            slot_seed = derive_seed(self.seed, iteration, j)
            seed_everything(slot_seed)
            if hasattr(self.clips, "rng"):  # datasets that keep their own generator
                self.clips.rng = np.random.default_rng(slot_seed)
            items.append(self.clips[int(np.random.randint(len(self.clips)))])
        return {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in items[0]}
