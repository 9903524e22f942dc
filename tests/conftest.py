"""Shared fixtures: one torch thread, the smoke-sized synthetic dataset (made once per test session) and the golden data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
GOLDEN = REPO_ROOT / "tests" / "data" / "golden" / "davis2017"

LONGEST_FIRST = ("tests/test_workflow_smoke.py::", "tests/test_readme_commands.py::")
"""Started first, so that under pytest-xdist (make test: -n 2) the end-to-end workflow runs beside the
many short tests instead of after them."""


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory) -> Path:
    """Root of the ``smoke`` synthetic dataset, seed 0: ROOT/DAVIS, ROOT/YouTubeVOS, ROOT/COCO.

    Shared by the whole session: treat it as read-only (copy it before damaging it).
    """
    from pipelines.data.synthetic import generate, get_preset

    root = tmp_path_factory.mktemp("synthetic") / "smoke"
    generate(root, get_preset("smoke"), seed=0, progress=False)
    return root


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """The golden DAVIS-2017 evaluation set shipped in tests/data/golden/davis2017."""
    return GOLDEN


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests: the shared CPU makes multi-threaded tiny convolutions spin
    rather than work. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
