"""Reading the suite's YAML config file (one file drives every step; see config/schema.yaml)."""

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
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise DataError(path, f"not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise DataError(path, "config must be a mapping of sections (data, model, train, ...)")
    return data
