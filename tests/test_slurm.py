"""The cluster path run for real: a one-node SLURM (pipelines/tools/local_slurm.sh) takes the smoke workflow
through profiles/slurm, every job submitted with sbatch, and gives the results of a local run.

Marked ``slurm`` (deselected by default: `pytest -m slurm`); CI runs it as its own step. It starts
SLURM where it can (root, Debian's packages, the executor plugin) and stops what it started; elsewhere it
skips, saying why. A last test restarts the cluster with job accounting to check how accounts are handled. The overrides
a one-node cluster needs beside the profile as users get it:
- ``--slurm-status-command squeue``: the cluster keeps no job accounting, so sacct cannot answer;
- ``--jobs 4``: a queue as long as the node can run, not the profile's 50;
- ``--slurm-init-seconds-before-status-checks 5``: jobs of seconds, so the first look after 5 s, not 40.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "pipelines" / "tools" / "local_slurm.sh"
ONE_NODE = ["--slurm-status-command", "squeue", "--jobs", "4", "--slurm-init-seconds-before-status-checks", "5"]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: ([^)]*)\)")

pytestmark = pytest.mark.slurm


def cluster_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    shown = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    return shown.returncode == 0 and any(state in shown.stdout for state in ("idle", "mix", "alloc"))


def why_no_slurm() -> str | None:
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "the executor plugin is not installed (pip install -e '.[slurm]')"
    if cluster_answers():
        return None
    if os.geteuid() != 0:
        return "starting SLURM needs root"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "neither SLURM nor apt-get (to install it) is here"
    return None


@pytest.fixture(scope="module")
def cluster():
    """A running one-node cluster with a stand-in GPU: the one already up, or one started (and stopped) here;
    yields whether it was started here."""
    reason = why_no_slurm()
    if reason is not None:
        pytest.skip(reason)
    started_here = not cluster_answers()
    if started_here:
        up = subprocess.run(["bash", str(SCRIPT), "up", "--gpu"], capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
    yield started_here
    if started_here:
        down = subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def snakemake(folder: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(folder),
                           *args], capture_output=True, text=True, timeout=timeout, env=env)


def local_jobs(output: str) -> tuple[int, int]:
    """(jobs that run on the submitting machine (localrules), all jobs) of the run's "Job stats" table."""
    from tests.test_workflow import job_counts

    local = {"all", "collect", "claims", "probes", "rule_times", "report", "render_report", "figures", "config_stamp"}
    counts = job_counts(output)
    return sum(counts.get(rule, 0) for rule in local), sum(n for rule, n in counts.items() if rule != "total")


TIMING = ("seconds", "fps", "elapsed", "gflops", "peak", "rss", "wall", "cpu_s", "first_step", "step_memory")
"""Words of the columns that depend on the machine's clock or its allocator at that moment (a step's own
memory is a resident-set difference)."""


def comparable(results: Path) -> dict[str, pd.DataFrame]:
    """Every results table without what depends on the clock: the timing tables and columns, and the claims
    computed from them (speed ratios)."""
    tables = {}
    for path in sorted(results.glob("*.csv")):
        if path.stem in ("rule_times", "train_speed"):
            continue
        frame = pd.read_csv(path)
        frame = frame[[c for c in frame.columns if not any(word in c.lower() for word in TIMING)]]
        if path.stem == "claims":
            frame = frame[frame["kind"] != "ratio"]
        tables[path.stem] = frame.reset_index(drop=True)
    return tables


def test_the_smoke_workflow_runs_through_slurm_as_it_runs_here(cluster, tmp_path):
    smoke = str(REPO / "config" / "smoke.yaml")
    here = snakemake(tmp_path / "local", "--cores", "2", "report", "--configfile", smoke)
    assert here.returncode == 0, here.stderr[-3000:]
    run = snakemake(tmp_path / "slurm", "--profile", str(REPO / "profiles" / "slurm"), *ONE_NODE, "report",
                    "--configfile", smoke)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    local, total = local_jobs(output)
    submitted = SUBMITTED.findall(output)
    assert len(submitted) == total - local > 0, (len(submitted), total, local)
    assert "--set-threads" not in output  # the benchmark rules run inside SLURM as they are
    assert (tmp_path / "slurm" / "report" / "build" / "index.html").is_file()
    ours, theirs = comparable(tmp_path / "local" / "results"), comparable(tmp_path / "slurm" / "results")
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        pd.testing.assert_frame_equal(ours[name], theirs[name], check_exact=False, rtol=1e-9, obj=name)


