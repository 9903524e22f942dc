"""Text that a reader cannot read in a rendered figure: a text artist overlapping another, or reaching
past the canvas. matplotlib gives every artist's extent once the figure is drawn; tick labels count only
where their tick is inside the axis' view (matplotlib keeps labels for ticks it does not draw)."""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text

OVERLAP_PX2 = 4.0  # anti-aliased edges of neighbours may touch; a shared area above this is a collision
CANVAS_SLACK_PX = 1.0


def _tick_labels(fig: Figure) -> tuple[list[Text], set[int]]:
    """(the tick labels drawn, the ids of every tick label)"""
    drawn, every = [], set()
    for axis in fig.findobj(Axis):
        low, high = sorted(axis.get_view_interval())
        span = (high - low) or 1.0
        for tick in axis.get_major_ticks() + axis.get_minor_ticks():
            labels = (tick.label1, tick.label2)
            every.update(id(label) for label in labels)
            if not low - 1e-9 * span <= tick.get_loc() <= high + 1e-9 * span:
                continue
            drawn += [label for label in labels if label.get_visible()]
    return drawn, every


def _visible_texts(fig: Figure) -> list[Text]:
    drawn_ticks, tick_ids = _tick_labels(fig)
    others = [t for t in fig.findobj(Text) if id(t) not in tick_ids and t.get_visible()]
    return [t for t in others + drawn_ticks if t.get_text().strip()]


def text_problems(fig: Figure) -> list[str]:
    """One line per text that leaves the canvas and per pair of texts that overlap, where a PNG saved
    now draws them (the extents are read after a save)."""
    fig.savefig(io.BytesIO(), format="png")
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    boxes = []
    for text in _visible_texts(fig):
        box = Text.get_window_extent(text, renderer)  # an annotation's own extent would include its leader line
        if box.width > 0 and box.height > 0:
            boxes.append((text.get_text().strip().replace("\n", " ")[:40], box))
    problems = []
    for label, box in boxes:
        if (box.x0 < page.x0 - CANVAS_SLACK_PX or box.y0 < page.y0 - CANVAS_SLACK_PX
                or box.x1 > page.x1 + CANVAS_SLACK_PX or box.y1 > page.y1 + CANVAS_SLACK_PX):
            problems.append(f"{label!r} leaves the canvas")
    for i, (label_a, a) in enumerate(boxes):
        for label_b, b in boxes[i + 1:]:
            shared = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
            if shared > OVERLAP_PX2:
                problems.append(f"{label_a!r} overlaps {label_b!r}")
    return problems


@contextmanager
def checking_figures(monkeypatch):
    """Within it, every figure report.figures writes is checked first, laid out as it is written;
    yields {png name: problems}."""
    import report.figures as figures

    found: dict[str, list[str]] = {}
    write = figures._write

    def checked_write(fig, path: Path) -> Path:
        found[Path(path).name] = text_problems(fig)
        return write(fig, path)

    monkeypatch.setattr(figures, "_write", checked_write)
    yield found
