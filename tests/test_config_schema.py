"""One home per setting: the schema's model / train keys are exactly the dataclasses' fields, and
config/README.md explains every key of the schema."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from methods.config import ModelConfig
from pipelines.training.config import MainStageConfig, MaxSkipSchedule, StageConfig, TrainConfig

REPO = Path(__file__).resolve().parent.parent
SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())


def names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_schema_keys_are_the_dataclass_fields():
    props = SCHEMA["properties"]
    definitions = SCHEMA["definitions"]
    assert set(props["model"]["properties"]) == names(ModelConfig)
    assert set(props["train"]["properties"]) == names(TrainConfig)
    assert set(definitions["stage_schedule"]["properties"]) == names(StageConfig)
    assert set(definitions["main_schedule"]["properties"]) == names(MainStageConfig)
    assert set(definitions["main_schedule"]["properties"]["max_skip"]["properties"]) == names(MaxSkipSchedule)


def schema_keys(node, prefix="") -> set[str]:
    keys = set()
    for name, sub in (node.get("properties") or {}).items():
        keys.add(name)
        if isinstance(sub, dict):
            keys |= schema_keys(sub, f"{prefix}{name}.")
    return keys


def test_config_readme_explains_every_key():
    text = (REPO / "config" / "README.md").read_text()
    keys = schema_keys(SCHEMA) | set(SCHEMA["definitions"]["main_schedule"]["properties"]) \
        | set(SCHEMA["definitions"]["job_resources"]["properties"])
    missing = sorted(k for k in keys if f"`{k}`" not in text and f"`.{k}`" not in text and f".{k}`" not in text)
    assert not missing, f"config/README.md does not explain {missing}"