def test_a_cluster_without_accounting_is_refused_at_once_not_waited_on(cluster, tmp_path):
    run = snakemake(tmp_path, "--profile", str(REPO / "profiles" / "slurm"), "--jobs", "4", "report",
                    "--configfile", str(REPO / "config" / "smoke.yaml"), timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "--slurm-status-command squeue" in output, output[-3000:]
    assert not SUBMITTED.search(output)


def test_a_failing_job_is_reported_failed(cluster, tmp_path):
    (tmp_path / "Snakefile").write_text('rule fails:\n    output: "never.txt"\n    shell: "echo broken >&2; exit 3"\n')
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([sys.executable, "-m", "snakemake", "-d", str(tmp_path), "--executor", "slurm",
                          "--default-resources", "slurm_partition=cpu", "--retries", "0", *ONE_NODE],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and SUBMITTED.search(output), output[-3000:]
    assert "Error in rule fails" in output and not (tmp_path / "never.txt").exists()


def test_a_gpu_job_asks_slurm_for_its_gpus(cluster, tmp_path):
    """The paper config's training resources (one GPU) on a node offering a stand-in GPU: sbatch is asked
    for it, the job is scheduled and (no real GPU) trains on the CPU."""
    override = tmp_path / "gpu.yaml"
    override.write_text(yaml.safe_dump({"resources": {"train": {"gpu": 1, "device": "auto"}}}))
    run = snakemake(tmp_path / "run", "--profile", str(REPO / "profiles" / "slurm"), *ONE_NODE,
                    "runs/gvos_scm/main_only/seed0/checkpoint.pt", "--configfile", str(REPO / "config" / "smoke.yaml"),
                    str(override))
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    assert (tmp_path / "run" / "runs" / "gvos_scm" / "main_only" / "seed0" / "checkpoint.pt").is_file()
    training = [job for job, log in SUBMITTED.findall(output) if "/rule_train/" in log]
    assert len(training) == 1, SUBMITTED.findall(output)
    shown = subprocess.run(["scontrol", "show", "job", training[0]], capture_output=True, text=True).stdout
    assert re.search(r"TresPerJob=gres:gpu:1\b", shown) and "JobState=COMPLETED" in shown, shown


def test_multi_gpu_training_is_one_job_launching_torchrun(cluster, tmp_path):
    override = tmp_path / "gpus.yaml"
    override.write_text(yaml.safe_dump({"resources": {"train": {"gpu": 2, "device": "cuda"}},
                                        "train": {"pretrain": {"batch_size": 2}, "main": {"batch_size": 2}}}))
    run = snakemake(tmp_path / "run", "-n", "--profile", str(REPO / "profiles" / "slurm"), *ONE_NODE,
                    "runs/gvos_scm/main_only/seed0/checkpoint.pt", "--configfile", str(REPO / "config" / "smoke.yaml"),
                    str(override), timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    train = [block for block in output.split("\n\n") if "rule train:" in block]
    assert len(train) == 1 and "gpu=2" in train[0], train
    assert "torch.distributed.run --standalone --nproc_per_node 2 --module pipelines.train" in output


def local_slurm(*args: str) -> None:
    done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_with_accounting_jobs_name_an_account_the_cluster_knows(cluster, tmp_path):
    """Last in this file: it restarts the cluster with job accounting (slurmdbd, enforced associations).
    The account the profile documents is refused by the plugin before any submission when the cluster does
    not know it; with the account pipelines/tools/local_slurm.sh created, the job runs and sacct follows it."""
    if not cluster:
        pytest.skip("the cluster was started outside these tests: its configuration is left as it is")
    local_slurm("down")
    local_slurm("up", "--gpu", "--accounting")
    (tmp_path / "Snakefile").write_text('rule done:\n    output: "done.txt"\n    shell: "touch {output}"\n')
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def run(account: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "snakemake", "-d", str(tmp_path), "--executor", "slurm",
                               "--jobs", "1", "--slurm-init-seconds-before-status-checks", "5", "--retries", "0",
                               "--default-resources", f"slurm_account={account}", "slurm_partition=cpu"],
                              capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)

    unknown = run("your_account")
    output = unknown.stdout + unknown.stderr
    assert unknown.returncode != 0 and "The given account your_account appears to be invalid" in output, output[-3000:]
    assert not SUBMITTED.search(output)
    known = run("gvos")
    assert known.returncode == 0, (known.stdout + known.stderr)[-3000:]
    job = SUBMITTED.search(known.stdout + known.stderr).group(1)
    shown = subprocess.run(["sacct", "-n", "-X", "-j", job, "-o", "account,state"], capture_output=True, text=True)
    assert shown.stdout.split() == ["gvos", "COMPLETED"], shown.stdout
