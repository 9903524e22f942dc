"""A clone stands alone: with nothing beside it, the golden evaluator tests run (none skipped) and the
report shows the paper's reported numbers, from files inside the repository.

The committed state (HEAD) is cloned into an otherwise empty temporary folder and used from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.fail("the standalone test needs git and a git checkout of the suite")
    parent = tmp_path_factory.mktemp("alone")
    target = parent / "suite"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(target)], check=True)
    assert sorted(p.name for p in parent.iterdir()) == ["suite"]
    return target


def run_in(clone: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(clone)}
    return subprocess.run([sys.executable, *args], cwd=clone, env=env, capture_output=True, text=True, timeout=600)


def test_golden_tests_run_in_a_lone_clone(clone):
    run = run_in(clone, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_evaluate_golden.py",
                 "-m", "not slow")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
    where = run_in(clone, "-c", "import pipelines.evaluate as m; print(m.__file__)")
    assert where.stdout.strip().startswith(str(clone)), where.stdout


def test_report_in_a_lone_clone_shows_reported_values(clone):
    (clone / "results_empty").mkdir()
    run = run_in(clone, "-m", "report.build", "--results", "results_empty", "--out", "build")
    assert run.returncode == 0, run.stderr[-3000:]
    page = (clone / "build" / "index.html").read_text()
    assert "88.7" in page  # OURS, DAVIS-2016 J&F, Table 5 (reported)
    assert "80.1" in page  # GVOS-SCM, YouTube-VOS overall, Table 6 (reported)
    assert "../" not in page and str(clone.parent) not in page  # nothing read from beside the clone
