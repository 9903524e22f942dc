"""The fault suite: bad inputs and unsafe outputs given to the command-line tools the way a user would.

Every case runs a CLI through ``pipelines.common.cli.run_cli`` (as ``python -m`` does) and asserts the exit code
2, a one-line ``error:`` message naming the file and the fault, and that no file that existed before
was changed or removed (a checksum of every input and output tree, before and after). The count of
cases is in the README ("bad inputs tried"); the kill -9 / SIGINT cases are the slow ones at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from methods.checkpoint import load_torch_file
from pipelines import benchmark, collect, evaluate, predict, train
from pipelines.common.cli import run_cli
from pipelines.common.files import MARKER
from pipelines.data.masks import write_mask
from pipelines.predicting import segment

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "data" / "golden" / "davis2017"


def snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    """Every file under the roots: content hash and permission bits."""
    found = {}
    for root in roots:
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file())
        else:
            continue
        for path in files:
            found[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode))
    return found


def refused(main, argv: list[str], capsys, *, names: str, says: str, keep: list[Path]) -> str:
    """Run a CLI that must refuse: exit 2, one error line naming ``names`` and saying ``says``, and the
    trees in ``keep`` exactly as they were."""
    before = snapshot(*keep)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv)
    err = "\n".join(line for line in capsys.readouterr().err.strip().splitlines() if "%|" not in line)  # no bars
    assert exit_info.value.code == 2, err
    assert err.startswith("error: ") and names in err and says in err, err
    assert snapshot(*keep) == before, "an existing file was changed or removed"
    return err


@pytest.fixture
def golden_copy(tmp_path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    shutil.copytree(GOLDEN / "gt", gt)
    shutil.copytree(GOLDEN / "pred", pred)
    return gt, pred


# ---------------------------------------------------------------- predict: output folders

def test_predict_never_empties_a_folder_it_did_not_write(tmp_path, smoke_data, capsys):
    out = tmp_path / "x"
    out.mkdir()
    (out / "important.txt").write_text("notes")
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--split", "val", "--out", str(out)], capsys,
            names=str(out), says="not written by this suite", keep=[out])


@pytest.mark.parametrize("where", ["is", "contains"])
def test_predict_never_writes_over_its_input(tmp_path, smoke_data, capsys, where):
    data = tmp_path / "copy" / "DAVIS"
    shutil.copytree(smoke_data / "DAVIS", data)
    out = data if where == "is" else data.parent
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(data), "--dataset", "davis2017",
                           "--out", str(out), "--overwrite"], capsys,
            names=str(out), says=f"{where} the input", keep=[data.parent])


def test_predict_replaces_its_own_output_and_overwrite_is_explicit(tmp_path, smoke_data, capsys):
    out = tmp_path / "pred"
    argv = ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
            "--out", str(out)]
    assert predict.main(argv) == 0 and (out / MARKER).is_file()
    assert predict.main(argv) == 0  # its own folder: replaced
    (out / MARKER).unlink()
    refused(predict.main, argv, capsys, names=str(out), says="--overwrite", keep=[out])
    assert predict.main([*argv, "--overwrite"]) == 0


# ---------------------------------------------------------------- checkpoint identity

@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_data):
    from tests.test_train import run_in_process, write_config

    root = tmp_path_factory.mktemp("trained")
    config = write_config(root / "c.yaml", smoke_data, iterations=1)
    for variant in ("gvos_scm", "stm_read"):
        run_in_process(["--config", str(config), "--variant", variant, "--stage", "main_only", "--out",
                        str(root / variant), "--seed", "0"])
    return root, config


@pytest.mark.parametrize(("flags", "says"), [
    (["--variant", "stm_read"], "variant 'gvos_scm' (expected 'stm_read')"),
    (["--stage", "full"], "stage 'main_only' (expected 'full')"),
    (["--seed", "3"], "seed 0 (expected 3)"),
    (["--config-hash", "0123456789ab"], "(expected '0123456789ab')"),
])
def test_predict_refuses_a_checkpoint_of_another_run(trained, smoke_data, tmp_path, capsys, flags, says):
    """A gvos_scm checkpoint copied over stm_read's: refused, naming both identities."""
    root, config = trained
    copied = tmp_path / "stm_read" / "checkpoint.pt"
    copied.parent.mkdir()
    shutil.copy(root / "gvos_scm" / "checkpoint.pt", copied)
    out = tmp_path / "pred"
    refused(predict.main, ["--config", str(config), "--checkpoint", str(copied), *flags, "--data",
                           str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--out", str(out)], capsys,
            names=str(copied), says=says, keep=[tmp_path])
    assert not out.exists()


def test_predict_accepts_the_checkpoint_it_was_told_about(trained, smoke_data, tmp_path):
    from pipelines.common.provenance import run_hash

    root, config = trained
    chash = run_hash(yaml.safe_load(config.read_text()), "stm_read", "main_only", 0)
    assert predict.main(["--config", str(config), "--checkpoint", str(root / "stm_read" / "checkpoint.pt"),
                         "--variant", "stm_read", "--stage", "main_only", "--seed", "0", "--config-hash", chash,
                         "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--out",
                         str(tmp_path / "pred"), "--device", "cpu"]) == 0


# ---------------------------------------------------------------- unwritable or invalid --out, checked first

def evaluate_argv(gt: Path, pred: Path, out: Path) -> list[str]:
    return ["--gt", str(gt), "--pred", str(pred), "--split", "val", "--out", str(out), "--workers", "1"]


def test_evaluate_out_is_an_existing_file(golden_copy, tmp_path, capsys):
    gt, pred = golden_copy
    out = tmp_path / "scores.csv"
    out.write_text("mine")
    refused(evaluate.main, evaluate_argv(gt, pred, out), capsys, names=str(out), says="not a folder",
            keep=[tmp_path])


def test_evaluate_out_below_a_file(golden_copy, tmp_path, capsys):
    gt, pred = golden_copy
    (tmp_path / "file").write_text("mine")
    out = tmp_path / "file" / "sub"
    refused(evaluate.main, evaluate_argv(gt, pred, out), capsys, names=str(out), says="is not a folder",
            keep=[tmp_path])


def test_unwritable_out_is_refused_before_any_work(golden_copy, tmp_path, capsys, monkeypatch):
    """A read-only place (simulated: the suite runs as root in CI, where permissions do not bind)."""
    gt, pred = golden_copy
    out = tmp_path / "readonly" / "eval"
    out.parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == out.parent else real_access(p, mode))
    monkeypatch.setattr(evaluate, "evaluate_davis", lambda *a, **k: pytest.fail("scored before checking --out"))
    refused(evaluate.main, evaluate_argv(gt, pred, out), capsys, names=str(out), says="not writable",
            keep=[tmp_path])


