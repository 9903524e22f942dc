"""Moving textured objects composited over a panning textured background.

An object is a shape in its own coordinates (u, v; radius about 1) mapped into the frame by a
per-frame centre, scale, aspect ratio and rotation; its texture tile moves with it. Objects are drawn
back to front, so nearer objects occlude farther ones and the label map holds only visible pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipelines.data.synthetic.backgrounds import background_canvas
from pipelines.data.synthetic.looks import (
    OCCLUDER,
    TILE_EXTENT,
    TILE_SIZE,
    UNIT_AREA,
    Look,
    shape_inside,
    texture_tile,
)
from pipelines.data.synthetic.presets import Preset

MIN_VISIBLE_FRACTION_OF_FRAME = 0.02
MAX_ATTEMPTS = 200
ATTRIBUTES = {
    "distractor": "two or more annotated objects share one look (the case the SCM is for)",
    "occlusion": "an annotated object is mostly hidden (under half its area) while inside the frame",
    "leaves_and_returns": "an annotated object leaves the frame (or is fully hidden) and comes back",
    "fast_motion": "an annotated object moves fast (the preset's fast speed range)",
    "scale_change": "an annotated object's scale changes by more than 1.5x over the video",
    "appears_mid_video": "an object is first given after frame 0 (YouTube-VOS)",
}
"""Per-sequence attributes written beside the synthetic data (attributes.csv): where each ablation should show."""


@dataclass
class Track:
    """One object over T frames. centre (T, 2) as (x, y) pixels; scale, aspect, angle, wobble (T,)."""

    look: Look
    annotated: bool
    tile: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    wobble: np.ndarray
    start: int = 0
    fast: bool = False

    def potential_area(self, t: int) -> float:
        """Area in pixels the object would cover at frame t if fully in view and unoccluded."""
        return UNIT_AREA[self.look.shape] * float(self.scale[t]) ** 2


@dataclass
class Footprint:
    """Where an object lands in one frame: the box [y0:y1, x0:x1], a bool (h, w) mask, tile indices."""

    y0: int
    y1: int
    x0: int
    x1: int
    inside: np.ndarray
    tile_rows: np.ndarray
    tile_cols: np.ndarray


@dataclass
class RenderedVideo:
    """images uint8 (T, H, W, 3); labels uint8 (T, H, W) with object ids; id -> look; id -> first frame;
    attribute name (``ATTRIBUTES``) -> whether the video has it; id -> (first absent frame, frames absent)
    of the object that leaves and comes back on purpose (``Absence``), if any."""

    images: np.ndarray
    labels: np.ndarray
    looks: dict[int, Look]
    first_frame: dict[int, int]
    attributes: dict[str, bool]
    absences: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Absence:
    """Object ``index`` (in the looks' order) leaves the view and is out of it, label map empty, for frames
    ``start .. start + length - 1``; every other object stays in view (no random exits)."""

    index: int
    start: int
    length: int


EDGE_RAMP = 3
"""Frames an absent object takes to slide from its path to the edge, and back from the edge to its path."""


def _nearest_edge(point: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(the point's projection on the nearest frame edge, that edge's outward normal)."""
    x, y = float(point[0]), float(point[1])
    distances = (x, width - x, y, height - y)
    side = int(np.argmin(distances))
    x, y = min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))
    edges = (((0.0, y), (-1.0, 0.0)), ((float(width), y), (1.0, 0.0)), ((x, 0.0), (0.0, -1.0)),
             ((x, float(height)), (0.0, 1.0)))
    edge, normal = edges[side]
    return np.array(edge), np.array(normal)


def _project(point: np.ndarray, normal: np.ndarray, width: int, height: int) -> np.ndarray:
    """The point moved onto the edge whose outward normal is ``normal``."""
    x, y = min(max(float(point[0]), 0.0), float(width)), min(max(float(point[1]), 0.0), float(height))
    if normal[0]:
        return np.array([0.0 if normal[0] < 0 else float(width), y])
    return np.array([x, 0.0 if normal[1] < 0 else float(height)])


def leave_and_return(centre: np.ndarray, absence: Absence, width: int, height: int) -> np.ndarray:
    """The path ``centre`` (T, 2) changed so the object slides to the nearest edge (its centre on the edge,
    about half in view, in frame start - 1), waits far outside for ``length`` frames, and slides back in
    through the same edge (centre on the edge at the return) to rejoin its path ``EDGE_RAMP - 1`` frames later."""
    centre = centre.copy()
    frames, start, stop = len(centre), absence.start, absence.start + absence.length
    leave_from = max(start - EDGE_RAMP, 0)
    exit_point, normal = _nearest_edge(centre[leave_from], width, height)
    for t in range(leave_from + 1, start):
        share = (t - leave_from) / (start - 1 - leave_from)
        centre[t] = (1 - share) * centre[leave_from] + share * exit_point
    centre[start:stop] = exit_point + normal * (width + height)
    rejoin = min(stop + EDGE_RAMP - 1, frames - 1)
    entry_point = _project(centre[rejoin], normal, width, height)
    for t in range(stop, rejoin):
        share = (t - stop) / (rejoin - stop)
        centre[t] = (1 - share) * entry_point + share * centre[rejoin]
    return centre


