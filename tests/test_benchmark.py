"""The benchmark harness on a tiny network (ResNet-18 to layer2, 32x48 frames, t = 1 and 3)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
import yaml

from pipelines.benchmark import OUTPUT_FILES, main
from pipelines.benchmarking import memory_budget, runner
from pipelines.benchmarking.breakdown import COLUMNS as BREAKDOWN_COLUMNS
from pipelines.benchmarking.breakdown import GFLOPS_COLUMNS, SECONDS_COLUMNS
from pipelines.benchmarking.engine_state import EngineSnapshot, fill_memory
from pipelines.benchmarking.runner import COLUMNS
from pipelines.benchmarking.settings import merge, parse_size
from pipelines.benchmarking.summary import target_lines
from pipelines.benchmarking.synthetic_input import make_frame, make_mask
from pipelines.common.cli import run_cli
from pipelines.common.results_tables import is_successive

TINY_MODEL = {"backbone": "resnet18", "backbone_stage": "layer2", "key_dim": 16, "value_dim": 32,
              "aspp_rates": [1, 2], "decoder_dim": 16}


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump({"model": TINY_MODEL, "benchmark": {
        "variants": ["gvos_scm", "stm_read"], "size": [32, 48], "t": [1, 3], "repeats": 2, "warmup": 1}}))
    return path


@pytest.fixture(scope="module")
def tiny_run(tiny_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main(["--config", str(tiny_config), "--out", str(out), "--threads", "1", "--quiet", "--device", "cpu",
                 "--variants", "gvos_scm,stm_read,copy_first_frame"]) == 0
    return out


def test_both_csvs_have_the_columns_and_one_row_per_variant_and_t(tiny_run):
    for name in OUTPUT_FILES:
        table = pd.read_csv(tiny_run / name)
        assert list(table.columns) == COLUMNS
        assert sorted(zip(table.variant, table.t, strict=True)) == sorted(
            (v, t) for v in ("gvos_scm", "stm_read", "copy_first_frame") for t in (1, 3))
        assert (table.height == 32).all() and (table.width == 48).all()
        assert (table.repeats == 2).all() and (table.warmup == 1).all() and (table.threads == 1).all()
        assert (table.fp32_precision == "ieee").all()  # the CPU has no TF32
        assert (table.seconds_per_frame_min <= table.seconds_per_frame).all()
        assert (table.seconds_per_frame <= table.seconds_per_frame_max).all()
        assert (table.fps - 1 / table.seconds_per_frame).abs().max() < 1e-6
        assert (table.peak_memory_bytes > 0).all()
        assert ((table.step_memory_bytes >= 0) & (table.step_memory_bytes < table.peak_memory_bytes)).all()
        assert not table.timing_mode.map(is_successive).any()
        assert table.config_hash.nunique() == 1 and table.config_hash.str.len().eq(12).all()


def test_memory_is_constant_for_gcm_and_linear_for_stm(tiny_run):
    table = pd.read_csv(tiny_run / "memory_vs_t.csv").set_index(["variant", "t"])
    learned = table.loc[["gvos_scm", "stm_read"]]
    assert (learned.memory_frames == learned.index.get_level_values("t")).all()
    assert table.loc[("gvos_scm", 1), "memory_bytes"] == table.loc[("gvos_scm", 3), "memory_bytes"]
    # 32x48 at stride 8 -> 4x6 positions, (16 + 32) channels, float32
    assert table.loc[("stm_read", 1), "memory_bytes"] == 4 * 6 * (16 + 32) * 4
    assert table.loc[("stm_read", 3), "memory_bytes"] == 3 * table.loc[("stm_read", 1), "memory_bytes"]


def test_breakdown_times_every_section_and_counts_its_flops(tiny_run):
    table = pd.read_csv(tiny_run / "speed.csv").set_index(["variant", "t"])
    learned = table.loc[["gvos_scm", "stm_read"]]
    assert (learned[SECONDS_COLUMNS] > 0).all().all()
    assert (learned[GFLOPS_COLUMNS] > 0).all().all()
    sections = learned[[c for c in GFLOPS_COLUMNS if c != "gflops_per_frame"]].sum(axis=1)
    # every convolution and matrix product of a step happens inside one of its sections
    assert ((sections - learned.gflops_per_frame).abs() <= 1e-9 * learned.gflops_per_frame).all()
    assert table.loc["copy_first_frame", BREAKDOWN_COLUMNS].isna().all().all()


def test_readout_flops_grow_linearly_in_t_for_stm_and_stay_constant_for_gcm(tiny_run):
    table = pd.read_csv(tiny_run / "speed.csv").set_index(["variant", "t"])
    positions, c_n, c_m = 4 * 6, 16, 32  # 32x48 at stride 8; TINY_MODEL key / value channels
    for t in (1, 3):  # softmax(Q K^T) V over t frames of memory: 2 FLOPs per multiply-add
        expected = 2 * positions * (t * positions) * (c_n + c_m) / 1e9
        assert table.loc[("stm_read", t), "gflops_readout"] == pytest.approx(expected, rel=1e-12)
        # softmax_c(Q)-weighted read of the C_N x C_M context, whatever t
        assert table.loc[("gvos_scm", t), "gflops_readout"] == pytest.approx(2 * positions * c_n * c_m / 1e9,
                                                                            rel=1e-12)
    # the variants differ only in the readout: the rest of the network does the same work
    for column in ("gflops_query_encoder", "gflops_decoder"):
        assert table.loc[("stm_read", 3), column] == table.loc[("gvos_scm", 3), column]


def test_step_runs_its_sections_in_order_and_the_first_frame_only_memorizes():
    from contextlib import nullcontext

    from methods.inference import STEP_SECTIONS, build_engine

    torch.manual_seed(0)
    engine = build_engine("gvos_scm", cfg=TINY_MODEL)
    entered = []
    engine.section_hook = lambda name: entered.append(name) or nullcontext()
    engine.step(make_frame(32, 48, 0), make_mask(32, 48, 1))
    assert entered == ["memorize"]
    entered.clear()
    engine.step(make_frame(32, 48, 1))
    assert tuple(entered) == STEP_SECTIONS


def test_no_breakdown_leaves_its_columns_empty(tiny_config, tmp_path):
    assert main(["--config", str(tiny_config), "--out", str(tmp_path), "--threads", "1", "--quiet",
                 "--variants", "gvos_scm", "--t", "2", "--no-breakdown"]) == 0
    table = pd.read_csv(tmp_path / "speed.csv")
    assert len(table) == 1 and table[BREAKDOWN_COLUMNS].isna().all().all()
    assert table.seconds_per_frame.gt(0).all()


def _memory_tensors(memory) -> list[torch.Tensor]:
    found = []
    for value in vars(memory).values():
        items = value if isinstance(value, list | tuple) else [value]
        found += [item for item in items if isinstance(item, torch.Tensor)]
    return found


@pytest.mark.parametrize("variant", ["gvos_scm", "stm_read"])
def test_a_timed_step_leaves_the_t_frame_memory_as_it_was(variant):
    from methods.inference import build_engine

    torch.manual_seed(0)
    engine = build_engine(variant, cfg=TINY_MODEL)
    first, mask = make_frame(32, 48, 0), make_mask(32, 48, 2)
    with torch.inference_mode():
        fill_memory(engine, first, mask, [1, 2], t=3)
    before = [t.clone() for t in _memory_tensors(engine.memory)]
    prev = engine.prev_probs.clone()
    snapshot = EngineSnapshot(engine)
    engine.step(make_frame(32, 48, 1))
    assert engine.memory.num_frames == 4
    snapshot.restore()
    assert engine.memory.num_frames == 3
    after = _memory_tensors(engine.memory)
    assert len(before) == len(after) > 0
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert torch.equal(engine.prev_probs, prev)


def test_gcm_fill_is_the_running_mean_of_identical_frames():
    from methods.inference import build_engine

    torch.manual_seed(0)
    engine = build_engine("gvos_scm", cfg=TINY_MODEL)
    first, mask = make_frame(32, 48, 0), make_mask(32, 48, 1)
    with torch.inference_mode():
        fill_memory(engine, first, mask, [1], t=1)
        one = engine.memory.context.clone()
        fill_memory(engine, first, mask, [1], t=5)
    assert engine.memory.num_frames == 5
    assert torch.allclose(engine.memory.context, one, atol=1e-6)


@pytest.mark.parametrize(("argv", "message"), [
    (["--variants", "gvos_scm,nope"], "unknown variant(s) nope"),
    (["--size", "32by48"], "expected HEIGHTxWIDTH"),
    (["--size", "16x48"], "at least 32 pixels"),
    (["--t", "1,0"], "values must be integers >= 1"),
    (["--t", "1,2000000000", "--variants", "stm_read"], "not enough memory"),
])
def test_bad_arguments_exit_2_and_write_nothing(argv, message, tiny_config, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--config", str(tiny_config), "--out", str(out), "--quiet", *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_memory_refusal_names_needed_and_available_bytes(monkeypatch):
    monkeypatch.setattr(runner, "available_bytes", lambda device: 5 * 2**30)
    settings = merge({"model": {}}, {"variants": "gvos_scm,stm_read", "size": "480x854", "t": "1,100,5000",
                                     "device": "cpu"})
    specs = [runner.resolve_variant(v, settings, None) for v in settings.variants]
    with pytest.raises(ValueError, match=r"5\.0 GiB \(5368709120 bytes\) available") as err:
        runner.check_memory(specs, settings)
    assert "stm_read at t=5000 needs about" in str(err.value)
    assert "gvos_scm" not in str(err.value) and "t=100 " not in str(err.value)


def test_config_gives_defaults_and_the_command_line_overrides():
    config = {"model": {"backbone": "resnet18"},
              "benchmark": {"variants": ["gvos_scm"], "size": [64, 96], "t": [1, 10], "repeats": 4}}
    settings = merge(config, {"t": "2,1", "warmup": 0, "device": "cpu"})
    assert (settings.height, settings.width, settings.t) == (64, 96, [1, 2])
    assert (settings.repeats, settings.warmup, settings.variants) == (4, 0, ["gvos_scm"])
    assert settings.model == {"backbone": "resnet18"}
    with pytest.raises(ValueError, match="unknown key"):
        merge({"benchmark": {"sizes": "1x1"}}, {})
    assert parse_size("480x854") == (480, 854)
    assert (settings.breakdown, settings.tf32) == (True, None)
    assert merge(config, {"breakdown": False, "tf32": True, "device": "cpu"}).tf32 is True


def test_paper_geometry_gives_table_3_stm_memory():
    from methods.config import ModelConfig
    from methods.memory import state_bytes

    stm = ModelConfig(readout="stm", key_dim=128, value_dim=512)
    assert stm.feature_positions(480, 854) == 30 * 54
    assert state_bytes(stm, 1, 1, 480, 854) == 1620 * 640 * 4
    assert state_bytes(ModelConfig(readout="gcm"), 1000, 1, 480, 854) == (128 * 512 + 1) * 4
    assert memory_budget.needed_bytes(stm, 100, 1, 480, 854) > state_bytes(stm, 100, 1, 480, 854)
    every5 = ModelConfig(readout="stm", mem_every=5)
    assert state_bytes(every5, 12, 1, 480, 854) == 4 * 1620 * 640 * 4  # frames 0, 5, 10 + the latest


@pytest.mark.parametrize("overrides", [{"readout": "gcm"}, {"readout": "stm"}, {"readout": "stm", "mem_every": 3}])
@pytest.mark.parametrize("t", [1, 2, 4, 7])
def test_the_memory_knows_its_own_bytes_before_allocating(overrides, t):
    """What the readout predicts is what the engine holds after t frames (2 objects, odd size)."""
    from methods.config import ModelConfig
    from methods.inference import InferenceEngine
    from methods.memory import state_bytes
    from methods.network import GVOSNet

    cfg = ModelConfig.from_dict({**TINY_MODEL, **overrides})
    engine = InferenceEngine(GVOSNet(cfg))
    with torch.inference_mode():
        fill_memory(engine, make_frame(37, 50, 0), make_mask(37, 50, 2), [1, 2], t=t)
    assert engine.memory_bytes() == state_bytes(cfg, t, 2, 37, 50)


def test_target_lines_are_computed_from_the_rows():
    mib = 2**20
    rows = [
        {"variant": "gvos_scm", "t": 10, "seconds_per_frame": 0.10, "memory_bytes": 100},
        {"variant": "gvos_scm", "t": 100, "seconds_per_frame": 0.12, "memory_bytes": 100},
        {"variant": "stm_read", "t": 1, "seconds_per_frame": 0.1, "memory_bytes": int(3.955 * mib)},
        {"variant": "stm_read", "t": 100, "seconds_per_frame": 0.24, "memory_bytes": int(300 * mib)},
    ]
    lines = target_lines(rows)
    assert "+20.0%; target within 10%: NO" in lines[0] and "identical" in lines[0]
    assert "= 2.00x" in lines[1] and "at least 3x: NO" in lines[1]
    assert "gvos_scm memory at any t: 0.000 MiB" in lines[2]
    assert "t=1: 3.95 MiB" in lines[3] and "within 3%: yes" in lines[3]
    assert "t=10: n/a" in lines[4]
    assert "within 3%: NO" in lines[5]


def test_target_lines_add_the_flop_ratio_and_readout_share_when_the_breakdown_ran():
    sections = {"seconds_query_encoder": 0.02, "seconds_decoder": 0.05, "seconds_memorize": 0.02}
    rows = [
        {"variant": "gvos_scm", "t": 10, "seconds_per_frame": 0.10, "memory_bytes": 100,
         "gflops_per_frame": 50.0, "gflops_readout": 0.2, "seconds_readout": 0.01, **sections},
        {"variant": "gvos_scm", "t": 100, "seconds_per_frame": 0.10, "memory_bytes": 100,
         "gflops_per_frame": 50.0, "gflops_readout": 0.2, "seconds_readout": 0.01, **sections},
        {"variant": "stm_read", "t": 100, "seconds_per_frame": 0.20, "memory_bytes": 10**6,
         "gflops_per_frame": 100.0, "gflops_readout": 50.2, "seconds_readout": 0.11, **sections},
    ]
    lines = target_lines(rows)
    assert "GFLOPs 50.000 vs 50.000 (identical)" in lines[0]
    assert "GFLOPs per frame at t=100: 100.0 / 50.0 = 2.00x" in lines[2]
    assert "stm_read 55%, gvos_scm 10%" in lines[3]


def test_fp32_precision_names_what_cuda_runs_in_and_the_tf32_switch_sets_both():
    """the rows say whether float32 convolutions / matrix products ran as TF32 (flags only:
    no GPU is needed to set and read them)."""
    from pipelines.benchmarking.peaks import fp32_precision_in_force
    from pipelines.benchmarking.settings import BenchmarkSettings

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        def settings(tf32):
            return BenchmarkSettings(["gvos_scm"], None, 32, 48, [1], 1, 0, "cuda", tf32=tf32)

        assert runner.apply_fp32_precision(settings(False)) == "conv=ieee,matmul=ieee"
        assert runner.apply_fp32_precision(settings(True)) == "conv=tf32,matmul=tf32"
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = True, False  # PyTorch's defaults
        assert runner.apply_fp32_precision(settings(None)) == "conv=tf32,matmul=ieee"  # None keeps them
        assert fp32_precision_in_force("cpu") == "ieee"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("amp, dtype", [(False, torch.float32), (True, torch.bfloat16)])
def test_the_limits_are_measured_in_the_steps_precision(monkeypatch, amp, dtype):
    """achieved / peak compares like with like: the matmul and conv limits run in the
    dtype the timed step runs in (bfloat16 autocast on the CPU), not always in IEEE float32."""
    from pipelines.benchmarking import peaks

    seen = []
    monkeypatch.setattr(peaks, "_best_rate", lambda device, flops, work, repeats: seen.append(work().dtype) or 1.0)
    peaks.matmul_peak_gflops("cpu", amp=amp)
    peaks.conv_peak_gflops("cpu", amp=amp)
    assert seen == [dtype, dtype]


def test_train_speed_rows_carry_the_precision_and_both_limits():
    from pipelines.benchmarking.training import COLUMNS as TRAIN_COLUMNS

    assert {"precision", "fp32_precision", "matmul_peak_gflops_per_second", "conv_peak_gflops_per_second",
            "fraction_of_conv_peak"} <= set(TRAIN_COLUMNS)


def test_an_amp_benchmark_on_the_cpu_labels_its_rows_with_the_autocast_it_ran(tiny_config, tmp_path, capsys, caplog):
    """on the CPU --amp runs bfloat16 autocast, so the rows say bfloat16-amp (they said
    float32, with a warning that --amp had no effect there)."""
    assert main(["--config", str(tiny_config), "--out", str(tmp_path), "--threads", "1", "--quiet", "--device", "cpu",
                 "--variants", "gvos_scm", "--t", "1", "--amp", "--no-breakdown"]) == 0
    speed = pd.read_csv(tmp_path / "speed.csv")
    assert set(speed["dtype"]) == {"bfloat16-amp"}
    said = capsys.readouterr().err + caplog.text
    assert "no effect" not in said


def test_the_training_benchmark_counts_the_flops_of_the_batches_it_timed(tmp_path, smoke_data):
    """gflops_per_iteration is the mean over the timed batches, counted one by one here on a fresh trainer
    (the object rows, and so the FLOPs, differ between batches): not the count of some other batch."""
    from torch.utils.flop_counter import FlopCounterMode

    from pipelines.benchmarking.measure import PeakMemory
    from pipelines.benchmarking.training import TrainBenchSettings, _fresh_trainer, measure_stage
    from pipelines.experiment.stages import MAIN_ONLY
    from pipelines.training.data import IterationBatches, build_clip_dataset
    from tests.test_train import write_config

    path = write_config(tmp_path / "c.yaml", smoke_data, iterations=10)
    config = yaml.safe_load(path.read_text())
    settings = TrainBenchSettings(variants=["gvos_scm"], stages=["main"], iterations=3, warmup=1, device="cpu")
    row = measure_stage(config, path, "gvos_scm", "main", settings, PeakMemory("cpu"))
    trainer, stage_cfg = _fresh_trainer(config, "gvos_scm", "main", torch.device("cpu"))
    batches = IterationBatches(build_clip_dataset(MAIN_ONLY, stage_cfg, config["data"], path, seed=0), stage_cfg, 0, 0)
    counts = []
    for iteration in range(1, 4):
        with FlopCounterMode(display=False) as counter:
            trainer.step(batches[iteration], iteration)
        counts.append(counter.get_total_flops() / 1e9)
    assert row["gflops_per_iteration"] == pytest.approx(sum(counts) / 3, rel=1e-9)


def test_states_that_fit_one_at_a_time_but_not_together_are_refused(monkeypatch):
    """The round robin keeps every (variant, t) state alive: their sum must fit too."""
    settings = merge({"model": {}}, {"variants": "stm_read", "size": "480x854", "t": "600,1000", "device": "cpu"})
    specs = [runner.resolve_variant(v, settings, None) for v in settings.variants]
    alone = memory_budget.needed_bytes(specs[0].config, 1000, 1, 480, 854)
    monkeypatch.setattr(runner, "available_bytes", lambda device: alone + 2**20)
    with pytest.raises(ValueError, match="keeps every .variant, t. state alive at once"):
        runner.check_memory(specs, settings)


def test_each_row_carries_its_networks_parameter_count(tiny_run):
    from methods.variants import build_model

    speed = pd.read_csv(tiny_run / "speed.csv").drop_duplicates("variant").set_index("variant")["parameters"]
    for variant in ("gvos_scm", "stm_read"):
        assert speed[variant] == sum(p.numel() for p in build_model(variant, TINY_MODEL).parameters())
    assert speed["copy_first_frame"] == 0


def test_a_blocks_own_memory_is_its_peak_less_what_was_resident_before():
    from pipelines.benchmarking.measure import PeakMemory

    peak = PeakMemory("cpu")
    if peak.kind != "cpu_peak_rss":
        pytest.skip("needs /proc/self/clear_refs to reset the resident-set peak")
    resident = torch.ones(40 * 2**20 // 4)  # 40 MiB alive before and during the block: not the block's
    peak.reset()
    block = torch.ones(80 * 2**20 // 4)  # 80 MiB the block itself needs
    del block
    own = peak.above_start(peak.read())
    assert 78 * 2**20 <= own < 100 * 2**20 and resident.numel() > 0