def test_unwritable_train_and_predict_out(tmp_path, smoke_data, capsys, monkeypatch):
    from tests.test_train import write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == blocked else real_access(p, mode))
    refused(train.main, ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                         str(blocked / "run")], capsys, names=str(blocked / "run"), says="not writable",
            keep=[tmp_path])
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--out", str(blocked / "pred")], capsys, names=str(blocked / "pred"),
            says="not writable", keep=[tmp_path])


def test_benchmark_and_collect_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "results"
    out.write_text("mine")
    refused(benchmark.main, ["--variants", "copy_first_frame", "--out", str(out), "--quiet"], capsys,
            names=str(out), says="not a folder", keep=[tmp_path])
    refused(collect.main, ["tables", "--out", str(out)], capsys, names=str(out), says="not a folder",
            keep=[tmp_path])


# ---------------------------------------------------------------- bad predictions and splits (evaluate)

def _damage(kind: str, gt: Path, pred: Path) -> tuple[Path, str]:
    """Damage one file of the copied golden set; returns (the file the message must name, what it says)."""
    frame = pred / "a-ellipses" / "00005.png"
    if kind == "missing":
        frame.unlink()
        return frame, "prediction is missing"
    if kind == "corrupt":
        frame.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
        return frame, "cannot read PNG"
    if kind == "rgb":
        Image.new("RGB", (854, 480)).save(frame)
        return frame, "not a palette PNG"
    if kind == "wrong_size":
        write_mask(frame, np.zeros((240, 427), np.uint8))
        return frame, "prediction is 240x427"
    if kind == "unknown_id":
        write_mask(frame, np.full((480, 854), 9, np.uint8))
        return frame, "predicted object id 9"
    if kind == "missing_sequence":
        shutil.rmtree(pred / "a-thin")
        return pred / "a-thin", "no prediction folder"
    split = gt / "ImageSets" / "2017" / "val.txt"
    if kind == "empty_split":
        split.write_text("\n")
        return split, "sequence list is empty"
    if kind == "unknown_sequence":
        split.write_text("a-ellipses\nno-such-video\n")
        return gt / "Annotations" / "480p" / "no-such-video", "does not exist"
    if kind == "missing_split":
        split.unlink()
        return split, "does not exist"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "corrupt", "rgb", "wrong_size", "unknown_id", "missing_sequence",
                                  "empty_split", "unknown_sequence", "missing_split"])
