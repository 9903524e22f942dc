"""Training CLI on the smoke data with a tiny model: stages, outputs, resume after SIGKILL, DDP, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from methods.checkpoint import CHECKPOINT_KEYS, CheckpointError, load_torch_file
from methods.checkpoint import read_checkpoint as load_checkpoint
from pipelines import train
from pipelines.common.files import MARKER, DataError
from pipelines.common.provenance import run_hash

REPO = Path(__file__).resolve().parent.parent

TINY_MODEL = {"backbone": "resnet18", "backbone_stage": "layer2", "key_dim": 8, "value_dim": 16,
              "decoder_dim": 8, "aspp_rates": [1, 2], "freeze_bn": False}


def write_config(path: Path, smoke_data: Path, iterations: int = 3, checkpoint_every: int = 2, **train_extra) -> Path:
    stage = {"iterations": iterations, "batch_size": 2, "lr": 1e-3, "crop": [32, 48], "num_frames": 3,
             "max_objects": 2}
    config = {
        "data": {"davis": str(smoke_data / "DAVIS"), "youtubevos": str(smoke_data / "YouTubeVOS"),
                 "coco": str(smoke_data / "COCO")},
        "model": dict(TINY_MODEL),
        "train": {"checkpoint_every": checkpoint_every, "log_every": 1,
                  "pretrain": dict(stage),
                  "main": dict(stage, max_skip={"start": 0, "step": 1, "every": 1, "unit": "iterations", "maximum": 3},
                               datasets=["davis2017", "youtubevos"])} | train_extra,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def run_in_process(argv: list[str]) -> int:
    """train.main in this process (CPU, one thread), restoring the global torch settings it changes."""
    threads = torch.get_num_threads()
    try:
        return train.main([*argv, "--device", "cpu", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)


def cli(*args: str, **kwargs) -> list[str]:
    return [sys.executable, "-m", "pipelines.train", *args]


def test_pretrain_then_full_writes_the_run_folder(tmp_path, smoke_data, capsys):
    config = write_config(tmp_path / "c.yaml", smoke_data)
    pre = tmp_path / "pre"
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "pretrain_only",
                           "--out", str(pre)]) == 0
    ckpt = load_checkpoint(pre / "checkpoint.pt")
    assert set(CHECKPOINT_KEYS) <= set(ckpt)
    assert (ckpt["variant"], ckpt["stage"], ckpt["iteration"], ckpt["seed"]) == ("gvos_scm", "pretrain_only", 3, 0)
    assert not (pre / "state.pt").exists()
    effective = yaml.safe_load((pre / "config.yaml").read_text())
    assert effective["run"]["variant"] == "gvos_scm" and effective["train"]["pretrain"]["iterations"] == 3
    losses = pd.read_csv(pre / "loss.csv")
    assert list(losses["iteration"]) == [1, 2, 3]
    assert {"loss", "lr", "max_skip", "elapsed_s"} <= set(losses.columns)
    assert losses["loss"].notna().all()

    full = tmp_path / "full"
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "full", "--init",
                           str(pre / "checkpoint.pt"), "--out", str(full), "--seed", "3"]) == 0
    done = load_checkpoint(full / "checkpoint.pt")
    assert (done["stage"], done["seed"]) == ("full", 3)
    assert list(pd.read_csv(full / "loss.csv")["max_skip"]) == [0, 1, 2]
    changed = [k for k, v in done["state_dict"].items() if v.is_floating_point()
               and not torch.equal(v, ckpt["state_dict"][k])]
    assert changed, "full training did not move any weight away from the pretrain checkpoint"

    # a finished run folder is left alone
    before = (full / "checkpoint.pt").stat().st_mtime_ns
    capsys.readouterr()
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "full", "--init",
                           str(pre / "checkpoint.pt"), "--out", str(full), "--seed", "3"]) == 0
    assert "already finished" in capsys.readouterr().out
    assert (full / "checkpoint.pt").stat().st_mtime_ns == before


def test_same_seed_same_weights_different_seed_different(tmp_path, smoke_data):
    """Deterministic on CPU, also when a DataLoader worker process draws the clips."""
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=2)
    weights = []
    for name, workers, seed in (("a", "0", "0"), ("b", "1", "0"), ("c", "0", "1")):
        run_in_process(["--config", str(config), "--variant", "no_scm", "--stage", "main_only", "--out",
                        str(tmp_path / name), "--seed", seed, "--workers", workers])
        weights.append(load_checkpoint(tmp_path / name / "checkpoint.pt")["state_dict"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_interrupted_run_resumes_to_identical_weights(tmp_path, smoke_data, monkeypatch):
    """In-process version of the kill test (fast): the run dies right after its first state file."""
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=5, checkpoint_every=2)
    argv = ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only"]
    run_in_process([*argv, "--out", str(tmp_path / "reference")])

    real_save = train.save_atomic

    def save_then_die(obj, path):
        real_save(obj, path)
        if Path(path).name == "state.pt":
            raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(train, "save_atomic", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_in_process([*argv, "--out", str(tmp_path / "resumed")])
    monkeypatch.setattr(train, "save_atomic", real_save)
    assert not (tmp_path / "resumed" / "checkpoint.pt").exists()
    run_in_process([*argv, "--out", str(tmp_path / "resumed")])
    ref = load_checkpoint(tmp_path / "reference" / "checkpoint.pt")["state_dict"]
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoint.pt")["state_dict"]
    assert all(torch.equal(ref[k], resumed[k]) for k in ref)
    assert (pd.read_csv(tmp_path / "resumed" / "loss.csv")["loss"].tolist()
            == pd.read_csv(tmp_path / "reference" / "loss.csv")["loss"].tolist())


@pytest.mark.slow
def test_sigkill_then_rerun_resumes_to_identical_weights(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=10, checkpoint_every=2)
    argv = ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only"]
    env = dict(os.environ, PYTHONPATH=str(REPO))

    reference = tmp_path / "reference"
    subprocess.run(cli(*argv, "--out", str(reference)), cwd=REPO, env=env, check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(cli(*argv, "--out", str(killed)), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "state.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (killed / "state.pt").exists(), "no resumable state appeared before the kill"
    assert not (killed / "checkpoint.pt").exists(), "the run finished before it could be killed"
    state = load_torch_file(killed / "state.pt")
    assert 0 < state["iteration"] < 10

    result = subprocess.run(cli(*argv, "--out", str(killed)), cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ref = load_checkpoint(reference / "checkpoint.pt")["state_dict"]
    resumed = load_checkpoint(killed / "checkpoint.pt")["state_dict"]
    assert ref.keys() == resumed.keys()
    mismatched = [k for k in ref if not torch.equal(ref[k], resumed[k])]
    assert not mismatched, f"resumed run differs in {mismatched[:5]}"
    assert list(pd.read_csv(killed / "loss.csv")["iteration"]) == list(range(1, 11))
    ref_loss = pd.read_csv(reference / "loss.csv")["loss"]
    assert pd.read_csv(killed / "loss.csv")["loss"].tolist() == ref_loss.tolist()


def test_unknown_train_key_fails_before_writing(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, learning_rate=0.1)
    out = tmp_path / "run"
    result = subprocess.run(cli("--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)),
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    assert "learning_rate" in result.stderr
    assert not out.exists()


def test_missing_dataset_folder_is_a_clear_error(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data)
    data = yaml.safe_load(config.read_text())
    data["data"]["coco"] = str(tmp_path / "nowhere")
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    with pytest.raises(DataError, match="nowhere.*does not exist"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "pretrain_only", "--out", str(out)])
    assert not out.exists()


def test_init_from_another_variant_is_refused(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    pre = tmp_path / "pre"
    run_in_process(["--config", str(config), "--variant", "no_scm", "--stage", "pretrain_only", "--out", str(pre)])
    out = tmp_path / "full"
    with pytest.raises(CheckpointError, match="variant 'no_scm' \\(expected 'gvos_scm'\\)"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "full",
                        "--init", str(pre / "checkpoint.pt"), "--out", str(out)])
    assert not out.exists()
    with pytest.raises(ValueError, match="needs --init"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "full", "--out", str(out)])


def test_init_with_another_model_config_is_refused(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    pre = tmp_path / "pre"
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "pretrain_only", "--out", str(pre)])
    wider = yaml.safe_load(config.read_text())
    wider["model"]["key_dim"] = 16
    (tmp_path / "wider.yaml").write_text(yaml.safe_dump(wider))
    out = tmp_path / "full"
    with pytest.raises(CheckpointError, match="another model config"):
        run_in_process(["--config", str(tmp_path / "wider.yaml"), "--variant", "gvos_scm", "--stage", "full",
                        "--init", str(pre / "checkpoint.pt"), "--out", str(out)])
    assert not out.exists()


def test_changed_config_does_not_resume_or_overwrite(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    out = tmp_path / "run"
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(DataError, match="another config"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out),
                        "--seed", "5"])
    assert (out / "checkpoint.pt").read_bytes() == before
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out),
                    "--seed", "5", "--overwrite"])
    assert load_checkpoint(out / "checkpoint.pt")["seed"] == 5


@pytest.mark.slow
def test_ddp_two_cpu_processes_match_one_process(tmp_path, smoke_data):
    """torchrun + gloo end to end, the command the workflow starts for resources.train.gpu: 2: rank 0
    writes the run; its first loss is the single process's on the same global batch of 4 up to the
    dropout masks, which each rank draws from its own RNG stream (tests/test_distributed.py shows the
    step equal to 1e-6 with dropout off)."""
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=2)
    settings = yaml.safe_load(config.read_text())
    settings["train"]["main"]["batch_size"] = 4
    config.write_text(yaml.safe_dump(settings))
    argv = ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only"]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "pipelines.train", *argv, "--out", str(tmp_path / "ddp")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run_in_process([*argv, "--out", str(tmp_path / "single")])
    ddp_loss = pd.read_csv(tmp_path / "ddp" / "loss.csv")["loss"]
    single_loss = pd.read_csv(tmp_path / "single" / "loss.csv")["loss"]
    assert len(ddp_loss) == len(single_loss) == 2
    print("first loss: ddp", ddp_loss[0], "single", single_loss[0])
    assert ddp_loss[0] == pytest.approx(single_loss[0], rel=5e-2)
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")["state_dict"]
    single = load_checkpoint(tmp_path / "single" / "checkpoint.pt")["state_dict"]
    assert set(ddp) == set(single)  # the BatchNorm swap leaves the checkpoint a plain network's


def test_run_hash_ignores_the_other_stage_and_bookkeeping():
    base = {"data": {"davis": "d"}, "model": {"key_dim": 8},
            "train": {"log_every": 1, "checkpoint_every": 2, "pretrain": {"iterations": 3}, "main": {"iterations": 5}}}

    def changed(**train_changes):
        return base | {"train": base["train"] | train_changes}

    def h(config, stage):
        return run_hash(config, "gvos_scm", stage, 0)

    assert h(changed(main={"iterations": 9}), "pretrain_only") == h(base, "pretrain_only")
    assert h(changed(log_every=7, checkpoint_every=9), "pretrain_only") == h(base, "pretrain_only")
    assert h(changed(pretrain={"iterations": 4}), "pretrain_only") != h(base, "pretrain_only")
    assert h(changed(main={"iterations": 9}), "main_only") != h(base, "main_only")
    assert h(changed(pretrain={"iterations": 4}), "main_only") == h(base, "main_only")
    assert h(changed(pretrain={"iterations": 4}), "full") != h(base, "full")  # full depends on both stages
    assert run_hash(base, "gvos_scm", "full", 0) != run_hash(base, "gvos_scm", "full", 1)
    # the resolved model: a default written out changes nothing, the variant's overrides do
    assert h(base | {"model": {"key_dim": 8, "mem_every": 1}}, "full") == h(base, "full")
    assert run_hash(base, "stm_read", "full", 0) != h(base, "full")


def test_checkpoint_carries_the_workflow_run_hash(tmp_path, smoke_data):
    """The identity prediction checks: the workflow's run hash of (config, variant, stage, seed)."""
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    out = tmp_path / "run"
    run_in_process(["--config", str(config), "--variant", "no_scm", "--stage", "main_only", "--out", str(out),
                    "--seed", "4"])
    ckpt = load_checkpoint(out / "checkpoint.pt")
    expected = run_hash(yaml.safe_load(config.read_text()), "no_scm", "main_only", 4)
    assert (ckpt["variant"], ckpt["stage"], ckpt["seed"], ckpt["config_hash"]) == ("no_scm", "main_only", 4, expected)
    assert (out / MARKER).is_file()


def test_a_foreign_folder_is_never_trained_into(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("important")
    with pytest.raises(DataError, match="not written by this suite"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    with pytest.raises(DataError, match="contains the input"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                        str(smoke_data)])


def test_frozen_batchnorm_without_backbone_weights_is_refused(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    data = yaml.safe_load(config.read_text())
    data["model"]["freeze_bn"] = True
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="model.weights is not set but model.freeze_bn is true"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
    assert not out.exists()
    data["train"]["allow_untrained_backbone"] = True
    config.write_text(yaml.safe_dump(data))
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)]) == 0


def test_truncated_state_says_how_to_recover(tmp_path, smoke_data):
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    out = tmp_path / "run"
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
    (out / "checkpoint.pt").unlink()
    (out / "state.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="delete this file to restart"):
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
