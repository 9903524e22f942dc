"""A stranger's files handed to the suite: no code runs from a checkpoint or a config, nothing is written
or deleted outside ``--out`` or in a folder another step wrote, and no result is silently wrong.

Each case gives a command what an adversarial or careless user would, through ``run_cli`` as
``python -m`` does, and checks the refusal (exit 2, one line naming the file and the fault), that no
payload ran, and that every file that existed before is as it was.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from pipelines import benchmark, claims, evaluate, predict, probes, qualitative, score, train
from pipelines.common.cli import run_cli
from pipelines.common.files import MARKER, DataError, OutputLock, write_marker
from pipelines.data.masks import read_mask, write_mask
from pipelines.evaluation.davis import evaluate_davis
from report import build as report_build
from tests.test_faults import refused, snapshot
from tests.test_report_build import write_fake_results

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "data" / "golden" / "davis2017"

pytestmark = pytest.mark.usefixtures("one_thread")


class Payload:
    """A pickled object whose loading runs ``touch MARKER`` (what a malicious shared file would carry)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(self.marker)}",)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_data):
    """A real one-iteration gvos_scm checkpoint (main stage) and the config that trained it."""
    from tests.test_train import run_in_process, write_config

    root = tmp_path_factory.mktemp("trusted")
    config = write_config(root / "c.yaml", smoke_data, iterations=1)
    run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                    str(root / "run"), "--seed", "0"])
    return root / "run" / "checkpoint.pt", config


def evil_checkpoint(trained_checkpoint: Path, folder: Path, name: str = "checkpoint.pt") -> tuple[Path, Path]:
    """The real checkpoint with a payload hidden beside its weights; (file, the payload's marker)."""
    marker = folder / "payload-ran"
    content = torch.load(trained_checkpoint, weights_only=True)
    content["notes"] = Payload(marker)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(content, folder / name)
    return folder / name, marker


def refuses_payload(main, argv, capsys, evil: Path, marker: Path, keep: list[Path]) -> None:
    err = refused(main, argv, capsys, names=str(evil), says="refused: the file holds pickled Python objects",
                  keep=keep)
    assert len(err.splitlines()) == 1, err
    assert not marker.exists(), "the checkpoint's payload ran"


# ---------------------------------------------------------------- 1. no code runs from a torch file

def test_predict_refuses_a_checkpoint_carrying_a_payload(trained, smoke_data, tmp_path, capsys):
    evil, marker = evil_checkpoint(trained[0], tmp_path / "shared")
    refuses_payload(predict.main, ["--checkpoint", str(evil), "--variant", "gvos_scm", "--data",
                                   str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--out",
                                   str(tmp_path / "pred")], capsys, evil, marker, keep=[tmp_path])
    assert not (tmp_path / "pred").exists()


def test_train_refuses_an_init_checkpoint_carrying_a_payload(trained, tmp_path, capsys):
    evil, marker = evil_checkpoint(trained[0], tmp_path / "shared")
    refuses_payload(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "full", "--init",
                                 str(evil), "--out", str(tmp_path / "run"), "--device", "cpu", "--threads", "1"],
                    capsys, evil, marker, keep=[tmp_path])


def test_train_refuses_to_resume_from_a_state_carrying_a_payload(trained, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, train.TRAIN_STEP)
    marker = tmp_path / "payload-ran"
    torch.save({"config_hash": "x", "rng": Payload(marker)}, out / train.STATE)
    refused(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out),
                         "--device", "cpu", "--threads", "1"], capsys, names=str(out / train.STATE),
            says="refused: the file holds pickled Python objects", keep=[tmp_path])
    assert not marker.exists()


