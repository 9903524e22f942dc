"""The import graph keeps its direction: methods/ imports nothing from pipelines/, pipelines/data/ only
the shared helpers below it, and report/ reads tables without torch."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = "pipelines.common"  # the plumbing every layer may import


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
                     and not n.startswith(SHARED))
           for f, names in imported_modules(REPO / "pipelines" / "data").items()}
    assert not {f: n for f, n in bad.items() if n}


def test_report_reads_tables_without_torch():
    code = "import sys, report.build, report.figures, report.tables; print('torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
    assert not any(n.split(".")[0] in ("torch", "methods") for names in imported_modules(REPO / "report").values()
                   for n in names)


# ---------------------------------------------------------------- commands above libraries

def command_modules() -> set[str]:
    """The workflow's step commands: the modules directly under pipelines/ that run as ``python -m``."""
    return {f"pipelines.{path.stem}" for path in (REPO / "pipelines").glob("*.py")
            if 'if __name__ == "__main__"' in path.read_text()}


def test_no_command_imports_another_and_no_library_imports_a_command():
    commands = command_modules()
    assert {"pipelines.train", "pipelines.predict", "pipelines.score", "pipelines.collect"} <= commands
    found = {**imported_modules(REPO / "pipelines"), **imported_modules(REPO / "report")}
    bad = {}
    for path, names in found.items():
        module = path.removesuffix(".py").replace("/", ".")
        if module.startswith("pipelines.tools."):
            continue  # side tools run commands, as a user would
        wrong = sorted(name for name in names if name in commands and name != module)
        if wrong:
            bad[path] = wrong
    assert not bad


# ---------------------------------------------------------------- one home for each word of the experiment

CODE_ROOTS = ("pipelines", "report", "methods", "rules")


def code_files(suffixes=(".py", ".smk")) -> dict[str, str]:
    files = {str(p.relative_to(REPO)): p.read_text() for root in CODE_ROOTS for p in (REPO / root).rglob("*")
             if p.suffix in suffixes}
    files["Snakefile"] = (REPO / "Snakefile").read_text()
    return files


def without_docstrings_and_comments(path: str, text: str) -> str:
    """The code of a file: docstrings (Python) and comments blanked, lines kept in place; usage examples in
    documentation may name any path."""
    lines = text.splitlines()
    if path.endswith(".py"):
        for node in ast.walk(ast.parse(text)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                for index in range(body[0].lineno - 1, body[0].end_lineno):
                    lines[index] = ""
    else:  # a rule file: its docstrings are one-line
        lines = ["" if line.strip().startswith('"""') else line for line in lines]
    return "\n".join(line.split("  #")[0] if not line.lstrip().startswith("#") else "" for line in lines)


def code_only() -> dict[str, str]:
    return {path: without_docstrings_and_comments(path, text) for path, text in code_files().items()}


def offenders(pattern: str, home: str | None = None, files: dict[str, str] | None = None) -> list[str]:
    regex = re.compile(pattern)
    return [f"{path}:{number}: {line.strip()}" for path, text in (files or code_files()).items() if path != home
            for number, line in enumerate(text.splitlines(), start=1) if regex.search(line)]


def test_dataset_names_are_never_parsed():
    assert not offenders(r'startswith\("davis|\[-4:\]')


def test_the_stage_vocabulary_has_one_home():
    home = "pipelines/experiment/stages.py"
    assert not offenders(r'"(pretrain|main)"\s*:\s*"(pretrain_only|main_only|full)"|'
                         r'"(pretrain_only|main_only)"\s*:\s*"(pretrain|main)"', home)
    assert not offenders(r'^(STAGES|TRAIN_STAGE|EXPERIMENT_STAGE|BASELINE_STAGE)\s*=', home)


def test_the_run_folder_layout_has_one_home():
    assert not offenders(r'seed\{|/seed\d|"seed" *\+', "pipelines/experiment/runs.py", code_only())


def test_the_bootstrap_default_and_the_mib_have_one_home():
    home = "pipelines/experiment/defaults.py"
    assert not offenders(r'(?<![\d.])2000(?![\d.])', home)
    assert not offenders(r'\b2\s*\*\*\s*20\b|1048576', home)


def paper_numbers() -> set[str]:
    """Every score the paper's tables report with a decimal point (85.2, ...), as printed; the small ones
    (0.05 s) and the whole ones (4 MB) are everywhere as other quantities."""
    from pipelines.experiment.paper import PAPER_FILES, read_paper_csv

    numbers = set()
    for name in PAPER_FILES.values():
        table = read_paper_csv(REPO / "report" / "paper_tables" / name)
        for value in table.select_dtypes("number").to_numpy().ravel():
            if value == value and value >= 10 and value != int(value):
                numbers.add(f"{value:g}")
    return numbers


def test_no_number_of_the_paper_is_typed_outside_its_tables():
    numbers = paper_numbers()
    assert {"85.2", "50.1", "79.4", "83.9"} <= numbers
    pattern = r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(numbers)) + r")(?![\w.])"
    assert not offenders(pattern, files=code_only())


def test_no_comment_or_document_names_an_issue_of_the_tracker():
    """History (what was done in which round) lives in docs/findings.md and CHANGELOG.md."""
    history = {"docs/findings.md", "CHANGELOG.md", "tests/test_structure.py"}  # and this test's own pattern
    files = {str(p.relative_to(REPO)): p.read_text() for p in REPO.rglob("*")
             if p.is_file() and p.suffix in (".py", ".smk", ".md", ".yaml", ".rst", ".sh", ".toml")
             and not any(part.startswith(".") or part in ("data", "results", "runs", "logs") for part in
                         p.relative_to(REPO).parts[:-1]) and str(p.relative_to(REPO)) not in history
             and "tests/data" not in str(p.relative_to(REPO))}
    assert not offenders(r"(?i)\bissues? ?#?\d+|\(issue\b|\bstop \d+\b", files=files)
