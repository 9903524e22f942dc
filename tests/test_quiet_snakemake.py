"""`make smoke` / `make report` print one line a finished job (pipelines.tools.quiet_snakemake): snakemake's
dozen lines a job become one, its scheduler chatter goes, anything else (an error) passes unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.tools.quiet_snakemake import JobLines

SNAKEMAKE_LINES = """Select jobs to execute...
Execute 2 jobs...

[Mon Dec  7 03:13:12 2026]
localrule config_stamp:
    output: logs/config/stamp
    jobid: 144
    reason: Missing output files: logs/config/stamp
    resources: tmpdir=/tmp
[Mon Dec  7 03:13:13 2026]
Finished jobid: 144 (Rule: config_stamp)
1 of 146 steps (1%) done
Select jobs to execute...
[Mon Dec  7 03:21:38 2026]
Finished jobid: 36 (Rule: train)
2 of 146 steps (1%) done

[Mon Dec  7 03:21:40 2026]
rule predict:
    input: runs/gvos_scm/full/seed0/checkpoint.pt
    output: predictions/gvos_scm/full/seed0
    threads: 1
[Mon Dec  7 03:22:00 2026]
Error in rule predict:
    jobid: 35
    log: logs/predict/gvos_scm/full/seed0.log (check log file(s) for error details)
"""


def test_each_finished_job_is_one_line_and_an_error_passes_whole():
    lines = JobLines()
    shown = [out for line in SNAKEMAKE_LINES.splitlines(keepends=True) for out in lines.feed(line)]
    assert shown == [
        "03:13:13  1/146 (1%)  config_stamp",
        "03:21:38  2/146 (1%)  train",
        "[03:22:00]",
        "Error in rule predict:",
        "    jobid: 35",
        "    log: logs/predict/gvos_scm/full/seed0.log (check log file(s) for error details)",
    ]


def test_a_workflow_prints_one_line_a_job_and_keeps_snakemakes_exit_status(tmp_path: Path):
    (tmp_path / "Snakefile").write_text(
        'rule all:\n    input: expand("out/{i}.txt", i=range(3))\n'
        'rule make:\n    output: "out/{i}.txt"\n    shell: "echo {wildcards.i} > {output}"\n'
        'rule broken:\n    output: "broken.txt"\n    shell: "echo the job says why; exit 3"\n')
    run = subprocess.run([sys.executable, "-m", "pipelines.tools.quiet_snakemake", "--cores", "1", "all"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    jobs = [line for line in run.stdout.splitlines() if line.endswith(("  make", "  all"))]
    assert len(jobs) == 4 and jobs[-1].split()[1:] == ["4/4", "(100%)", "all"], run.stdout
    assert "Finished jobid" not in run.stdout and "Select jobs" not in run.stdout
    failed = subprocess.run([sys.executable, "-m", "pipelines.tools.quiet_snakemake", "--cores", "1", "broken"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "the job says why" in failed.stdout and "Error in rule broken" in failed.stdout