def video_attributes(tracks: list[Track], ids: list[int], first: dict[int, int], labels: np.ndarray,
                     height: int, width: int) -> dict[str, bool]:
    """The ``ATTRIBUTES`` of a rendered video, from its tracks (k -> id ``ids[k]``) and label maps."""
    annotated = [k for k in first]
    looks = [tracks[k].look.name for k in annotated]
    occluded = leaves = False
    for k in annotated:
        track, obj = tracks[k], ids[k]
        area = (labels[first[k]:] == obj).sum(axis=(1, 2))
        present = area > 0
        gone = np.flatnonzero(~present)
        leaves |= bool(gone.size and present[gone[0]:].any())
        for t in range(first[k], len(labels)):
            x, y = track.centre[t]
            inside = 0 <= x < width and 0 <= y < height
            occluded |= bool(inside and area[t - first[k]] < 0.5 * min(track.potential_area(t), height * width))
    scales = [tracks[k].scale[first[k]:] for k in annotated]
    return {
        "distractor": len(set(looks)) < len(looks),
        "occlusion": occluded,
        "leaves_and_returns": leaves,
        "fast_motion": any(tracks[k].fast for k in annotated),
        "scale_change": any(s.max() / s.min() > 1.5 for s in scales),
        "appears_mid_video": any(f > 0 for f in first.values()),
    }


