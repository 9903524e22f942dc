"""Object "looks" (the categories): a colour pair, a texture pattern and a shape family.

Textures are drawn once per object instance as a square tile in object coordinates
(u, v in [-TILE_EXTENT, TILE_EXTENT]), so they move, turn and scale with the object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

TILE_SIZE = 48
TILE_EXTENT = 1.1   # tile covers u, v in [-1.1, 1.1]; every shape fits in the unit disc (+ margin)


@dataclass(frozen=True)
class Look:
    name: str
    colour: tuple[int, int, int]
    accent: tuple[int, int, int]
    pattern: str   # stripes | checker | dots | rings | zigzag | blotches
    shape: str     # ellipse | box | star | triangle | blob | cross


# The last entries are the held-out ("unseen") categories of a preset: new combinations of colours,
# patterns and shapes, as real unseen categories are new combinations of familiar parts.
LOOKS: tuple[Look, ...] = (
    Look("red-striped-ellipse", (215, 35, 35), (250, 235, 220), "stripes", "ellipse"),
    Look("yellow-checkered-box", (245, 205, 25), (35, 30, 25), "checker", "box"),
    Look("green-dotted-blob", (40, 175, 60), (215, 250, 160), "dots", "blob"),
    Look("blue-ringed-star", (35, 80, 225), (200, 225, 255), "rings", "star"),
    Look("magenta-zigzag-triangle", (210, 40, 200), (255, 210, 250), "zigzag", "triangle"),
    Look("orange-blotched-cross", (250, 130, 20), (95, 40, 5), "blotches", "cross"),
    Look("cyan-checkered-ellipse", (25, 200, 220), (10, 60, 85), "checker", "ellipse"),
    Look("purple-striped-blob", (125, 45, 195), (245, 220, 90), "stripes", "blob"),
    Look("white-dotted-box", (240, 240, 235), (200, 30, 40), "dots", "box"),
    Look("lime-ringed-triangle", (165, 230, 40), (40, 40, 160), "rings", "triangle"),
    Look("pink-blotched-star", (255, 140, 170), (70, 20, 45), "blotches", "star"),
    Look("black-zigzag-cross", (30, 30, 35), (245, 200, 0), "zigzag", "cross"),
)

# The unannotated occluder that sometimes passes in front of everything.
OCCLUDER = Look("occluder", (120, 100, 80), (80, 66, 52), "blotches", "box")


def split_looks(held_out: int) -> tuple[tuple[Look, ...], tuple[Look, ...]]:
    """(seen, unseen): unseen looks appear only in YouTube-VOS valid."""
    if not 0 <= held_out < len(LOOKS):
        raise ValueError(f"held_out_looks must lie in 0..{len(LOOKS) - 1}")
    return LOOKS[: len(LOOKS) - held_out], LOOKS[len(LOOKS) - held_out:]


def _grid() -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(TILE_SIZE) + 0.5) / TILE_SIZE * 2 * TILE_EXTENT - TILE_EXTENT
    v, u = np.meshgrid(axis, axis, indexing="ij")
    return u, v


def _pattern(rng: np.random.Generator, pattern: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Accent weight in [0, 1] per tile pixel; instance-specific orientation, frequency and phase."""
    angle = rng.uniform(0, np.pi)
    ur = u * np.cos(angle) + v * np.sin(angle)
    vr = -u * np.sin(angle) + v * np.cos(angle)
    freq = rng.uniform(1.6, 2.4)
    phase = rng.uniform(0, 2 * np.pi)
    if pattern == "stripes":
        return (np.sin(2 * np.pi * freq * ur + phase) > 0).astype(float)
    if pattern == "checker":
        return ((np.floor(freq * ur + phase) + np.floor(freq * vr + phase)) % 2).astype(float)
    if pattern == "dots":
        cell = 1.0 / freq
        du = (ur + phase) % cell - cell / 2
        dv = (vr + phase) % cell - cell / 2
        return (du**2 + dv**2 < (0.3 * cell) ** 2).astype(float)
    if pattern == "rings":
        return (np.sin(2 * np.pi * 1.3 * freq * np.hypot(u, v) + phase) > 0).astype(float)
    if pattern == "zigzag":
        tri = np.abs(((ur * freq * 2) % 2) - 1)
        return (np.sin(2 * np.pi * freq * (vr + 0.35 * tri) + phase) > 0).astype(float)
    if pattern == "blotches":
        noise = gaussian_filter(rng.standard_normal(u.shape), sigma=TILE_SIZE / 14, mode="wrap")
        return (noise > 0).astype(float)
    raise ValueError(f"unknown pattern {pattern!r}")


def texture_tile(rng: np.random.Generator, look: Look) -> np.ndarray:
    """float32 (TILE_SIZE, TILE_SIZE, 3) in [0, 255]: the look's pattern with mild shading and grain."""
    u, v = _grid()
    weight = _pattern(rng, look.pattern, u, v)[..., None]
    jitter = rng.uniform(-14, 14, size=(2, 3))
    colour = np.clip(np.asarray(look.colour) + jitter[0], 0, 255)
    accent = np.clip(np.asarray(look.accent) + jitter[1], 0, 255)
    tile = colour * (1 - weight) + accent * weight
    light = rng.uniform(0, 2 * np.pi)
    shading = 1.0 - 0.18 * (u**2 + v**2) + 0.08 * (u * np.cos(light) + v * np.sin(light))
    tile = tile * shading[..., None] + rng.normal(0, 4, size=tile.shape)
    return np.clip(tile, 0, 255).astype(np.float32)


def shape_inside(shape: str, u: np.ndarray, v: np.ndarray, wobble: float) -> np.ndarray:
    """bool mask of the shape in object coordinates (radius about 1); ``wobble`` animates star and blob."""
    if shape == "ellipse":
        return u**2 + v**2 <= 1.0
    if shape == "box":
        return u**4 + v**4 <= 0.85**4
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.38) & (av <= 0.95)) | ((au <= 0.95) & (av <= 0.38))
    rho = np.hypot(u, v)
    theta = np.arctan2(v, u)
    if shape == "star":
        return rho <= 0.68 + 0.28 * np.cos(5 * theta + 0.3 * np.sin(wobble))
    if shape == "blob":
        return rho <= 0.8 + 0.12 * np.sin(3 * theta + wobble) + 0.07 * np.sin(5 * theta - 1.7 * wobble)
    if shape == "triangle":
        inside = np.ones(u.shape, dtype=bool)
        for k in range(3):
            a = np.pi / 2 + 2 * np.pi * k / 3
            inside &= u * np.cos(a) + v * np.sin(a) <= 0.52
        return inside
    raise ValueError(f"unknown shape {shape!r}")


# Area of each shape in object units (radius 1), measured once on a fine grid; used to size objects.
def _unit_area(shape: str) -> float:
    axis = np.linspace(-1.1, 1.1, 441)
    v, u = np.meshgrid(axis, axis, indexing="ij")
    return float(shape_inside(shape, u, v, 0.0).mean() * 2.2**2)


UNIT_AREA = {shape: _unit_area(shape) for shape in ("ellipse", "box", "cross", "star", "blob", "triangle")}
