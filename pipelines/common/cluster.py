"""What the workflow checks before it submits its first job to a SLURM cluster (rules/resources.smk calls
these in its ``onstart`` handler, when the executor is known).

The slurm executor plugin asks ``sacct`` for the state of its jobs whenever the binary exists. On a
cluster that keeps no job accounting, ``sacct`` cannot answer: the plugin logs that at debug level only,
never sees a job finish, and the run waits forever. The fix is ``--slurm-status-command squeue``; this
module tells that case apart so the run stops at once with that line instead.
"""

from __future__ import annotations

import shutil
import subprocess

NO_ACCOUNTING = "accounting_storage/none"


def accounting_storage() -> str | None:
    """The cluster's AccountingStorageType (``scontrol show config``), or None where scontrol is missing
    or does not answer."""
    if shutil.which("scontrol") is None:
        return None
    try:
        shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in shown.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "AccountingStorageType":
            return value.strip()
    return None


def status_command_problem(executor: str | None, status_command: str | None, storage: str | None) -> str | None:
    """Why a run with this executor, status command and accounting storage would hang, or None."""
    if executor != "slurm" or status_command != "sacct" or storage != NO_ACCOUNTING:
        return None
    return (f"this SLURM cluster keeps no job accounting (AccountingStorageType={storage}), so sacct cannot "
            "report the state of a job and the run would wait for ever: add --slurm-status-command squeue "
            "(profiles/slurm/config.yaml says where)")
