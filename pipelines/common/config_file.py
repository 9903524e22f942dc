"""Reading the suite's YAML config file (one file drives every step; see config/schema.yaml).

    python -m pipelines.common.config_file FILE [FILE ...]    # exit 2 with one line naming the file and line

Snakemake reads a ``--configfile`` before any code of the workflow runs, and its message for a file that
is not YAML does not name the file; this check does (`make smoke` and `make report` run it before
snakemake, the Snakefile before reading config/config.yaml).

Every command applies the schema (config/schema.yaml) to the file it is given: each key known, each value
within its bounds; a section or key the file leaves out takes the command's default, so a partial file
is fine. A file asking for snakemake's YTE templating (``__use_yte__: true``) is refused: snakemake would
evaluate the Python expressions it holds while reading it.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
from pathlib import Path

import yaml

from pipelines.common.cli import run_cli
from pipelines.common.files import DataError
from pipelines.experiment.roots import dataset_names_problem

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"
YTE_KEY = "__use_yte__"


def load_config(path: str | Path | None, check_schema: bool = True) -> dict:
    """The config file as a mapping of sections; ``{}`` for None. DataError naming the file if it is
    missing, not YAML, not a mapping, asks for YTE templating, or (``check_schema``) breaks the schema."""
    if path is None:
        return {}
    data = read_mapping(path)
    if YTE_KEY in data:
        raise DataError(path, f"{YTE_KEY}: YTE templates are refused: snakemake would run the Python expressions "
                              "of such a file while reading it; write plain values")
    if check_schema:
        problem = schema_problem(data) or dataset_names_problem(data)
        if problem is not None:
            raise DataError(path, problem)
    return data


def read_mapping(path: str | Path) -> dict:
    """A YAML file holding a mapping (safe loader: no tags run code); DataError naming it otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "config file does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(path, f"not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise DataError(path, yaml_problem(text, err)) from err
    if not isinstance(data, dict):
        raise DataError(path, "config must be a mapping of sections (data, model, train, ...)")
    return data


@functools.cache
def _partial_schema() -> dict:
    """The schema with nothing required: the bounds of every key a file gives, whatever it leaves out."""
    def drop_required(node):
        if isinstance(node, dict):
            return {key: drop_required(value) for key, value in node.items() if key != "required"}
        if isinstance(node, list):
            return [drop_required(item) for item in node]
        return node

    return drop_required(copy.deepcopy(yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))))


def schema_defaults(section: str) -> dict:
    """The schema's default of every key of a section that has one: the one home of each default."""
    properties = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))["properties"][section]["properties"]
    return {key: copy.deepcopy(node["default"]) for key, node in properties.items() if "default" in node}


FLOAT_WITHOUT_DOT = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
"""``1e-4``, ``1.0e4``: floats in YAML 1.2, strings in YAML 1.1, which PyYAML and snakemake read."""


def schema_problem(data: dict) -> str | None:
    """One line on the first way ``data`` breaks the schema's bounds (key path, value, rule), or None: an
    unknown key with the nearest known one, a number YAML read as text with the spelling it reads."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(_partial_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "top level"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties") or {})
        unknown = [key for key in error.instance if key not in known]
        if unknown:
            key = unknown[0]
            nearest = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else f" (known: {', '.join(known)})"
            return f"{where}: unknown key {key!r}{hint} (config/schema.yaml)"
    if error.validator == "type" and isinstance(error.instance, str) and FLOAT_WITHOUT_DOT.match(error.instance):
        mantissa, _, exponent = error.instance.lower().partition("e")
        mantissa = mantissa if "." in mantissa else f"{mantissa}.0"
        exponent = exponent if exponent[:1] in "+-" else f"+{exponent}"
        return (f"{where}: {error.instance!r} is text to YAML 1.1 (a number in exponent form needs a dot and a "
                f"signed exponent); write {mantissa}e{exponent} (config/schema.yaml)")
    return f"{where}: {error.message} (config/schema.yaml)"


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

    parser = argparse.ArgumentParser(prog="python -m pipelines.common.config_file",
                                     description="Check that config files are YAML mappings (names file and line).")
    parser.add_argument("files", nargs="+", help="config files to check (YAML, the schema, the registered datasets)")
    for path in parser.parse_args(argv).files:
        load_config(path)
    return 0


if __name__ == "__main__":
    run_cli(main)
