"""The checks made before a cluster run submits anything (pipelines.common.cluster), as plain functions; the run
itself through a real SLURM is tests/test_slurm.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.common.cluster import NO_ACCOUNTING, status_command_problem

REPO = Path(__file__).resolve().parent.parent


def test_sacct_on_a_cluster_without_accounting_is_the_one_refused_combination():
    problem = status_command_problem("slurm", "sacct", NO_ACCOUNTING)
    assert problem is not None and "--slurm-status-command squeue" in problem
    assert status_command_problem("slurm", "squeue", NO_ACCOUNTING) is None
    assert status_command_problem("slurm", "sacct", "accounting_storage/slurmdbd") is None
    assert status_command_problem("slurm", "sacct", None) is None  # scontrol did not answer: not guessed
    assert status_command_problem(None, "sacct", NO_ACCOUNTING) is None  # a local run


def test_the_probes_outputs_are_ignored_and_cleaned():
    assert "/probes/" in (REPO / ".gitignore").read_text().splitlines()
    clean = subprocess.run(["make", "-n", "-C", str(REPO), "clean"], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0 and " probes " in clean.stdout
