"""The commands the documents print run as printed: the "Single steps" of docs/getting-started.md on a fresh folder,
with the smoke preset and config in place of the default ones (the only substitutions), and the snakemake line of
`make smoke` / `make report`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def readme_steps() -> list[list[str]]:
    text = (REPO / "docs" / "getting-started.md").read_text()
    section = text[text.index("## Single steps"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return [shlex.split(line) for line in commands]


def test_single_steps_run_as_printed(tmp_path):
    steps = readme_steps()
    assert [s[2] for s in steps] == ["pipelines.data.synthetic", "pipelines.train", "pipelines.predict",
                                     "pipelines.evaluate", "pipelines.benchmark", "pipelines.benchmark"]
    smoke = str(REPO / "config" / "smoke.yaml")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for argv in steps:
        assert argv[0] == "python"
        argv = [sys.executable, *[smoke if a == "config/config.yaml" else "smoke" if a == "default" else a
                                  for a in argv[1:]]]
        if argv[2] == "pipelines.train" or argv[2] == "pipelines.benchmark":
            argv += ["--threads", "1"]
        run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{shlex.join(argv)}\n{run.stderr[-3000:]}"
    for produced in ("runs/x/checkpoint.pt", "predictions/x", "evaluations/x/global_results-val.csv",
                     "results/speed.csv", "results/train_speed.csv"):
        assert (tmp_path / produced).exists(), produced


@pytest.mark.parametrize("target, extra", [("smoke", []), ("report", ["CONFIG=config/smoke.yaml"])])
def test_the_make_targets_snakemake_line_parses_and_plans_the_report(tmp_path, target, extra):
    """The snakemake command `make smoke` / `make report` run, exactly as make writes it, planned in a
    fresh folder (--directory, --dry-run appended): an option that swallows the target fails here."""
    venv = Path(sys.prefix)
    printed = subprocess.run(["make", "-n", target, f"VENV={venv}", *extra], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    lines = [line for line in printed.stdout.splitlines() if "pipelines.tools.quiet_snakemake" in line]
    assert len(lines) == 1, printed.stdout
    plan = subprocess.run(f"{lines[0]} --directory {shlex.quote(str(tmp_path))} --dry-run", shell=True, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    out = plan.stdout + plan.stderr
    assert plan.returncode == 0, out[-3000:]
    assert re.search(r"^report\s+1$", out, re.M), out[-3000:]  # the job table of the plan names the target
