"""What one benchmark run measures: variants, backbone, resolution, t values, repeats, device.

Values come from the ``benchmark:`` section of the config, its defaults from config/schema.yaml, and the
command line (overrides for a run by hand; the workflow passes only where the job runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

from methods import peers
from methods.precision import resolve_amp
from methods.variants import catalogue, variant_defs
from pipelines.common.config_file import schema_defaults
from pipelines.common.runtime import resolve_device

DEFAULTS = {**schema_defaults("benchmark"), "threads": None}
"""The benchmark section's defaults (config/schema.yaml), and threads (None: torch's default), which the
command line gives."""

# Below this the stride-16 feature map is under 2x2 and pooling layers of the decoder / refinement fail.
MIN_SIDE = 32


@dataclass
class BenchmarkSettings:
    variants: list[str]
    backbone: str | None
    height: int
    width: int
    t: list[int]
    repeats: int
    warmup: int
    device: str
    objects: int = 1
    amp: bool = False
    threads: int | None = None
    breakdown: bool = True
    tf32: bool | None = None
    compile: bool = False
    model: dict = field(default_factory=dict)
    variant_defs: dict = field(default_factory=dict)
    peers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_size(text: str | list | tuple) -> tuple[int, int]:
    """``"480x854"`` (or ``[480, 854]``) -> (480, 854); ValueError on anything else or below ``MIN_SIDE``."""
    if isinstance(text, list | tuple) and len(text) == 2:
        text = f"{text[0]}x{text[1]}"
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise ValueError(f"--size {text!r}: expected HEIGHTxWIDTH, e.g. 480x854")
    height, width = int(match.group(1)), int(match.group(2))
    if min(height, width) < MIN_SIDE:
        raise ValueError(
            f"--size {text!r}: each side must be at least {MIN_SIDE} pixels "
            f"(the stride-16 feature map would be smaller than 2x2)"
        )
    return height, width


def parse_int_list(text: str | int | list, name: str) -> list[int]:
    """``"1,10,100"`` / ``[1, 10]`` / ``5`` -> sorted unique positive ints."""
    if isinstance(text, int):
        items = [text]
    elif isinstance(text, list | tuple):
        items = list(text)
    else:
        items = [part for part in str(text).split(",") if part.strip()]
    try:
        values = [int(str(item).strip()) for item in items]
    except ValueError:
        raise ValueError(f"--{name} {text!r}: expected comma-separated integers, e.g. 1,10,100") from None
    if not values or min(values) < 1:
        raise ValueError(f"--{name} {text!r}: values must be integers >= 1")
    return sorted(set(values))


def parse_names(text: str | list, known, what: str, listed: str = "known") -> list[str]:
    """``"a,b"`` / ``[a, b]`` -> the names, in the given order, duplicates dropped; ValueError naming the
    ones not in ``known`` (``what``: the kind of name, ``listed``: how the error introduces ``known``)."""
    names = list(text) if isinstance(text, list | tuple) else [v.strip() for v in str(text).split(",")]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown {what}(s) {', '.join(unknown)}; {listed}: {', '.join(known)}")
    return list(dict.fromkeys(names))


def parse_variants(text: str | list, known: list[str]) -> list[str]:
    """``"gvos_scm,stm_read"`` -> list, in the given order; ValueError naming unknown ones."""
    names = parse_names(text, known, "variant")
    if not names:
        raise ValueError("--variants: no variant given")
    return names


def parse_peers(text: str | list | None) -> list[str]:
    """``"cutie_small,cutie_base"`` / a list -> registered peer names (methods.peers), in order."""
    return parse_names(text, peers.PEERS, "peer", "registered") if text else []


def merge(config: dict | None, cli: dict) -> BenchmarkSettings:
    """Combine the config's ``benchmark:`` / ``model:`` sections with CLI values (None = not given); the
    device is a CLI value only (``--device``, default auto)."""
    config = config or {}
    defs = variant_defs(config)
    section = config.get("benchmark") or {}
    if not isinstance(section, dict):
        raise ValueError("config: the benchmark section must be a mapping")
    unknown = sorted(set(section) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"config: unknown key(s) in benchmark section: {', '.join(unknown)}")
    cli = {k: v for k, v in cli.items() if v is not None}
    device = str(resolve_device(cli.pop("device", "auto")))
    values = {**DEFAULTS, **section, **cli}
    height, width = parse_size(values["size"])
    repeats, warmup = int(values["repeats"]), int(values["warmup"])
    if repeats < 1 or warmup < 0:
        raise ValueError(f"--repeats must be >= 1 and --warmup >= 0 (got {repeats}, {warmup})")
    objects = int(values["objects"])
    if objects < 1:
        raise ValueError(f"--objects must be >= 1 (got {objects})")
    threads = values["threads"]
    if threads is not None and int(threads) < 1:
        raise ValueError(f"--threads must be >= 1 (got {threads})")
    return BenchmarkSettings(
        variants=parse_variants(values["variants"], list(catalogue(defs))),
        backbone=values["backbone"],
        height=height,
        width=width,
        t=parse_int_list(values["t"], "t"),
        repeats=repeats,
        warmup=warmup,
        device=device,
        objects=objects,
        amp=resolve_amp(values["amp"], device),
        threads=None if threads is None else int(threads),
        breakdown=bool(values["breakdown"]),
        tf32=None if values["tf32"] is None else bool(values["tf32"]),
        compile=bool(values["compile"]),
        model=dict(config.get("model") or {}),
        variant_defs=defs,
        peers=parse_peers(values.get("peers")),
    )
