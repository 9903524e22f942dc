"""The one exception type for bad input files, so every CLI can report it the same way."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad or missing input. ``str(err)`` names the offending path and what is wrong with it."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)
