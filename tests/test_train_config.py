"""The train: config section: defaults, validation, the skip curriculum and the shipped configs."""

from pathlib import Path

import pytest
import yaml

from pipelines.training.config import MaxSkipSchedule, StageConfig, TrainConfig

REPO = Path(__file__).resolve().parent.parent


def test_defaults_are_valid_and_round_trip():
    cfg = TrainConfig.from_dict(None)
    again = TrainConfig.from_dict(cfg.to_dict())
    assert again == cfg


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_shipped_configs_parse(name):
    path = REPO / "config" / name
    section = yaml.safe_load(path.read_text()).get("train")
    cfg = TrainConfig.from_dict(section)
    assert cfg.main.iterations > 0 and cfg.pretrain.iterations > 0


@pytest.mark.parametrize("section, fragment", [
    ({"learning_rate": 1e-3}, "train: unknown key(s) learning_rate"),
    ({"main": {"max_skip": {"evry": 3}}}, "train.main.max_skip: unknown key(s) evry"),
    ({"pretrain": {"max_skip": {"start": 0}}}, "train.pretrain: unknown key(s) max_skip"),
    ({"device": "cpu"}, "train: unknown key(s) device"),  # where a job runs is a resources setting
    ({"main": {"warmup": 10, "iterations": 10}}, "train.main.warmup"),
    ({"main": {"crop": [64]}}, "train.main.crop"),
    ({"main": {"datasets": ["kinetics"]}}, "train.main.datasets"),
    ({"pretrain": {"iterations": 0}}, "train.pretrain.iterations"),
    ({"pretrain": {"iterations": 2.5}}, "train.pretrain.iterations"),
    ({"amp": "yes"}, "train.amp"),
    ({"main": {"num_frames": 1}}, "train.main.num_frames"),
    ({"main": {"max_skip": {"start": 30, "maximum": 25}}}, "train.main.max_skip"),
])
def test_bad_values_name_the_key(section, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig.from_dict(section)


def test_yaml_exponent_without_dot_is_read_as_float():
    cfg = TrainConfig.from_dict(yaml.safe_load("pretrain: {lr: 1e-3}"))
    assert cfg.pretrain.lr == pytest.approx(1e-3)


def test_paper_skip_curriculum():
    schedule = MaxSkipSchedule(start=0, step=5, every=20, unit="epochs", maximum=25)
    per_epoch = 10
    assert schedule.at(0, per_epoch) == 0
    assert schedule.at(20 * per_epoch - 1, per_epoch) == 0
    assert schedule.at(20 * per_epoch, per_epoch) == 5
    assert schedule.at(10_000, per_epoch) == 25
    by_iter = MaxSkipSchedule(start=1, step=2, every=3, unit="iterations", maximum=4)
    assert [by_iter.at(i) for i in range(8)] == [1, 1, 1, 3, 3, 3, 4, 4]


def test_lr_schedules():
    constant = StageConfig(iterations=10, lr=1e-3)
    assert constant.lr_at(9) == 1e-3
    cosine = StageConfig(iterations=10, lr=1e-3, lr_schedule="cosine")
    assert cosine.lr_at(0) == pytest.approx(1e-3)
    assert cosine.lr_at(5) == pytest.approx(5e-4)
    assert cosine.lr_at(9) < 1e-4
    warm = StageConfig(iterations=14, lr=1e-3, lr_schedule="cosine", warmup=4)
    assert [warm.lr_at(i) for i in range(4)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert warm.lr_at(4) == pytest.approx(1e-3) and warm.lr_at(9) == pytest.approx(5e-4)
    assert warm.lr_at(13) < 1e-4


def test_each_stage_trains_with_its_schedule():
    from pipelines.experiment import stages

    cfg = TrainConfig.from_dict({"pretrain": {"iterations": 7}, "main": {"iterations": 9}})
    assert cfg.schedule(stages.stage("pretrain_only")).iterations == 7
    assert cfg.schedule(stages.stage("main_only")).iterations == 9 and cfg.schedule(stages.FULL).iterations == 9
    with pytest.raises(ValueError, match="unknown stage"):
        stages.stage("finetune")
