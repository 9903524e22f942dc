"""Other VOS methods behind this suite's engine protocol, for the benchmark: ``reset()``,
``step(image (3,H,W) float [0,1], mask (H,W) long | None, objects list[int] | None) -> (1+K, H, W)``
probabilities on the CPU, ``object_ids``, ``memory_bytes()`` (what the per-video state keeps),
``memory_frames()``, ``snapshot()`` / ``restore(state)`` and ``model`` (the network, for its size); an
engine whose state cannot be copied has ``exact_snapshot = False`` (its snapshot is a handle on the live
state, and the benchmark steps it successively), and one may bring itself to t frames (``fill``).

Each peer is its published package, installed apart (``make peers``: never part of the default install),
imported only when it is built, and built with random weights: nothing is downloaded, and the work per
frame does not depend on the weights (data-dependent choices, such as which memory frames are kept, can).
Each runs at its published inference defaults, stated in ``setting``.

    engine = build_peer("cutie_small", device="cpu")
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    name: str
    module: str  # methods.peers.<module>, imported when the peer is built
    variant: str  # what the module's ``build`` is asked for
    package: str  # the distribution on the package registry that provides it
    licence: str
    setting: str  # the published inference defaults it runs at


PEERS: dict[str, Peer] = {}
"""Every registered peer by name (the benchmark's ``peers:`` list names them)."""


def register(peer: Peer) -> Peer:
    if peer.name in PEERS:
        raise ValueError(f"peer {peer.name!r} is already registered")
    PEERS[peer.name] = peer
    return peer


CUTIE_SETTING = ("Cutie's eval defaults for DAVIS-2017 val: a memory frame every 5th frame, at most 5 in "
                 "working memory, no long-term memory, top-k 30, the frame at its own size")
register(Peer("cutie_small", "cutie", "small", "rf-cutie", "MIT", CUTIE_SETTING))
register(Peer("cutie_base", "cutie", "base", "rf-cutie", "MIT", CUTIE_SETTING))

SAM2_SETTING = ("SAM 2.1's video predictor defaults: the frame resized to its 1024 square, 7 memory frames "
                "(the labelled one and the last 6) and 16 object pointers read, every frame's memory kept; "
                "its hole-filling post-processing skipped (it needs the package's CUDA extension)")
SAM2_EQUAL_PIXELS = ("as SAM 2.1's defaults, but the frame resized to a square of about its own pixel count "
                     "(side a multiple of 64: 320 for 240x432, 640 for 480x854)")
for size in ("tiny", "small", "base_plus", "large"):
    register(Peer(f"sam2.1_{size}", "sam2", size, "sam2", "Apache-2.0", SAM2_SETTING))
for size in ("tiny", "base_plus"):
    register(Peer(f"sam2.1_{size}_equal_pixels", "sam2", f"{size}_equal_pixels", "sam2", "Apache-2.0",
                  SAM2_EQUAL_PIXELS))

register(Peer("stcn", "stcn", "default", "stcnbuf", "MIT",
              "STCN's DAVIS defaults: a memory frame every 5th frame, every one kept, top-20 affinities, the "
              "frame at its own size (padded to a multiple of 16)"))

DEAOT_SETTING = ("DeAOT's evaluator defaults: one scale, no flip, the frame resized to sides of 16 k + 1 (long "
                 "edge at most 1040), the last frame as short-term memory, long-term memory {}; pure-PyTorch "
                 "attention (the correlation extension is not installed)")
register(Peer("deaot_t", "deaot", "deaot_t", "deaotpy", "BSD-3-Clause",
              DEAOT_SETTING.format("the labelled frame only")))
register(Peer("deaot_r50_l", "deaot", "deaot_r50_l", "deaotpy", "BSD-3-Clause",
              DEAOT_SETTING.format("a frame every 5th frame, every one kept")))


def is_peer(name: str) -> bool:
    return name in PEERS


def missing(name: str) -> str | None:
    """Why the peer cannot be built here (its package is not installed), or None."""
    peer = PEERS[name]
    try:
        importlib.import_module(f"methods.peers.{peer.module}").require()
    except ImportError as err:
        return f"{name} needs the package {peer.package} (make peers): {err}"
    return None


def build_peer(name: str, device: str = "cpu", height: int | None = None, width: int | None = None):
    """The peer's engine, random weights, on ``device``, for frames of height x width (a setting that
    depends on the input's size needs them); ImportError naming the package when not installed."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; registered: {', '.join(PEERS)}")
    reason = missing(name)
    if reason:
        raise ImportError(reason)
    peer = PEERS[name]
    return importlib.import_module(f"methods.peers.{peer.module}").build(peer.variant, device, height, width)