def footprint(track: Track, t: int, height: int, width: int) -> Footprint | None:
    cx, cy = track.centre[t]
    sx = track.scale[t] * math.exp(track.aspect[t])
    sy = track.scale[t] * math.exp(-track.aspect[t])
    extent = TILE_EXTENT * max(sx, sy)
    x0, x1 = max(0, math.floor(cx - extent)), min(width, math.ceil(cx + extent) + 1)
    y0, y1 = max(0, math.floor(cy - extent)), min(height, math.ceil(cy + extent) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    dx = (np.arange(x0, x1) + 0.5 - cx)[None, :]
    dy = (np.arange(y0, y1) + 0.5 - cy)[:, None]
    c, s = math.cos(track.angle[t]), math.sin(track.angle[t])
    u = (c * dx + s * dy) / sx
    v = (-s * dx + c * dy) / sy
    inside = shape_inside(track.look.shape, u, v, float(track.wobble[t]))
    if not inside.any():
        return None
    to_index = TILE_SIZE / (2 * TILE_EXTENT)
    cols = np.clip(((u + TILE_EXTENT) * to_index).astype(np.int64), 0, TILE_SIZE - 1)
    rows = np.clip(((v + TILE_EXTENT) * to_index).astype(np.int64), 0, TILE_SIZE - 1)
    return Footprint(y0, y1, x0, x1, inside, rows, cols)


def _path(rng: np.random.Generator, frames: int, start: int, position: np.ndarray, heading: float,
          speed: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smoothly turning motion from frame ``start``, turned back when it moves past [lo, hi]: (T, 2)."""
    centre = np.repeat(position[None, :].astype(float), frames, axis=0)
    p = position.astype(float).copy()
    turn = 0.0
    pulse_phase, pulse_freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.3)
    for t in range(start, frames):
        centre[t] = p
        turn = 0.75 * turn + rng.normal(0, 0.1)
        heading += turn
        step = speed * (1 + 0.3 * math.sin(pulse_freq * t + pulse_phase))
        velocity = step * np.array([math.cos(heading), math.sin(heading)])
        p = p + velocity
        if (p[0] < lo[0] and velocity[0] < 0) or (p[0] > hi[0] and velocity[0] > 0):
            heading = math.pi - heading
        if (p[1] < lo[1] and velocity[1] < 0) or (p[1] > hi[1] and velocity[1] > 0):
            heading = -heading
    return centre


def _smooth_curve(rng: np.random.Generator, frames: int, base: float, drift: float, wave: float) -> np.ndarray:
    """base + linear drift over the video + a slow sinusoid: (T,)."""
    t = np.arange(frames)
    phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.12, 0.4)
    return base + drift * (t / max(frames - 1, 1) - 0.5) + wave * np.sin(freq * t + phase)


def object_track(rng: np.random.Generator, preset: Preset, look: Look, frames: int, radius: float,
                 start: int = 0, enters: bool = False, may_exit: bool = True) -> Track:
    """A moving, turning, scaling, deforming object; ``enters`` starts it just outside an edge at ``start``;
    without ``may_exit`` it never wanders out of the frame."""
    height, width = preset.height, preset.width
    fast = rng.random() < preset.fast_fraction
    speed = width * rng.uniform(*(preset.fast_speed if fast else preset.speed))
    exits = rng.random() < preset.exit_fraction and may_exit
    if exits:
        lo, hi = np.array([-1.3 * radius] * 2), np.array([width + 1.3 * radius, height + 1.3 * radius])
    else:
        lo, hi = np.array([0.25 * radius] * 2), np.array([width - 0.25 * radius, height - 0.25 * radius])
    if enters:
        edge = rng.integers(4)
        along = rng.uniform(0.25, 0.75)
        position = [np.array([-0.5 * radius, along * height]), np.array([width + 0.5 * radius, along * height]),
                    np.array([along * width, -0.5 * radius]), np.array([along * width, height + 0.5 * radius])][edge]
        heading = (0.0, math.pi, math.pi / 2, -math.pi / 2)[edge] + rng.uniform(-0.5, 0.5)
    else:
        margin = np.minimum(0.6 * radius, np.array([width, height]) / 2)
        position = rng.uniform(margin, np.array([width, height]) - margin)
        heading = rng.uniform(0, 2 * np.pi)
    centre = _path(rng, frames, start, position, heading, speed, lo, hi)
    log_scale = _smooth_curve(rng, frames, 0.0, rng.uniform(-0.6, 0.6), rng.uniform(0.0, 0.15))
    aspect = _smooth_curve(rng, frames, rng.uniform(-0.25, 0.25), 0.0, rng.uniform(0.0, 0.25))
    spin = rng.uniform(-0.08, 0.08) if rng.random() < 0.6 else 0.0
    angle = rng.uniform(0, 2 * np.pi) + spin * np.arange(frames)
    wobble = rng.uniform(0, 2 * np.pi) + rng.uniform(0.1, 0.35) * np.arange(frames)
    return Track(look, True, texture_tile(rng, look), centre, radius * np.exp(log_scale), aspect, angle, wobble,
                 start, fast)


def occluder_track(rng: np.random.Generator, preset: Preset, frames: int) -> Track:
    """An unannotated upright pole crossing the frame in front of everything."""
    height, width = preset.height, preset.width
    scale = height / (2 * 0.85 * math.e) * 1.15
    direction = 1 if rng.random() < 0.5 else -1
    x = rng.uniform(0.1, 0.9) * width
    speed = width * rng.uniform(0.008, 0.02) * direction
    centre = np.stack([x + speed * np.arange(frames), np.full(frames, height / 2)], axis=1)
    return Track(OCCLUDER, False, texture_tile(rng, OCCLUDER), centre, np.full(frames, scale),
                 np.full(frames, -1.0), np.full(frames, rng.uniform(-0.2, 0.2)), np.zeros(frames))


def object_radii(rng: np.random.Generator, preset: Preset, looks: list[Look]) -> list[float]:
    """Radius in pixels per object: each covers a random share of the frame, capped in total."""
    shares = rng.uniform(*preset.object_area, size=len(looks))
    if shares.sum() > preset.max_total_area:
        shares *= preset.max_total_area / shares.sum()
    frame_area = preset.height * preset.width
    return [math.sqrt(share * frame_area / UNIT_AREA[look.shape]) for share, look in zip(shares, looks, strict=True)]


def compose_labels(footprints: list[list[Footprint | None]], ids: list[int], starts: list[int],
                   height: int, width: int) -> np.ndarray:
    """uint8 (T, H, W): tracks painted in list order (back to front) from their start frame."""
    labels = np.zeros((len(footprints), height, width), dtype=np.uint8)
    for t, frame in enumerate(footprints):
        for k, fp in enumerate(frame):
            if fp is not None and t >= starts[k]:
                labels[t, fp.y0 : fp.y1, fp.x0 : fp.x1][fp.inside] = ids[k]
    return labels


def compose_images(rng: np.random.Generator, preset: Preset, photos: list[np.ndarray], tracks: list[Track],
                   footprints: list[list[Footprint | None]], starts: list[int]) -> np.ndarray:
    """uint8 (T, H, W, 3): a slowly panning background with the tracks painted back to front."""
    frames, height, width = len(footprints), preset.height, preset.width
    pan_speed = rng.uniform(-1.0, 1.0, size=2) * (preset.width / 160)
    pad = np.ceil(np.abs(pan_speed) * frames).astype(int) + 1
    canvas = background_canvas(rng, photos, height + 2 * pad[1], width + 2 * pad[0])
    origin = pad - pan_speed * (frames - 1) / 2
    flicker = 1 + 0.04 * np.sin(rng.uniform(0.1, 0.5) * np.arange(frames) + rng.uniform(0, 2 * np.pi))
    images = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        ox, oy = np.round(origin + pan_speed * t).astype(int)
        frame = canvas[oy : oy + height, ox : ox + width].copy()
        for k, fp in enumerate(footprints[t]):
            if fp is None or t < starts[k]:
                continue
            region = frame[fp.y0 : fp.y1, fp.x0 : fp.x1]
            region[fp.inside] = tracks[k].tile[fp.tile_rows[fp.inside], fp.tile_cols[fp.inside]]
        frame *= flicker[t]
        frame += rng.standard_normal(size=frame.shape, dtype=np.float32) * 2.5
        np.clip(frame, 0, 255, out=frame)
        images[t] = frame
    return images


def _visible_enough(area: float, track: Track, t: int, share: float, frame_area: int) -> bool:
    return area >= max(MIN_VISIBLE_FRACTION_OF_FRAME * frame_area, share * track.potential_area(t))


def absence_run(present: np.ndarray) -> tuple[int, int] | None:
    """(first absent frame, frames absent) of the single absence of an object seen in frame 0 and in the
    last frame; None if it never leaves, leaves twice or is not back."""
    gone = np.flatnonzero(~present)
    if not present[0] or not present[-1] or gone.size == 0 or gone[-1] - gone[0] + 1 != gone.size:
        return None
    return int(gone[0]), int(gone.size)


def render_video(rng: np.random.Generator, preset: Preset, photos: list[np.ndarray], looks: list[Look],
                 frames: int, allow_late: bool, absence: Absence | None = None) -> RenderedVideo:
    """A video whose first object (and, without ``allow_late``, every object) is well visible in frame 0.

    With ``allow_late``, objects after the first may enter mid-video; an object's id order follows
    its first appearance, and it is drawn only from the frame where it is first well visible. With
    ``absence``, that object leaves and comes back (``leave_and_return``) and is gone from the label maps
    for exactly the frames it says (a placement that hides it longer, behind another object, is redrawn).
    """
    height, width = preset.height, preset.width
    frame_area = height * width
    for _ in range(MAX_ATTEMPTS):
        radii = object_radii(rng, preset, looks)
        tracks = []
        for i, (look, radius) in enumerate(zip(looks, radii, strict=True)):
            late = allow_late and i > 0 and rng.random() < preset.late_fraction
            start = int(rng.integers(2, max(3, frames // 2 + 1))) if late and frames > 3 else 0
            tracks.append(object_track(rng, preset, look, frames, radius, start=start, enters=start > 0,
                                       may_exit=absence is None))
        if absence is not None:
            tracks[absence.index].centre = leave_and_return(tracks[absence.index].centre, absence, width, height)
        order = list(rng.permutation(len(tracks)))
        if rng.random() < preset.occluder_fraction:
            tracks.append(occluder_track(rng, preset, frames))
            order.append(len(tracks) - 1)
        tracks = [tracks[k] for k in order]  # back to front
        footprints = [[footprint(tr, t, height, width) for tr in tracks] for t in range(frames)]
        starts = [tr.start for tr in tracks]
        labels = compose_labels(footprints, list(range(1, len(tracks) + 1)), starts, height, width)
        areas = np.stack([(labels == k + 1).sum(axis=(1, 2)) for k in range(len(tracks))], axis=1)
        first = {}
        for k, tr in enumerate(tracks):
            if not tr.annotated:
                continue
            share = 0.4 if tr.start == 0 else 0.25
            seen = [t for t in range(tr.start, frames) if _visible_enough(areas[t, k], tr, t, share, frame_area)]
            if seen and (tr.start > 0 or seen[0] == 0):
                first[k] = seen[0]
        if absence is not None:
            k = order.index(absence.index)
            if absence_run(areas[:, k] > 0) != (absence.start, absence.length):
                continue
        if len(first) == len(looks) and min(first.values()) == 0:
            break
    else:
        raise RuntimeError("could not place the objects visibly; make them smaller or fewer")
    starts = [first.get(k, 0) for k in range(len(tracks))]
    by_appearance = sorted(first, key=lambda k: (first[k], order[k]))
    ids = [0] * len(tracks)
    for new_id, k in enumerate(by_appearance, start=1):
        ids[k] = new_id
    labels = compose_labels(footprints, ids, starts, height, width)
    images = compose_images(rng, preset, photos, tracks, footprints, starts)
    absences = {ids[order.index(absence.index)]: (absence.start, absence.length)} if absence is not None else {}
    return RenderedVideo(images, labels, {ids[k]: tracks[k].look for k in first},
                         {ids[k]: first[k] for k in first},
                         video_attributes(tracks, ids, first, labels, height, width), absences)
