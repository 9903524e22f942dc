"""Reading the suite's YAML config file (one file drives every step; see config/schema.yaml).

    python -m pipelines.config_file FILE [FILE ...]    # exit 2 with one line naming the file and line

Snakemake reads a ``--configfile`` before any code of the workflow runs, and its message for a file that
is not YAML does not name the file; this check does (`make smoke` runs it before snakemake, the Snakefile
before reading config/config.yaml).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.files import DataError


def load_config(path: str | Path | None) -> dict:
    """The config file as a mapping of sections; ``{}`` for None. DataError naming the file if it is
    missing, not YAML, or not a mapping."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "config file does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise DataError(path, yaml_problem(text, err)) from err
    if not isinstance(data, dict):
        raise DataError(path, "config must be a mapping of sections (data, model, train, ...)")
    return data


def yaml_problem(text: str, err: yaml.YAMLError) -> str:
    """One line on why ``text`` is not YAML: the first line indented with a tab (YAML indents with spaces
    only), else the parser's own position and reason."""
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            return f"line {number} is indented with a tab; YAML indents with spaces only"
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    reason = getattr(err, "problem", None) or str(err).splitlines()[0]
    return f"not valid YAML ({where}{reason})"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipelines.config_file",
                                     description="Check that config files are YAML mappings (names file and line).")
    parser.add_argument("files", nargs="+")
    for path in parser.parse_args(argv).files:
        load_config(path)
    return 0


if __name__ == "__main__":
    from pipelines.cli import run_cli

    run_cli(main)