def test_train_resumes_from_its_own_state_with_safe_loading(smoke_data, tmp_path):
    """The suite's own state.pt (optimizer, RNG states, logs) loads with weights_only=True and resumes."""
    from methods.checkpoint import read_file
    from tests.test_train import run_in_process, write_config

    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=3, checkpoint_every=2)
    out = tmp_path / "run"
    real_finish = train.finish
    train.finish = lambda *args: None  # stop before the final checkpoint: state.pt stays
    try:
        run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out)])
    finally:
        train.finish = real_finish
    state = read_file(out / train.STATE)
    assert state["iteration"] == 2 and isinstance(state["rng"]["numpy"][1], torch.Tensor)
    assert run_in_process(["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                           str(out)]) == 0
    assert (out / "checkpoint.pt").is_file()


def test_benchmark_refuses_a_checkpoint_folder_carrying_a_payload(trained, tmp_path, capsys):
    folder = tmp_path / "checkpoints"
    evil, marker = evil_checkpoint(trained[0], folder / "gvos_scm")
    refuses_payload(benchmark.main, ["--config", str(trained[1]), "--variants", "gvos_scm", "--size", "64x112",
                                     "--t", "1", "--checkpoint-dir", str(folder), "--out", str(tmp_path / "bench"),
                                     "--device", "cpu", "--threads", "1"], capsys, evil, marker, keep=[tmp_path])


def test_probes_refuse_a_checkpoint_carrying_a_payload(trained, smoke_data, tmp_path, capsys):
    evil, marker = evil_checkpoint(trained[0], tmp_path / "shared")
    refuses_payload(probes.main, ["run", "--checkpoint", str(evil), "--variant", "gvos_scm", "--data",
                                  str(smoke_data / "DAVIS"), "--dataset", "davis2017", "--interventions",
                                  "readout_zero", "--device", "cpu", "--out", str(tmp_path / "probe.csv")],
                    capsys, evil, marker, keep=[tmp_path])


def test_qualitative_refuses_a_checkpoint_carrying_a_payload(trained, smoke_data, tmp_path, capsys):
    from pipelines.data.davis import DavisDataset

    evil, marker = evil_checkpoint(trained[0], tmp_path / "shared")
    names = DavisDataset(smoke_data / "DAVIS").sequences
    rows = [{"variant": "gvos_scm", "stage": "full", "seed": 0, "dataset": "davis2017", "split": "val",
             "sequence": name, "object": 1, "J&F-Mean": 50.0 + i, "J-Mean": 50.0, "F-Mean": 50.0}
            for i, name in enumerate(names)]
    pd.DataFrame(rows).to_csv(tmp_path / "per_sequence.csv", index=False)
    refuses_payload(qualitative.main, ["--data", str(smoke_data / "DAVIS"), "--per-sequence",
                                       str(tmp_path / "per_sequence.csv"), "--run", f"gvos_scm/full={evil}",
                                       "--predictions", str(tmp_path / "predictions"), "--device", "cpu",
                                       "--gates", str(tmp_path / "gates.csv"), "--frames", str(tmp_path / "f.npz")],
                    capsys, evil, marker, keep=[tmp_path])


def test_backbone_weights_carrying_a_payload_are_refused(tmp_path, smoke_data, capsys):
    """model.weights (a torchvision state dict): read by training through the same loader."""
    from tests.test_train import write_config

    marker = tmp_path / "payload-ran"
    weights = tmp_path / "resnet18.pth"
    torch.save({"conv1.weight": torch.zeros(1), "evil": Payload(marker)}, weights)
    config = write_config(tmp_path / "c.yaml", smoke_data, iterations=1)
    data = yaml.safe_load(config.read_text())
    data["model"]["weights"] = str(weights)
    config.write_text(yaml.safe_dump(data))
    refused(train.main, ["--config", str(config), "--variant", "gvos_scm", "--stage", "main_only", "--out",
                         str(tmp_path / "run"), "--device", "cpu", "--threads", "1"], capsys, names=str(weights),
            says="refused: the file holds pickled Python objects", keep=[tmp_path])
    assert not marker.exists()


# ---------------------------------------------------------------- 2. no code runs from a config file

YTE_CONFIG = '__use_yte__: true\n?__import__("os").system("touch {marker}"):\n  seeds: [0]\n'


def test_a_yte_config_is_refused_before_snakemake_reads_it(tmp_path):
    """`make report CONFIG=FILE` checks the file first: snakemake would evaluate the template while reading."""
    marker = tmp_path / "payload-ran"
    config = tmp_path / "evil.yaml"
    config.write_text(YTE_CONFIG.format(marker=marker))
    check = subprocess.run([sys.executable, "-m", "pipelines.common.config_file", str(config)], capture_output=True,
                           text=True, timeout=60, cwd=REPO)
    assert check.returncode == 2 and f"error: {config}: __use_yte__: YTE templates are refused" in check.stderr
    make = subprocess.run(["make", "-s", "-C", str(REPO), "report", f"CONFIG={config}"], capture_output=True,
                          text=True, timeout=120)
    assert make.returncode != 0 and "YTE templates are refused" in make.stderr, make.stderr[-2000:]
    assert not marker.exists(), "the template ran"


def test_a_yte_config_given_to_snakemake_stops_the_run(tmp_path):
    from tests.test_workflow import snakemake

    config = tmp_path / "evil.yaml"
    config.write_text(YTE_CONFIG.format(marker=tmp_path / "payload-ran"))
    run = snakemake(tmp_path, "--configfile", str(config))
    assert run.returncode != 0 and "__use_yte__: YTE templates are refused" in run.stdout + run.stderr


# ---------------------------------------------------------------- 3. settings reaching a shell command

@pytest.mark.parametrize("backbone", ["resnet18 --help >/dev/null; touch {marker}; #", "resnet101"])
def test_the_benchmark_backbone_is_one_the_suite_knows(tmp_path, backbone):
    from tests.test_workflow import snakemake, write_config

    marker = tmp_path / "injected"
    run = snakemake(tmp_path, "--configfile",
                    write_config(tmp_path, {"benchmark": {"backbone": backbone.format(marker=marker)}}))
    assert run.returncode != 0 and "benchmark" in run.stdout + run.stderr
    assert "backbone" in run.stdout + run.stderr
    assert not marker.exists()


# ---------------------------------------------------------------- 4. paths read from data files

def davis_copy(smoke_data: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data" / "DAVIS"
    shutil.copytree(smoke_data / "DAVIS", data)
    return data


@pytest.mark.parametrize("line", ["..", "../..", "/etc", "a/../../b"])
def test_a_split_file_cannot_send_predictions_outside_out(tmp_path, smoke_data, capsys, line):
    data = davis_copy(smoke_data, tmp_path)
    split = data / "ImageSets" / "2017" / "val.txt"
    split.write_text(split.read_text() + f"{line}\n")
    out = tmp_path / "work" / "pred"
    out.parent.mkdir()
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(data), "--dataset", "davis2017",
                           "--out", str(out)], capsys, names=str(split), says="names must be plain", keep=[tmp_path])
    assert list(out.parent.iterdir()) == []


def test_evaluate_reads_no_sequence_outside_its_root(tmp_path, capsys):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    shutil.copytree(GOLDEN / "gt", gt)
    shutil.copytree(GOLDEN / "pred", pred)
    split = gt / "ImageSets" / "2017" / "val.txt"
    split.write_text(split.read_text() + "../../elsewhere\n")
    refused(evaluate.main, ["--gt", str(gt), "--pred", str(pred), "--out", str(tmp_path / "eval"), "--workers", "1"],
            capsys, names=str(split), says="names must be plain", keep=[tmp_path])


# ---------------------------------------------------------------- 5. nothing from a table becomes markup

def test_a_tampered_verdict_is_text_on_the_page(tmp_path):
    results = tmp_path / "results"
    write_fake_results(results)
    table = pd.read_csv(results / "claims.csv")
    table.loc[0, "verdict"] = 'x" onmouseover="alert(1)'
    table.loc[1, "claim"] = "<script>alert(2)</script>"
    table.to_csv(results / "claims.csv", index=False)
    page = report_build.build(results, None, tmp_path / "page").read_text()
    assert "onmouseover=" not in page.replace("onmouseover=&#34;", "").replace("onmouseover=&quot;", "")
    assert 'class="x"' not in page and "<script>" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


# ---------------------------------------------------------------- 6. the working directory and its ancestors

@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A folder holding a git repository, as the working directory."""
    repo = tmp_path / "clone"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "README.md").write_text("mine")
    monkeypatch.chdir(repo)
    return repo


@pytest.mark.parametrize("out", [".", ".."])
def test_predict_never_replaces_the_working_directory(checkout, smoke_data, capsys, out):
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--out", out, "--overwrite"], capsys, names="",
            says="the suite never replaces or empties such a folder", keep=[checkout.parent])
    assert (checkout / ".git").is_dir()


def test_the_generator_never_replaces_a_folder_above_the_working_directory(checkout, capsys, monkeypatch):
    from pipelines.data.synthetic import __main__ as synthetic

    monkeypatch.chdir(checkout / "sub")
    refused(synthetic.main, ["--out", "..", "--preset", "smoke", "--overwrite", "--quiet"], capsys, names="",
            says="holds the working directory", keep=[checkout.parent])


def test_train_never_empties_the_working_directory(checkout, trained, capsys):
    refused(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "main_only", "--out", ".",
                         "--overwrite", "--device", "cpu", "--threads", "1"], capsys, names=str(checkout),
            says="is the working directory", keep=[checkout])


def test_report_build_never_replaces_a_repository(checkout, tmp_path, capsys, monkeypatch):
    results = tmp_path / "results"
    write_fake_results(results)
    monkeypatch.chdir(tmp_path)
    refused(report_build.main, ["--results", str(results), "--out", str(checkout), "--overwrite"], capsys,
            names=str(checkout), says="holds a git repository", keep=[checkout])


def test_evaluate_writes_only_its_named_files_into_out(tmp_path, capsys):
    out = tmp_path / "eval"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert evaluate.main(["--gt", str(GOLDEN / "gt"), "--pred", str(GOLDEN / "pred"), "--out", str(out),
                          "--workers", "1"]) == 0
    assert (out / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval"]


# ---------------------------------------------------------------- 7. another step's folder

def test_predict_never_replaces_a_training_run(trained, smoke_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained[0].parent, run)
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--out", str(run), "--overwrite"], capsys, names=str(run),
            says="written by the suite's train step, not by predict", keep=[run])


def test_train_never_writes_into_a_prediction_folder(trained, smoke_data, tmp_path, capsys):
    pred = tmp_path / "pred"
    assert predict.main(["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                         "davis2017", "--out", str(pred)]) == 0
    refused(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(pred),
                         "--overwrite", "--device", "cpu", "--threads", "1"], capsys, names=str(pred),
            says="written by the suite's predict step", keep=[pred])


def test_a_folder_marked_by_an_earlier_version_is_not_replaced(smoke_data, tmp_path, capsys):
    out = tmp_path / "pred"
    out.mkdir()
    (out / MARKER).write_text("written by the GVOS-SCM suite; may be replaced by it\n")
    (out / "checkpoint.pt").write_text("a run of an earlier version")
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(smoke_data / "DAVIS"), "--dataset",
                           "davis2017", "--out", str(out), "--overwrite"], capsys, names=str(out),
            says="its step unknown", keep=[out])


# ---------------------------------------------------------------- 8. one writer per output

def test_a_second_training_into_the_same_folder_is_refused(trained, tmp_path, capsys):
    out = tmp_path / "run"
    holder = OutputLock(out)  # another training writing this run folder now
    try:
        refused(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "main_only", "--seed", "1",
                             "--out", str(out), "--device", "cpu", "--threads", "1"], capsys, names=str(out),
                says=f"another process (host {os.uname().nodename}, pid {os.getpid()}) is writing", keep=[tmp_path])
    finally:
        holder.release()
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_lock_is_taken_by_one_process_and_released(tmp_path):
    out = tmp_path / "pred"
    code = ("import sys, time; from pipelines.common.files import OutputLock; lock = OutputLock(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(DataError, match=f"pid {child.pid}"):
            OutputLock(out)
    finally:
        child.kill()
        child.wait()
    OutputLock(out).release()  # a dead holder's lock is free (flock ends with the process)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 9. frames in the order of their number

def test_frames_are_ordered_by_their_number(tmp_path):
    from pipelines.data.video import list_frames

    for index in range(12):
        (tmp_path / f"{index}.jpg").write_bytes(b"")
    assert [p.stem for p in list_frames(tmp_path, (".jpg",))] == [str(i) for i in range(12)]
    (tmp_path / "cover.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="'cover.jpg' is not named by its frame number"):
        list_frames(tmp_path, (".jpg",))
    (tmp_path / "cover.jpg").unlink()
    (tmp_path / "007.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="the same number"):
        list_frames(tmp_path, (".jpg",))


def unpad(root: Path) -> None:
    """Rename every zero-padded frame file under ``root`` to its bare number (00010.png -> 10.png)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.stem.isdigit() and path.suffix in (".png", ".jpg"):
            path.rename(path.with_name(f"{int(path.stem)}{path.suffix}"))


def test_unpadded_frame_names_score_as_padded_ones(tmp_path):
    padded = evaluate_davis(GOLDEN / "gt", GOLDEN / "pred", workers=1).global_
    gt, pred = tmp_path / "unpadded" / "gt", tmp_path / "unpadded" / "pred"
    shutil.copytree(GOLDEN / "gt", gt)
    shutil.copytree(GOLDEN / "pred", pred)
    unpad(gt / "Annotations")
    unpad(pred)
    unpadded = evaluate_davis(gt, pred, workers=1).global_
    pd.testing.assert_frame_equal(padded, unpadded)


def test_predict_reads_unpadded_frames_in_order(tmp_path, smoke_data):
    from pipelines.data.davis import DavisDataset

    data = davis_copy(smoke_data, tmp_path)
    unpad(data / "JPEGImages")
    unpad(data / "Annotations")
    reader = DavisDataset(data)
    name = reader.sequences[0]
    count = len(reader.open_video(name).frame_names)
    assert reader.open_video(name).frame_names == [str(i) for i in range(count)]
    out = tmp_path / "pred"
    assert predict.main(["--variant", "copy_first_frame", "--data", str(data), "--dataset", "davis2017",
                         "--out", str(out)]) == 0
    first = read_mask(data / "Annotations" / "480p" / name / "0.png")
    np.testing.assert_array_equal(read_mask(out / name / f"{count - 1}.png"), first)


# ---------------------------------------------------------------- 10, 13, 17: results tables checked when read

def test_a_conflicting_duplicate_summary_row_is_refused(tmp_path, capsys):
    results = tmp_path / "results"
    write_fake_results(results)
    accuracy = pd.read_csv(results / "accuracy.csv")
    summary = accuracy.drop(columns=["seed"]).assign(n_seeds=1)
    duplicate = summary.iloc[[0]].assign(**{"J&F-Mean": 99.9})
    pd.concat([summary, duplicate]).to_csv(results / "accuracy_summary.csv", index=False)
    out = tmp_path / "page"
    refused(report_build.main, ["--results", str(results), "--out", str(out)], capsys,
            names=str(results / "accuracy_summary.csv"), says="rows share a key that must appear once",
            keep=[results])
    assert not out.exists()


def test_a_renamed_column_is_named_and_the_earlier_page_stays(tmp_path, capsys):
    results = tmp_path / "results"
    write_fake_results(results)
    out = tmp_path / "page"
    assert report_build.main(["--results", str(results), "--out", str(out)]) == 0
    speed = pd.read_csv(results / "speed.csv").rename(columns={"seconds_per_frame": "spf"})
    speed.to_csv(results / "speed.csv", index=False)
    err = refused(report_build.main, ["--results", str(results), "--out", str(out)], capsys,
                  names=str(results / "speed.csv"), says="lacks column(s) seconds_per_frame", keep=[out, results])
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_report_build_that_fails_midway_leaves_out_as_it_was(tmp_path, capsys, monkeypatch):
    results = tmp_path / "results"
    write_fake_results(results)
    out = tmp_path / "page"
    assert report_build.main(["--results", str(results), "--out", str(out)]) == 0
    before = snapshot(out)
    calls = {"n": 0}
    real = report_build.figures.speed_accuracy

    def failing(*args, **kwargs):
        calls["n"] += 1
        raise RuntimeError("a figure failed")

    monkeypatch.setattr(report_build.figures, "speed_accuracy", failing)
    with pytest.raises(RuntimeError):
        report_build.build(results, None, out)
    assert calls["n"] == 1 and snapshot(out) == before
    monkeypatch.setattr(report_build.figures, "speed_accuracy", real)


def test_duplicate_per_sequence_rows_are_refused_by_the_claims(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    rows = [{"variant": "gvos_scm", "stage": "full", "seed": 0, "dataset": "davis2017", "split": "val",
             "sequence": "a", "object": 1, "J&F-Mean": 50.0, "J-Mean": 49.0, "F-Mean": 51.0}] * 2
    pd.DataFrame(rows).to_csv(results / "per_sequence.csv", index=False)
    refused(claims.main, ["--results", str(results), "--out", str(results / "claims.csv")], capsys,
            names=str(results / "per_sequence.csv"), says="rows share a key", keep=[results])


# ---------------------------------------------------------------- 11, 16: every command applies the schema

def evaluate_with_config(tmp_path: Path, capsys, evaluate_section: dict, says: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"evaluate": evaluate_section}))
    refused(score.main, ["--config", str(config), "--dataset", "davis2017", "--gt",
                           str(GOLDEN / "gt"), "--pred", str(GOLDEN / "pred"), "--split", "val", "--variant",
                           "copy_first_frame", "--stage", "none", "--seed", "0", "--workers", "1", "--out",
                           str(tmp_path / "eval")], capsys, names=str(config), says=says, keep=[tmp_path])
    assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize("samples", [1, 0])