def test_evaluate_rejects_bad_predictions_and_splits(golden_copy, tmp_path, capsys, kind):
    gt, pred = golden_copy
    out = tmp_path / "eval"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    names, says = _damage(kind, gt, pred)
    refused(evaluate.main, evaluate_argv(gt, pred, out), capsys, names=str(names), says=says,
            keep=[gt, pred, out])
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


# ---------------------------------------------------------------- bad configs and checkpoints (train)

@pytest.mark.parametrize(("change", "says"), [
    (lambda c: c["train"].update(learning_rate=0.1), "learning_rate"),
    (lambda c: c["model"].update(key_dim=0), "model.key_dim: 0 is less than the minimum"),
    (lambda c: c["train"]["main"].update(warmup=99), "train.main.warmup"),
    (lambda c: c["data"].update(coco="/nowhere/COCO"), "/nowhere/COCO"),
])
def test_train_rejects_bad_configs_before_writing(tmp_path, smoke_data, capsys, change, says):
    from tests.test_train import write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=3)
    data = yaml.safe_load(config.read_text())
    change(data)
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    refused(train.main, ["--config", str(config), "--variant", "gvos_scm", "--stage", "pretrain_only", "--out", str(out),
                         "--device", "cpu"], capsys, names="", says=says, keep=[tmp_path])
    assert not out.exists()


def test_config_that_is_not_yaml(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("model: [unclosed\n")
    refused(train.main, ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                         str(tmp_path / "run")], capsys, names=str(config), says="not valid YAML", keep=[tmp_path])


def test_truncated_checkpoint_for_predict(tmp_path, smoke_data, capsys):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"PK\x03\x04 truncated")
    refused(predict.main, ["--checkpoint", str(ckpt), "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                           "--out", str(tmp_path / "pred")], capsys, names=str(ckpt), says="cannot read checkpoint",
            keep=[tmp_path])


# ---------------------------------------------------------------- permissions

def test_outputs_get_the_permissions_of_the_users_umask(tmp_path, smoke_data):
    from tests.test_train import run_in_process, write_config

    old = os.umask(0o022)
    try:
        config = write_config(tmp_path / "c.yaml", smoke_data, iterations=2, checkpoint_every=1)
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                        str(tmp_path / "run")])
        predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset", "davis2017",
                      "--out", str(tmp_path / "pred")])
        evaluate.main(["--gt", str(smoke_data / "DAVIS"), "--pred", str(tmp_path / "pred"), "--out",
                       str(tmp_path / "eval"), "--workers", "1"])
    finally:
        os.umask(old)
    checked = 0
    for root in ("run", "pred", "eval"):
        for path in [tmp_path / root, *(tmp_path / root).rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o755 if path.is_dir() else 0o644), f"{path}: {oct(mode)}"
            checked += 1
    assert checked > 20


# ---------------------------------------------------------------- interrupted runs (slow)

