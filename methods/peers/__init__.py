"""Other VOS methods behind this suite's engine protocol, for the benchmark: ``reset()``,
``step(image (3,H,W) float [0,1], mask (H,W) long | None, objects list[int] | None) -> (1+K, H, W)``
probabilities on the CPU, ``object_ids``, ``memory_bytes()`` (what the per-video state keeps),
``memory_frames()``, ``snapshot()`` / ``restore(state)`` and ``model`` (the network, for its size).

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


def build_peer(name: str, device: str = "cpu"):
    """The peer's engine, random weights, on ``device``; ImportError naming the package when not installed."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; registered: {', '.join(PEERS)}")
    reason = missing(name)
    if reason:
        raise ImportError(reason)
    peer = PEERS[name]
    return importlib.import_module(f"methods.peers.{peer.module}").build(peer.variant, device)