def test_collect_applies_the_schema_bounds(tmp_path, capsys, samples):
    evaluate_with_config(tmp_path, capsys, {"bootstrap_samples": samples},
                         f"evaluate.bootstrap_samples: {samples} is less than the minimum of 100")


@pytest.mark.parametrize("command", ["claims", "probes"])
def test_the_bootstrap_settings_come_from_the_config_within_the_schema_bound(tmp_path, capsys, command):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"evaluate": {"bootstrap_samples": 0}}))
    main, argv = ((claims.main, ["--results", str(tmp_path), "--config", str(config)]) if command == "claims" else
                  (probes.main, ["table", "--out", str(tmp_path / "p.csv"), "--config", str(config)]))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv)
    err = capsys.readouterr().err
    assert exit_info.value.code != 0
    assert f"{config}: evaluate.bootstrap_samples: 0 is less than the minimum of 100" in err


# ---------------------------------------------------------------- 12. what the evaluator leaves out, it says

def test_a_sequence_with_an_empty_first_frame_is_named_when_left_out(tmp_path, caplog):
    gt = tmp_path / "gt"
    shutil.copytree(GOLDEN / "gt", gt)
    name = (gt / "ImageSets" / "2017" / "val.txt").read_text().split()[0]
    first = sorted((gt / "Annotations" / "480p" / name).glob("*.png"))[0]
    write_mask(first, np.zeros_like(read_mask(first)))
    with caplog.at_level("WARNING", logger="gvos.evaluate"):
        result = evaluate_davis(gt, GOLDEN / "pred", workers=1)
    assert name not in set(result.per_object["sequence"])
    assert f"left out of the scores, as the official evaluator leaves them: {name}" in caplog.text