@pytest.mark.slow
def test_sigint_then_rerun_finishes_with_the_same_weights(tmp_path, smoke_data):
    from methods.checkpoint import read_checkpoint
    from tests.test_train import cli, write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=10, checkpoint_every=2)
    argv = ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--device", "cpu", "--threads", "1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run(cli(*argv, "--out", str(tmp_path / "reference")), cwd=REPO, env=env, check=True,
                   capture_output=True)
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(cli(*argv, "--out", str(out)), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "state.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and not (out / "checkpoint.pt").exists(), err[-2000:]
    rerun = subprocess.run(cli(*argv, "--out", str(out)), cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    ref = read_checkpoint(tmp_path / "reference" / "checkpoint.pt")["state_dict"]
    resumed = read_checkpoint(out / "checkpoint.pt")["state_dict"]
    assert all(torch.equal(ref[k], resumed[k]) for k in ref)
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"


# ---------------------------------------------------------------- symlinks, '..', outputs inside inputs

def test_train_overwrite_through_a_symlink_to_the_dataset_is_refused(tmp_path, smoke_data, capsys):
    from tests.test_train import write_config

    data = tmp_path / "copy"
    shutil.copytree(smoke_data, data)
    config = write_config(tmp_path / "c.yaml", data, iterations=1)
    link = tmp_path / "link"
    link.symlink_to(data / "DAVIS")
    for out in (link, data / "DAVIS" / "JPEGImages" / ".."):
        refused(train.main, ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out),
                             "--overwrite", "--device", "cpu"], capsys, names="DAVIS", says="is the input",
                keep=[data])


def test_predict_into_the_ground_truth_is_refused(tmp_path, smoke_data, capsys):
    data = tmp_path / "copy" / "DAVIS"
    shutil.copytree(smoke_data / "DAVIS", data)
    out = data / "Annotations" / "480p"
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(data), "--dataset", "davis2017",
                           "--out", str(out), "--overwrite"], capsys, names=str(out), says="is inside the input",
            keep=[data])


def test_evaluate_into_its_predictions_through_a_symlink_is_refused(golden_copy, tmp_path, capsys):
    gt, pred = golden_copy
    (tmp_path / "alias").symlink_to(pred)
    out = tmp_path / "alias" / "scores"
    refused(evaluate.main, evaluate_argv(gt, pred, out), capsys, names=str(out), says="is inside the input",
            keep=[tmp_path / "gt", tmp_path / "pred"])


# ---------------------------------------------------------------- diverged training is stopped, not scored

def test_non_finite_loss_stops_training_with_exit_2_and_keeps_the_last_good_state(tmp_path, smoke_data, capsys,
                                                                                 monkeypatch):
    import methods.losses
    from tests.test_train import write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=4, checkpoint_every=2)
    real, calls = methods.losses.total_loss, []

    def diverging(*args, **kwargs):
        loss, parts = real(*args, **kwargs)
        calls.append(1)
        return (loss * float("nan"), parts) if len(calls) >= 3 else (loss, parts)

    monkeypatch.setattr(methods.losses, "total_loss", diverging)
    out = tmp_path / "run"
    argv = ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out), "--device",
            "cpu", "--threads", "1"]
    capsys.readouterr()
    try:
        with pytest.raises(SystemExit) as exit_info:
            run_cli(train.main, argv)
    finally:
        torch.use_deterministic_algorithms(False)
    err = capsys.readouterr().err.strip().split("\r")[-1].splitlines()[-1]  # after the progress bar
    assert exit_info.value.code == 2
    assert err.startswith(f"error: {out}: gvos_scm/main_only seed 0: training diverged: non-finite loss at iteration 3")
    assert "train.main.lr" in err and "last good state" in err
    assert not (out / "checkpoint.pt").exists()
    state = load_torch_file(out / "state.pt")
    assert state["iteration"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_non_finite_gradient_is_refused_before_the_optimiser_step(smoke_data):
    from methods import variants
    from pipelines.experiment.stages import MAIN_ONLY
    from pipelines.training.config import TrainConfig
    from pipelines.training.data import IterationBatches, build_clip_dataset
    from pipelines.training.trainer import NonFiniteTraining, Trainer
    from tests.tiny_model import TINY_MODEL

    stage = TrainConfig.from_dict({"main": {"iterations": 2, "batch_size": 1, "crop": [32, 48], "num_frames": 3,
                                            "max_objects": 2, "datasets": ["davis2017"]}}).main
    clips = build_clip_dataset(MAIN_ONLY, stage, {"davis": str(smoke_data / "DAVIS")}, None, 0)
    trainer = Trainer(variants.build_model("gvos_scm", dict(TINY_MODEL)), stage, torch.device("cpu"))
    param = trainer.params[0]
    param.register_hook(lambda grad: grad * float("nan"))
    before = {k: v.clone() for k, v in trainer.model.named_parameters()}
    with pytest.raises(NonFiniteTraining, match="non-finite gradient at iteration 1"):
        trainer.step(IterationBatches(clips, stage, 0, 0)[0], 0)
    assert all(torch.equal(before[k], v) for k, v in trainer.model.named_parameters())  # no step taken


def test_predict_refuses_a_checkpoint_with_non_finite_weights(trained, smoke_data, tmp_path, capsys):
    root, config = trained
    ckpt = load_torch_file(root / "gvos_scm" / "checkpoint.pt")
    name = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    ckpt["state_dict"][name] = ckpt["state_dict"][name] * float("nan")
    bad = tmp_path / "diverged.pt"
    torch.save(ckpt, bad)
    refused(predict.main, ["--config", str(config), "--checkpoint", str(bad), "--data", str(smoke_data / "DAVIS"),
                           "--dataset", "davis2017", "--out", str(tmp_path / "pred")], capsys, names=str(bad),
            says="non-finite weights", keep=[tmp_path])
    assert not (tmp_path / "pred").exists()


@pytest.mark.parametrize("lr", [float("inf"), 1.0e4, float("nan")])
def test_absurd_learning_rates_are_refused_by_the_config(lr):
    from pipelines.training.config import TrainConfig

    with pytest.raises(ValueError, match=r"train\.main\.lr: must be finite"):
        TrainConfig.from_dict({"main": {"lr": lr}})


# ---------------------------------------------------------------- full disks name the file; stale temporaries

def test_a_full_disk_names_the_file_being_written_and_keeps_the_old_one(tmp_path):
    import errno

    from pipelines.common.files import atomic_save

    target = tmp_path / "state.pt"
    target.write_bytes(b"the last good state")

    def full(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    def torch_full(tmp):  # what torch.save's zip writer raises when the disk fills
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing "
                           "file data/3: file write failed; unexpected pos 1234 vs 5678")

    for save in (full, torch_full):
        with pytest.raises(OSError) as info:
            atomic_save(target, save)
        assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
        assert target.read_bytes() == b"the last good state"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]


