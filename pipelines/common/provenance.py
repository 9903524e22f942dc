"""What every result row carries so that numbers can be traced (commit, device, torch, threads), and the
hashes that identify a configuration. One meaning per name:

- ``config_hash`` column / checkpoint key: ``run_hash`` of the run the row or checkpoint belongs to (the
  config sections its result depends on), or, for benchmark rows, the hash of the benchmark settings.
- ``section_hash``: any one section or value; the workflow's rerun trigger of cheap steps.

``run_hash`` is computed the same way by the workflow (rerun trigger of a training run, identity
expected by prediction) and by ``pipelines.train`` (written into the checkpoint), so the two meet.
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

from methods.variants import model_config, variant_defs
from pipelines.experiment import stages
from pipelines.experiment.stages import BASELINE_STAGE, SCHEDULES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"  # the embedded default

BOOKKEEPING_TRAIN_KEYS = ("checkpoint_every", "log_every")
"""Keys of the train section that never change the weights (left out of the run hash)."""


@lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit of the working tree (with ``-dirty`` if it has uncommitted changes), or 'unknown'."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def config_hash(config) -> str:
    """Stable 12-hex-digit hash of a (JSON-serialisable) value."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def section_hash(section) -> str:
    """Hash of one config section (or any JSON-able value)."""
    return config_hash({"section": section})


def run_hash(config: dict, variant: str, stage: str, seed: int) -> str:
    """Hash of what one run's result depends on. ``stage`` is the experiment's stage: pretrain_only,
    main_only, full, or ``none`` for a non-learned baseline (which depends on the data only).

    Included: the data section, the variant's resolved ModelConfig (model section + the variant's
    overrides, defaults filled in), the train section without bookkeeping keys and without the schedule
    of a stage the run does not train (pretrain_only ignores train.main, main_only train.pretrain),
    variant, stage and seed.
    """
    if stage == BASELINE_STAGE:
        return config_hash({"data": config.get("data"), "variant": variant})

    sections = run_sections(config, stage)
    sections["model"] = model_config(variant, config.get("model"), variant_defs(config)).to_dict()
    return config_hash({**sections, "variant": variant, "stage": stage, "seed": int(seed)})


def run_sections(config: dict, stage: str) -> dict:
    """The config sections a run of ``stage`` depends on, as written (data, model, and train without
    bookkeeping keys or the schedule of a stage the run does not train); a baseline: data only."""
    if stage == BASELINE_STAGE:
        return {"data": copy.deepcopy(config.get("data"))}
    train = copy.deepcopy(config.get("train") or {})
    for key in BOOKKEEPING_TRAIN_KEYS:
        train.pop(key, None)
    trained = stages.stage(stage)
    if trained.init_from is None:  # a stage from scratch depends on its own schedule only
        for schedule in SCHEDULES:
            if schedule != trained.schedule:
                train.pop(schedule, None)
    return {"data": copy.deepcopy(config.get("data")), "model": copy.deepcopy(config.get("model")), "train": train}


def _flat(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def changed_keys(config: dict, default: dict, stage: str) -> list[str]:
    """``key=value`` for every setting a run of ``stage`` depends on whose value differs from ``default``
    (the repository's config/config.yaml): what makes this run differ from the embedded default."""
    ours, theirs = _flat(run_sections(config, stage)), _flat(run_sections(default, stage))
    missing = object()
    return [f"{key}={json.dumps(value, default=str)}" for key, value in sorted(ours.items())
            if theirs.get(key, missing) != value] + \
        [f"{key} unset" for key in sorted(set(theirs) - set(ours))]


def device_name(device) -> str:
    """Human-readable device: the CUDA card's name, or the CPU model."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {cpu}"


def provenance(device="cpu", config: dict | None = None) -> dict:
    """Columns every benchmark row carries."""
    import torch

    return {
        "device": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "commit": git_commit(),
        "config_hash": config_hash(config) if config is not None else "",
    }