# ---------------------------------------------------------------- 14, 15: messages that name the file

@pytest.mark.parametrize("broken", ["keys", "layout"])
def test_resuming_a_state_of_other_code_names_the_file(trained, tmp_path, capsys, broken):
    from pipelines.common.provenance import run_hash

    config = yaml.safe_load(trained[1].read_text())
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, train.TRAIN_STEP)
    state = {"config_hash": run_hash(config, "gvos_scm", "main_only", 0), "iteration": 1, "rows": [],
             "elapsed_s": 0.0, "rng": {}}
    content = torch.load(trained[0], weights_only=True)["state_dict"]
    if broken == "layout":
        content = {f"renamed.{key}": value for key, value in content.items()}
    state |= {"model": content, "optimizer": {"state": {}, "param_groups": []}, "scaler": {}}
    torch.save(state, out / train.STATE)
    refused(train.main, ["--config", str(trained[1]), "--variant", "gvos_scm", "--stage", "main_only", "--out", str(out),
                         "--device", "cpu", "--threads", "1"], capsys, names=str(out / train.STATE),
            says="cannot resume from this state", keep=[out])


def test_a_split_file_that_is_not_utf8_is_named(tmp_path, smoke_data, capsys):
    data = davis_copy(smoke_data, tmp_path)
    split = data / "ImageSets" / "2017" / "val.txt"
    split.write_bytes(split.read_bytes() + b"caf\xff\n")
    refused(predict.main, ["--variant", "copy_first_frame", "--data", str(data), "--dataset", "davis2017",
                           "--out", str(tmp_path / "pred")], capsys, names=str(split),
            says="is not UTF-8 text (byte 0xff on line", keep=[tmp_path])


