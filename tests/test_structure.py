"""The import graph keeps its direction: methods/ imports nothing from pipelines/, pipelines/data/ only
the shared helpers below it, and report/ reads tables without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = ("pipelines.files", "pipelines.cli")  # the helpers every layer may import


def imported_modules(folder: Path) -> dict[str, set[str]]:
    found = {}
    for path in folder.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[str(path.relative_to(REPO))] = names
    return found


def test_methods_imports_nothing_from_pipelines():
    bad = {f: sorted(n for n in names if n.split(".")[0] == "pipelines")
           for f, names in imported_modules(REPO / "methods").items()}
    assert not {f: n for f, n in bad.items() if n}


def test_data_layer_imports_nothing_above_it():
    bad = {f: sorted(n for n in names if n.startswith("pipelines.") and not n.startswith("pipelines.data")
                     and n not in SHARED)
           for f, names in imported_modules(REPO / "pipelines" / "data").items()}
    assert not {f: n for f, n in bad.items() if n}


def test_report_reads_tables_without_torch():
    code = "import sys, report.build, report.figures, report.tables; print('torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
    assert not any(n.split(".")[0] in ("torch", "methods") for names in imported_modules(REPO / "report").values()
                   for n in names)
