"""Where each dataset lives: the ``data:`` section of the config resolved to folders, and the checks that a
folder really is such a dataset (made by the workflow at dry-run time and by the commands at start-up).

With ``data.synthetic`` set, every root not given explicitly is the generated set under ``SYNTHETIC_ROOT``
(relative to the working directory: the workflow's folder, or wherever a single step runs). A dataset
with a ``root_fallback`` (DAVIS-2016: the DAVIS root's ImageSets/2016) reads that root when its own is
not given.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.common.files import DataError
from pipelines.experiment import datasets

SYNTHETIC_ROOT = "data/synthetic"


def root_keys() -> list[str]:
    """Every ``data.<key>`` naming a root: each registered dataset's, then the pretraining images'."""
    keys = dict.fromkeys(dataset.root_key for dataset in datasets.DATASETS.values())
    return [*keys, datasets.PRETRAIN_ROOT_KEY]


def synthetic_folders() -> dict[str, str]:
    """data key -> its folder under ``SYNTHETIC_ROOT`` (the keys the generator writes)."""
    folders = {d.root_key: d.synthetic_folder for d in datasets.DATASETS.values() if d.synthetic_folder}
    return {**folders, datasets.PRETRAIN_ROOT_KEY: datasets.PRETRAIN_SYNTHETIC_FOLDER}


def dataset_names_problem(config: dict) -> str | None:
    """One line on the first dataset name or data key of a config that is not registered, or None."""
    config = config or {}
    named = [("experiments.datasets", name) for name in (config.get("experiments") or {}).get("datasets") or []]
    named += [("train.main.datasets", name)
              for name in (((config.get("train") or {}).get("main") or {}).get("datasets") or [])]
    if (config.get("probes") or {}).get("dataset"):
        named.append(("probes.dataset", config["probes"]["dataset"]))
    for where, name in named:
        if name not in datasets.DATASETS:
            return f"{where}: {name!r} is not a registered dataset (registered: {', '.join(datasets.names())})"
    keys = ["synthetic", *root_keys()]
    for key in config.get("data") or {}:
        if key not in keys:
            return f"data.{key}: not a data key (known: {', '.join(keys)})"
    return None


def dataset_roots(data: dict | None) -> dict[str, str | None]:
    """Root folder per data key (``root_keys``), None where neither given nor generated."""
    data = data or {}
    roots = {key: data.get(key) for key in root_keys()}
    if data.get("synthetic"):
        for key, folder in synthetic_folders().items():
            if not roots[key]:
                roots[key] = f"{SYNTHETIC_ROOT}/{folder}"
    for dataset in datasets.DATASETS.values():
        if not roots[dataset.root_key] and dataset.root_fallback:
            roots[dataset.root_key] = roots[dataset.root_fallback]
    return {key: (str(Path(value).expanduser()) if value else None) for key, value in roots.items()}


def effective_config(config: dict) -> dict:
    """The config every command of the workflow receives: ``config`` with each default of
    config/schema.yaml filled in (snakemake's validate, as the Snakefile applies it) and each dataset
    root resolved (``dataset_roots``). Two configs are compared in this form, so a key left to its
    default and the same key written out count as the same setting."""
    import copy

    from snakemake.utils import validate  # the workflow's own reading of the schema; loaded only here

    from pipelines.common.config_file import SCHEMA_PATH

    effective = copy.deepcopy(config)
    validate(effective, str(SCHEMA_PATH))
    effective.setdefault("data", {}).update(dataset_roots(effective.get("data")))
    return effective


def required_parts(key: str, uses: set[str]) -> list[list[str]]:
    """Relative paths the root of a data key must hold for its uses ('train', 'val'); each entry lists
    alternatives."""
    if key == datasets.PRETRAIN_ROOT_KEY:
        return datasets.PRETRAIN_PARTS
    readers = [d for d in datasets.DATASETS.values() if d.root_key == key]
    if not readers:
        raise ValueError(f"unknown data key {key!r}")
    return readers[0].required_parts(uses)


def root_problems(key: str, root: str | Path, uses: set[str]) -> list[str]:
    """What is missing from a dataset root for its uses (empty when it looks complete)."""
    root = Path(root)
    if not root.is_dir():
        return [f"{root}: dataset folder does not exist"]
    missing = []
    for alternatives in required_parts(key, uses):
        if not any((root / part).exists() for part in alternatives):
            missing.append(" or ".join(alternatives))
    return [f"{root}: missing {', '.join(missing)} (not a {key} root?)"] if missing else []


def dataset_root(data_section: dict, key: str, config_path: Path | None) -> Path:
    """The existing root folder of a data key; DataError naming the config when unset or missing."""
    root = dataset_roots(data_section)[key]
    if not root:
        raise DataError(config_path, f"data.{key} is not set (and data.synthetic is not set): "
                                     "the training datasets need it")
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, f"dataset folder does not exist (data.{key} in {config_path})")
    return root
