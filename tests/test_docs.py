"""The documents a user reads: every repository path they name in backticks and every relative link exists,
the README stays a hub (short, with the quick start on its first screen), and its results are the ones the
committed snapshot of the default run gives (report.readme), never typed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "config" / "README.md", REPO / "results" / "README.md",
             *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "findings.md")]  # findings: a dated notebook
GENERATED = ("results/", "report/build")
"""Outputs of a run, named by the documents but not in a clone."""
TO_BE_WRITTEN = {"methods/memory/linear.py"}
"""Files a guide asks the reader to create (docs/extending.md's example readout)."""


def top_level_entries() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return {name.split("/")[0] for name in files}


def named_paths(text: str, top: set[str]) -> set[str]:
    """The repository paths in backticks: tokens whose first component is an entry of the repository."""
    found = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        for token in span.split():
            token = token.strip(",;:()'\"").rstrip("/")
            if re.fullmatch(r"[\w./-]+", token) and token.split("/")[0] in top and ("/" in token or "." in token):
                found.add(token)
    return found


def test_every_repository_path_a_document_names_exists():
    top = top_level_entries()
    missing = sorted(f"{doc.relative_to(REPO)}: {path}" for doc in DOCUMENTS for path in named_paths(doc.read_text(), top)
                     if not (REPO / path).exists() and not path.startswith(GENERATED) and path not in TO_BE_WRITTEN)
    assert not missing


def test_the_checker_finds_a_dead_path():
    top = top_level_entries()
    assert named_paths("see `docs/design.md` and `pipelines/nowhere.py`, not `my.yaml`", top) == {
        "docs/design.md", "pipelines/nowhere.py"}


def test_the_readme_is_a_hub_with_the_quick_start_first():
    text = (REPO / "README.md").read_text()
    lines = text.splitlines()
    assert len(lines) <= 150 and len(text.split()) <= 1200
    first_screen = "\n".join(lines[:40])
    assert "make smoke" in first_screen and "make report" in first_screen and "make test" in first_screen
    for page in ("docs/getting-started.md", "docs/real-data-gpu-cluster.md", "docs/results.md", "docs/extending.md",
                 "docs/reproduction-report.md", "docs/architecture.md", "CITATION.cff", "LICENSE", "CHANGELOG.md",
                 "docs/default-run/first-screen.png"):
        assert page in text and (REPO / page).exists(), page


def relative_links(text: str) -> set[str]:
    """Targets of markdown links and images that are not web addresses or anchors, anchor removed."""
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)}
    return {t for t in targets if t and not re.match(r"[a-z]+:", t)}


def test_every_relative_link_and_image_of_a_document_exists():
    missing = sorted(f"{doc.relative_to(REPO)}: {target}" for doc in DOCUMENTS for target in relative_links(doc.read_text())
                     if not (doc.parent / target).exists())
    assert not missing
    assert relative_links("[a](docs/x.md#part) ![b](pic.png) [c](https://example.org) [d](#top)") == {"docs/x.md", "pic.png"}


def test_the_readmes_results_are_what_the_default_runs_snapshot_gives():
    from report.readme import BEGIN, END, SNAPSHOT, results_block

    text = (REPO / "README.md").read_text()
    block = text[text.index(BEGIN):text.index(END) + len(END)]
    assert block == results_block(REPO / SNAPSHOT)
    assert "reproduced" in block and "| gvos_scm / full | 3 |" in block  # the default: three seeds


def test_a_readme_whose_numbers_were_edited_fails_the_check(tmp_path, capsys):
    from report.readme import BEGIN, main

    text = (REPO / "README.md").read_text()
    head, block = text.split(BEGIN)
    edited = tmp_path / "README.md"
    edited.write_text(head + BEGIN + re.sub(r"\d\.\d", "9.9", block, count=1))
    assert main(["--check", "--readme", str(edited)]) == 1
    assert "differs from" in capsys.readouterr().err
    assert main(["--readme", str(edited)]) == 0 and edited.read_text() == text
