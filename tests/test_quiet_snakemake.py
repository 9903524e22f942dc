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


PLAN = """Provided cores: 8
Job stats:
job                count
---------------  -------
config_stamp           4
train                 20
train_benchmark        1
render_report          1
newrule                2
total                 28
"""


def test_the_plan_is_priced_at_the_measured_rates(tmp_path):
    """20 training jobs of 6 min wall / 5 min CPU, a benchmark of 1 / 0.6 min filed under benchmark, the
    page's 0.4 / 0.5 min under report: 121.4 job-minutes, 101.1 CPU-minutes; on 2 cores (at most
    os.cpu_count()) half."""
    import pandas as pd

    from pipelines.experiment import cost

    results = tmp_path / "results"
    results.mkdir()
    pd.DataFrame([{"rule": "train", "jobs": 2, "wall_s": 720.0, "cpu_s": 600.0},
                  {"rule": "benchmark", "jobs": 2, "wall_s": 120.0, "cpu_s": 72.0},
                  {"rule": "report", "jobs": 1, "wall_s": 24.0, "cpu_s": 30.0},
                  {"rule": "total", "jobs": 5, "wall_s": 864.0, "cpu_s": 702.0}]).to_csv(results / "rule_times.csv")
    runs = pd.DataFrame([{"variant": "gvos_scm", "device": "cpu: test", "changed_keys": "none"}])
    runs.to_csv(results / "runs.csv", index=False)
    assert cost.default_rates_file(tmp_path) == tmp_path / cost.MEASURED_HERE
    path = tmp_path / cost.MEASURED_HERE
    lines = JobLines(cost.rule_rates(path), cost.describe_source(path))
    shown = [out for line in PLAN.splitlines() for out in lines.feed(line)]
    priced = shown[shown.index("total                 28") + 1]
    cores = min(8, lines.cores)
    assert priced.startswith(f"planned: 28 jobs, about 101 CPU-minutes (121 job-minutes), so about "
                             f"{121.4 / cores:.0f} min on {cores} core")
    assert "(cpu: test)" in priced and priced.endswith("not timed there: newrule")
    runs.assign(changed_keys="train.main.iterations=10").to_csv(results / "runs.csv", index=False)
    assert not cost.of_the_default(path)  # a run of another config prices nothing
    assert JobLines().feed("total                 28") == ["total                 28"]  # no rates, no line