def test_full_disk_in_predict_names_the_output_folder(tmp_path, smoke_data, capsys, monkeypatch):
    import errno

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(segment, "write_mask", no_space)
    out = tmp_path / "pred"
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--out", str(out)], capsys, names=str(out), says="No space left on device",
            keep=[tmp_path])
    assert not out.exists() and not list(tmp_path.glob(".*"))


def test_a_killed_jobs_temporary_folder_is_removed_by_its_next_run(tmp_path, smoke_data):
    from pipelines.common.files import _HOST

    dead = subprocess.Popen(["true"])
    dead.wait()
    out = tmp_path / "pred"
    stale = tmp_path / f".pred.{_HOST}-{dead.pid}.abc123.tmp"
    stale.mkdir()
    (stale / "00000.png").write_bytes(b"half a prediction")
    alive = tmp_path / f".pred.{_HOST}-{os.getpid()}.def456.tmp"  # a writer that still runs: kept
    alive.mkdir()
    other = tmp_path / ".pred.otherhost-1.x.tmp"  # another machine's (shared file system): kept
    other.mkdir()
    assert predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                         "davis2017", "--out", str(out)]) == 0
    assert not stale.exists() and alive.exists() and other.exists() and (out / MARKER).is_file()


# ---------------------------------------------------------------- the GPU path, on the CPU

def test_device_auto_says_why_it_falls_back_to_the_cpu(tmp_path, monkeypatch, caplog):
    from pipelines.common import runtime

    (tmp_path / "nvidia0").touch()
    real = runtime.gpu_hint
    monkeypatch.setattr(runtime, "gpu_hint", lambda: real(str(tmp_path)))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level("WARNING"):
        assert runtime.resolve_device("auto").type == "cpu"
    assert "running on the CPU although 1 NVIDIA device(s) exist (nvidia0)" in caplog.text
    assert real(str(tmp_path / "none")) is None


