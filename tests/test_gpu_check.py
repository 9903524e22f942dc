"""The prepared GPU check (pipelines/tools/gpu_check.sh) runs its steps on the CPU at toy sizes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from methods import peers

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "pipelines" / "tools" / "gpu_check.sh"


def run_script(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow  # about 60 s: six CLIs and a torchrun, each importing torch (make test-slow)
def test_gpu_check_runs_every_step_on_the_cpu(tmp_path):
    out = tmp_path / "check"
    result = run_script("--device", "cpu", "--tiny", "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "every step passed" in result.stdout
    table = pd.read_csv(out / "gpu_check.csv")
    assert list(table.columns) == ["step", "variant", "setting", "t", "metric", "value"]
    assert set(table["step"]) == {"infer", "train_speed", "train", "torchrun"}
    infer = table[table["step"] == "infer"]
    timed_peers = [name for name in ("deaot_t", "sam2.1_tiny_equal_pixels") if peers.missing(name) is None]
    peer_rows = infer[infer["setting"] == "peers,128x224"]
    assert set(peer_rows["variant"]) == ({"gvos_scm", *timed_peers} if timed_peers else set())
    summary = (out / "summary.md").read_text()
    assert ("| peers | ok |" if timed_peers else "no peer installed (make peers)") in summary
    infer = infer[infer["setting"] != "peers,128x224"]
    assert set(infer["setting"]) == {"amp=off,tf32=off", "amp=on,tf32=off"}  # TF32 exists on CUDA only
    assert {"seconds_per_frame", "peak_memory_bytes", "time_ratio", "flop_ratio"} <= set(infer["metric"])
    assert set(infer.loc[infer["metric"] == "seconds_per_frame", "t"]) == {1, 3}
    assert (table["value"] > 0).all()
    curves = pd.read_csv(out / "loss_curves.csv")
    assert list(curves.columns) == ["iteration", "loss_cpu"] and list(curves["iteration"]) == [1, 2, 3, 4]
    summary = (out / "summary.md").read_text()
    assert "| torchrun | ok |" in summary and "FAILED" not in summary
    for name in ("data", "train_speed", "train_cpu", "torchrun", "infer_amp-on_tf32-off"):
        assert (out / "logs" / f"{name}.log").is_file(), name


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_on_a_machine_without_gpu_says_so(tmp_path):
    result = run_script("--out", str(tmp_path / "check"), timeout=120)
    assert result.returncode == 2
    assert "--device cuda: torch sees no GPU on this machine" in result.stderr
    assert not (tmp_path / "check").exists()


def test_gpu_check_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    result = run_script("--device", "cpu", "--tiny", "--out", str(out), timeout=120)
    assert result.returncode == 2 and "not written by this suite" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