# ---------------------------------------------------------------- predict: memory bounded in the video's length

def write_long_video(root: Path, frames: int, size: tuple[int, int] = (240, 432)) -> Path:
    """A DAVIS-layout root with one val sequence of ``frames`` frames, every one annotated."""
    height, width = size
    images, annotations = root / "JPEGImages" / "480p" / "long", root / "Annotations" / "480p" / "long"
    images.mkdir(parents=True)
    annotations.mkdir(parents=True)
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: height // 2, width // 4: width // 2] = 1
    for index in range(frames):
        picture.save(images / f"{index:05d}.jpg", quality=50)
        write_mask(annotations / f"{index:05d}.png", mask)
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("long\n")
    return root


PEAK_OF_PREDICT = """
import re, sys
from pathlib import Path
import torch  # noqa: F401 - imported before the peak is reset: what predict adds is what is measured
from pipelines import predict
status = Path("/proc/self/status")
Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak resident memory, to the current
predict.main(sys.argv[1:])
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read_text()).group(1)) * 1024)
"""


def peak_rss_of_predict(data: Path, out: Path) -> int:
    """Peak resident memory (bytes) of a predict process while it segments ``data`` (imports excluded)."""
    run = subprocess.run([sys.executable, "-c", PEAK_OF_PREDICT, "--variant", "copy_first_frame", "--data", str(data),
                          "--dataset", "davis2017", "--out", str(out)], capture_output=True, text=True, timeout=300,
                         cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    return int(run.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc/self/clear_refs")
def test_predict_memory_does_not_grow_with_the_video(tmp_path):
    """1000 frames of 240x432 held at once would add about 0.5 GB (images, annotations, labels) to a
    process of a few hundred MB; read frame by frame, the peak stays where a 50-frame video's is."""
    short = peak_rss_of_predict(write_long_video(tmp_path / "short", 50), tmp_path / "p50")
    long = peak_rss_of_predict(write_long_video(tmp_path / "long", 1000), tmp_path / "p1000")
    assert len(list((tmp_path / "p1000" / "long").glob("*.png"))) == 1000
    print(f"predict peak RSS: 50 frames {short / 2**20:.0f} MiB, 1000 frames {long / 2**20:.0f} MiB, "
          f"ratio {long / short:.2f}")
    assert long < 1.3 * short


def test_a_coco_file_name_cannot_read_outside_the_image_folder(tmp_path, smoke_data):
    import json

    from pipelines.data.coco import CocoImages

    coco = tmp_path / "COCO"
    shutil.copytree(smoke_data / "COCO", coco)
    annotations = next((coco / "annotations").glob("*.json"))
    content = json.loads(annotations.read_text())
    content["images"][0]["file_name"] = "../../outside.jpg"
    annotations.write_text(json.dumps(content))
    images = CocoImages(coco)
    index = images.image_ids.index(content["images"][0]["id"])
    with pytest.raises(DataError, match="image file_name '../../outside.jpg' is empty or starts with a dot"):
        images[index]