def test_a_job_that_runs_on_this_machines_gpu_declares_one(monkeypatch):
    """the default config's jobs declared gpu=0 whatever device they ran on, so no gpu
    limit could keep two of them (a benchmark and a training) off one card."""
    from pipelines.common import runtime

    assert runtime.job_gpus(0, "auto", local_gpus=1) == 1
    assert runtime.job_gpus(0, "cuda", local_gpus=2) == 1
    assert runtime.job_gpus(0, "cpu", local_gpus=1) == 0
    assert runtime.job_gpus(0, "auto", local_gpus=0) == 0  # a CPU machine, or a cluster: as declared
    assert runtime.job_gpus(2, "auto", local_gpus=4) == 2
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.visible_gpus() == 0
    common = (REPO / "rules" / "resources.smk").read_text()
    assert 'workflow.register_resource("gpu", LOCAL_GPUS)' in common
    assert "gpu=job_gpus(" in common


def test_only_rank_0_empties_the_run_folder_and_the_others_wait_for_it(monkeypatch):
    """under torchrun every rank emptied the folder before the process group existed."""
    events = []
    monkeypatch.setattr(train, "prepare_folder", lambda run: events.append(("prepare", run)) or (None, False))
    monkeypatch.setattr(torch.distributed, "barrier", lambda: events.append(("barrier", None)))
    train.prepare_on_ranks("rank0", 0, 2)
    train.prepare_on_ranks("rank1", 1, 2)
    assert events == [("prepare", "rank0"), ("barrier", None), ("barrier", None), ("prepare", "rank1")]


def test_resume_with_fewer_visible_gpus_restores_the_rng_of_the_ones_present(monkeypatch):
    """set_rng_state_all raised IndexError for a state saved with more GPUs."""
    from pipelines.common.checkpoint import capture_rng, restore_rng

    state = capture_rng()
    state["cuda"] = [torch.ByteTensor([1]), torch.ByteTensor([2])]  # saved on two GPUs
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda value, index: restored.append((int(value[0]), index)))
    restore_rng(state)
    assert restored == [(1, 0)]


def test_a_state_saved_without_a_grad_scaler_resumes_with_one(smoke_data, monkeypatch):
    """a CPU / float32 state resumed on CUDA with amp failed ("source state dict is empty")."""
    from methods import variants
    from pipelines.training.config import TrainConfig
    from pipelines.training.trainer import Trainer
    from tests.tiny_model import TINY_MODEL

    stage = TrainConfig.from_dict({}).main
    saved = Trainer(variants.build_model("gvos_scm", dict(TINY_MODEL)), stage, torch.device("cpu")).state_dict()
    assert saved["scaler"] == {}
    resumed = Trainer(variants.build_model("gvos_scm", dict(TINY_MODEL)), stage, torch.device("cpu"))
    monkeypatch.setattr(resumed.scaler, "is_enabled", lambda: True)  # as on CUDA with float16
    monkeypatch.setattr(resumed.scaler, "load_state_dict",
                        lambda state: pytest.fail("loaded an empty scaler state"))
    resumed.load_state_dict(saved)



def test_tab_indented_yaml_names_the_file_and_the_line(tmp_path):
    """Snakemake's message for a --configfile that is not YAML names neither file nor line; the suite's
    check (run by the Makefile before snakemake, and by the Snakefile on config/config.yaml) names both."""
    import sys

    text = (REPO / "config" / "smoke.yaml").read_text().splitlines()
    first_indented = next(i for i, line in enumerate(text) if line.startswith("  "))
    text[first_indented] = "\t" + text[first_indented].lstrip(" ")
    bad = tmp_path / "tabbed.yaml"
    bad.write_text("\n".join(text) + "\n")
    result = subprocess.run([sys.executable, "-m", "pipelines.common.config_file", str(REPO / "config" / "smoke.yaml"),
                             str(bad)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert f"{bad}: line {first_indented + 1} is indented with a tab" in result.stderr
    assert "Traceback" not in result.stderr
    ok = subprocess.run([sys.executable, "-m", "pipelines.common.config_file", str(REPO / "config" / "config.yaml")],
                        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert ok.returncode == 0, ok.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("train:\n  main: {lr: [1e-4\n")
    result = subprocess.run([sys.executable, "-m", "pipelines.common.config_file", str(broken)], capture_output=True,
                            text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2 and f"{broken}: not valid YAML (line 3, column 1" in result.stderr
