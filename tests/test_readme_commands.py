"""The "Single steps" commands of docs/getting-started.md run as printed on a fresh folder, with the smoke preset and
config in place of the default ones (the only substitutions)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
