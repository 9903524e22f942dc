"""Figures of the report (matplotlib, Agg). Each function writes one PNG, with a PDF and an SVG of it
beside (report.style.FIGURE_FORMATS), and returns the PNG's path, or None when there is nothing to plot.
Paper values are always drawn grey / hollow and labelled
"reported"; ours in the variant's colour and labelled "measured"."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from pipelines.common.results_tables import OURS_SETTING  # noqa: E402
from pipelines.data.masks import DAVIS_PALETTE
from pipelines.experiment.defaults import MIB  # noqa: E402
from pipelines.experiment.peer_reports import reported_davis16  # noqa: E402
from report.results import (  # noqa: E402
    accuracy_value,
    reference_t,
    seconds_per_frame,
    stage_switch_losses,
)
from report.style import (  # noqa: E402
    ONLINE_COLOUR,
    REPORTED_COLOUR,
    STAGE_ORDER,
    STAGE_STYLES,
    TWO_COLUMN_IN,
    apply_paper_style,
    variant_colour,
    variant_order,
    vector_copies,
)
from report.tables import probe_runs

apply_paper_style()


PNG_DPI = 150  # a two-column figure is 1050 px: the page's width


def _figure(height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A figure two paper columns wide (report.style.TWO_COLUMN_IN) and ``height`` inches high; the
    constrained layout fits the titles, labels, legends and colour bars inside that size. Created at the
    PNG's resolution: the layout depends on it, so what is drawn here is what is saved."""
    return plt.subplots(nrows, ncols, figsize=(TWO_COLUMN_IN, height), layout="constrained", dpi=PNG_DPI, **kwargs)


def _save(fig, path: Path) -> Path:
    """PNG, PDF and SVG at the figure's own size (no "tight" crop: the width stays a column's), all three
    with the layout of one draw: constrained layout started again from a laid-out figure moves things
    (a second save cut Fig. 5's row labels at the canvas' edge), so the first layout is kept."""
    fig.canvas.draw()
    fig.set_layout_engine("none")
    return _write(fig, path)


def _write(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    for copy in vector_copies(path):
        fig.savefig(copy)
    plt.close(fig)
    return path


def _legend_outside(ax, **kwargs) -> None:
    """The legend to the right of the axes: it never covers a data point."""
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def _legend_below(fig, ax, ncols: int = 2) -> None:
    """The legend under the axes, inside the figure's width: long labels (the device names the measured
    series) would leave a legend at the side half the width for the data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncols=ncols, frameon=False)


def _t_axis(ax, ts) -> None:
    """A log t axis labelled at the t values measured, as plain integers (log tick labels such as
    3x10^0 run into each other on a short range)."""
    ax.set_xscale("log")
    ticks = sorted({int(t) for t in ts if t > 0})
    if ticks:
        ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


LABEL_OFFSETS_PT = [(dx * r, dy * r) for r in (1, 2, 3) for dx, dy in
                    ((4, 3), (4, -3), (-4, 3), (-4, -3), (0, 5), (0, -5), (6, 0), (-6, 0))]


def _label_points(ax, points: list[tuple[float, float, str, str]], fontsize: float = 7,
                  avoid: list[tuple[float, float]] = ()) -> None:
    """Name each (x, y, name, colour) point beside it where the name covers no other name, no marker
    (of the named points and of ``avoid``, markers left unnamed) and stays inside the axes: the first free
    place among rings of offsets around the point, else the least crowded one with a thin leader line.
    Names take no part in the layout, so placing them cannot move the axes they were placed in."""
    if not points:
        return
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    marker_px = fontsize * fig.dpi / 72
    taken = [Bbox.from_extents(px - marker_px, py - marker_px, px + marker_px, py + marker_px)
             for px, py in ax.transData.transform([(x, y) for x, y, _, _ in points] + list(avoid))]

    def crowding(box) -> float:
        outside = 0.0 if frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1) else 1e9
        return outside + sum(max(0.0, min(box.x1, t.x1) - max(box.x0, t.x0)) * max(0.0, min(box.y1, t.y1) - max(box.y0, t.y0))
                             for t in taken)

    for x, y, name, colour in sorted(points, key=lambda p: (p[0], p[1])):
        best = None
        for dx, dy in LABEL_OFFSETS_PT:
            label = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                                color=colour, ha="left" if dx > 0 else "right" if dx < 0 else "center",
                                va="bottom" if dy > 0 else "top" if dy < 0 else "center")
            label.set_in_layout(False)
            box = label.get_window_extent(renderer)
            cost = crowding(box)
            if best is not None and cost >= best[0]:
                label.remove()
                continue
            if best is not None:
                best[1].remove()
            best = (cost, label, box)
            if cost == 0:
                break
        _, label, box = best
        dx, dy = label.xyann
        if max(abs(dx), abs(dy)) > max(max(abs(a), abs(b)) for a, b in LABEL_OFFSETS_PT[:8]):
            # far from its point: a leader line says which point the name belongs to
            label.remove()
            ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color=colour,
                        ha=label.get_ha(), va=label.get_va(), annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5, "shrinkA": 0,
                                    "shrinkB": 2}).set_in_layout(False)
        taken.append(box)


def speed_accuracy(paper: dict, results: dict, out: Path, measured_label: str) -> Path | None:
    """Fig. 7: DAVIS-2016 J&F versus frames per second (log x); other methods timed by this harness (rows
    of another ``setting``) at their authors' reported J&F where known (pipelines.experiment.peer_reports),
    else on a speed-only strip below."""
    points, summary, speed = paper.get("fig7"), results.get("accuracy_summary"), results.get("speed")
    ours = []
    if summary is not None and speed is not None:
        t = reference_t(speed)
        for variant in sorted(set(speed["variant"])):
            jf = accuracy_value(summary, variant, "full", "davis2016", "J&F-Mean")
            spf = seconds_per_frame(speed, variant, t)
            if pd.notna(jf) and pd.notna(spf) and spf > 0:
                ours.append((variant, 1.0 / spf, jf))
    timed_peers = _timed_peers(speed)
    if points is None and not ours and not timed_peers:
        return None
    reported = reported_davis16()
    speed_only = [(name, fps) for name, fps in timed_peers if name not in reported]
    if speed_only:
        fig, (ax, strip) = _figure(4.6 + 0.18 * len(speed_only), nrows=2, sharex=True,
                                   gridspec_kw={"height_ratios": [4.0, 0.6 + 0.25 * len(speed_only)]})
    else:
        fig, ax = _figure(4.6)
    names = []
    if points is not None:
        for online, colour, marker, label in ((0, REPORTED_COLOUR, "o", "reported (derived from Table 5), offline"),
                                              (1, ONLINE_COLOUR, "s", "reported (derived from Table 5), online learning")):
            sel = points[points["uses_online_learning"] == online]
            ax.scatter(sel["fps_derived"], sel["JF_mean_davis16"], facecolors="none", edgecolors=colour,
                       marker=marker, s=40, linewidths=1.3, label=label)
            for _, row in sel.iterrows():
                name = row["method"] + (" (<)" if row.get("fps_derived_qualifier") == "<" else "")
                names.append((row["fps_derived"], row["JF_mean_davis16"], name, colour))
    for k, (variant, fps, jf) in enumerate(ours):
        ax.scatter([fps], [jf], marker="*", s=220 * max(0.4, 1 - 0.3 * k), color=variant_colour(variant), edgecolors="black",
                   linewidths=0.6, label=f"measured: {variant}", zorder=5)
    for name, fps in timed_peers:
        if name in reported:
            jf = reported[name]
            ax.scatter([fps], [jf], marker="P", s=70, color=variant_colour(name), edgecolors="black", linewidths=0.5,
                       zorder=4, label=f"{name}: measured speed, J&F reported by its authors")
            names.append((fps, jf, name, variant_colour(name)))
    ax.set_xscale("log")
    ax.set_ylabel("DAVIS-2016 val J&F (%)")
    ax.set_title(f"Speed versus accuracy (Fig. 7). Reported: real DAVIS-2016, paper's hardware;\nmeasured: {measured_label}",
                 fontsize=9)
    ax.margins(x=0.12, y=0.08)
    if speed_only:
        _speed_strip(strip, speed_only)
        strip.set_xlabel("frames per second (log)")
    else:
        ax.set_xlabel("frames per second (log)")
    _legend_below(fig, ax)
    _label_points(ax, names, avoid=[(fps, jf) for _, fps, jf in ours])
    return _save(fig, out / "fig7_speed_accuracy.png")


def _timed_peers(speed: pd.DataFrame | None) -> list[tuple[str, float]]:
    """(peer, measured frames per second at the reference t) for the other methods in speed.csv: the rows
    whose ``setting`` is not this suite's config."""
    t = reference_t(speed)
    if t is None or "setting" not in speed.columns:
        return []
    names = sorted(set(speed.loc[speed["setting"] != OURS_SETTING, "variant"]))
    timed = [(name, seconds_per_frame(speed, name, t)) for name in names]
    return [(name, 1.0 / spf) for name, spf in timed if pd.notna(spf) and spf > 0]


def _speed_strip(ax, speed_only: list[tuple[str, float]]) -> None:
    """One row per peer without a reported DAVIS-2016 J&F: its measured speed only (random weights here)."""
    ordered = sorted(speed_only, key=lambda item: item[1])
    for row, (name, fps) in enumerate(ordered):
        ax.scatter([fps], [row], marker="D", s=22, color=variant_colour(name), edgecolors="black", linewidths=0.4)
    low, high = (math.log10(limit) for limit in ax.get_xlim())
    for row, (name, fps) in enumerate(ordered):
        right_half = math.log10(fps) > (low + high) / 2  # the name on the side with room
        ax.annotate(name, (fps, row), xytext=(-5 if right_half else 5, 0), textcoords="offset points", fontsize=6.5,
                    va="center", ha="right" if right_half else "left", color="black").set_in_layout(False)
    ax.set_ylim(-0.8, len(ordered) - 0.2)
    ax.set_yticks([])
    ax.set_ylabel("speed\nonly", fontsize=7)
    ax.set_title("measured speed of methods with no reported DAVIS-2016 J&F (random weights: no accuracy)",
                 fontsize=7, loc="left")


def _nested(k: int) -> dict:
    """Line and marker sizes that shrink with the series' index, so a series drawn exactly on top of an
    earlier one (gvos_scm and no_scm share the GCM state) leaves the earlier one visible around it."""
    return {"markersize": max(3.0, 9.0 - 2.5 * k), "linewidth": max(1.0, 3.5 - 1.0 * k)}


PEER_MARKERS = ("s", "^", "v", "D", "P", "X", "<", ">", "h", "p")


def _series_style(k: int, peer_index: int | None) -> dict:
    """Line style of one measured series: ours solid, nested; another method (``peer_index``: its place
    among them) dashed, with a marker of its own, so that a colour the palette repeats still tells it apart."""
    if peer_index is not None:
        return {"linestyle": "--", "marker": PEER_MARKERS[peer_index % len(PEER_MARKERS)], "markersize": 4.5,
                "linewidth": 1.2}
    return {"marker": "o", **_nested(k)}


def memory_vs_t(paper: dict, results: dict, out: Path, measured_label: str) -> Path | None:
    """Memory versus t (log-log) in two parts: what the per-video state keeps, beside the paper's Table 3
    points; and, where measured, what one step needs on top of everything already resident."""
    memory, source = results.get("memory_vs_t"), paper.get("table3")
    if memory is None and source is None:
        return None
    step_need = (memory is not None and "step_memory_bytes" in memory.columns
                 and memory["step_memory_bytes"].notna().any())
    if step_need:
        fig, (ax, step_ax) = _figure(4.2, ncols=2)
    else:
        fig, ax = _figure(3.8)
    if memory is not None and "memory_bytes" in memory.columns:
        others = (sorted(set(memory.loc[memory["setting"] != OURS_SETTING, "variant"]))
                  if "setting" in memory.columns else [])
        for k, variant in enumerate(variant_order(memory["variant"])):
            rows = memory[memory["variant"] == variant]
            style = _series_style(k, others.index(variant) if variant in others else None)
            sel = rows.groupby("t")["memory_bytes"].median() / MIB
            ax.plot(sel.index, sel.values, color=variant_colour(variant), **style, label=f"measured: {variant}")
            if step_need:
                need = rows.groupby("t")["step_memory_bytes"].median() / MIB
                step_ax.plot(need.index, need.values, color=variant_colour(variant), **style)
    if source is not None:
        stm = source[(source["method"] == "STM") & (source["applies_to_any_t"] != 1)]
        ax.scatter(stm["t"].clip(lower=1), stm["megabytes"], marker="D", s=60, facecolors="none",
                   edgecolors=variant_colour("stm_read"), linewidths=1.5,
                   label="reported: STM (Table 3; t = 0 drawn at t = 1)")
        ours = source[source["applies_to_any_t"] == 1]
        for _, row in ours.iterrows():
            ax.axhline(row["megabytes"], color=variant_colour("gvos_scm"), linestyle="--", linewidth=1.2,
                       label="reported: Ours, any t (Table 3)")
    ts = list(memory["t"]) if memory is not None and "t" in memory.columns else []
    if source is not None:
        ts += list(source.loc[source["applies_to_any_t"] != 1, "t"].clip(lower=1))
    _t_axis(ax, ts)
    ax.set_yscale("log")
    ax.set_xlabel("t (frames absorbed by the memory, log)")
    ax.set_ylabel("memory state (MiB; paper: 'MB', log)")
    if step_need:
        _t_axis(step_ax, list(memory["t"]))
        step_ax.set_ylim(bottom=0)
        step_ax.set_xlabel("t (log)")
        step_ax.set_ylabel("one step's own peak (MiB)")
        step_ax.set_title("what a step needs on top of what is resident", fontsize=8)
        ax.set_title("what the per-video state keeps", fontsize=8)
        fig.suptitle(f"Memory versus t (Table 3); measured: {measured_label}", fontsize=9)
    else:
        ax.set_title(f"Memory versus t (Table 3); measured: {measured_label}", fontsize=9)
    _legend_below(fig, ax, ncols=3 if step_need else 2)
    return _save(fig, out / "memory_vs_t.png")


def time_vs_t(paper: dict, results: dict, out: Path, measured_label: str) -> Path | None:
    """Seconds per frame versus t (log-log), min-max over repeats as error bars; the paper's Table 2
    times (t not stated) as horizontal reference lines."""
    speed, source = results.get("speed"), paper.get("table2")
    if speed is None:
        return None
    fig, ax = _figure(3.8)
    for k, variant in enumerate(variant_order(speed["variant"])):
        sel = speed[speed["variant"] == variant].groupby("t").median(numeric_only=True).sort_index()
        low = sel["seconds_per_frame"] - sel.get("seconds_per_frame_min", sel["seconds_per_frame"])
        high = sel.get("seconds_per_frame_max", sel["seconds_per_frame"]) - sel["seconds_per_frame"]
        ax.errorbar(sel.index, sel["seconds_per_frame"], yerr=[low, high], marker="o", capsize=3, **_nested(k),
                    color=variant_colour(variant), label=f"measured: {variant}")
    if source is not None:
        for label, variant in (("Memory Read", "stm_read"), ("GCM", "gvos_scm")):
            rows = source[source["variant"] == label]
            if len(rows):
                ax.axhline(float(rows["seconds_per_frame"].iloc[0]), color=variant_colour(variant), linestyle=":",
                           label=f"reported: {label} (Table 2, paper's GPU, t not stated)")
    _t_axis(ax, speed["t"])
    ax.set_yscale("log")
    ax.set_xlabel("t (frames absorbed by the memory, log)")
    ax.set_ylabel("seconds per frame (log)")
    ax.set_title(f"Seconds per frame versus t; measured: {measured_label}", fontsize=9)
    _legend_below(fig, ax)
    return _save(fig, out / "time_vs_t.png")


SECTIONS = ("query_encoder", "readout", "decoder", "memorize")  # methods.inference.STEP_SECTIONS


def time_breakdown(results: dict, out: Path, measured_label: str) -> Path | None:
    """Stacked bars: seconds of each section of a step per variant and t (the benchmark's breakdown
    pass), each bar labelled with the step's GFLOPs; None when the run had no breakdown."""
    speed = results.get("speed")
    columns = [f"seconds_{name}" for name in SECTIONS]
    if speed is None or not set(columns) <= set(speed.columns):
        return None
    sel = speed.dropna(subset=columns).groupby(["variant", "t"]).median(numeric_only=True)
    if sel.empty:
        return None
    sel = sel.sort_index()
    labels = [f"{variant} t={t}" for variant, t in sel.index]
    fig, ax = _figure(0.3 * len(sel) + 1.4)
    left = pd.Series(0.0, index=sel.index)
    for name, colour in zip(SECTIONS, sns.color_palette("deep", len(SECTIONS)), strict=True):
        ax.barh(labels, sel[f"seconds_{name}"], left=left, color=colour, label=name)
        left = left + sel[f"seconds_{name}"]
    if "gflops_per_frame" in sel:
        for label, total, gflops in zip(labels, left, sel["gflops_per_frame"], strict=True):
            ax.annotate(f"{gflops:.1f} GFLOP", (total, label), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, float(left.max()) * 1.18)  # room for the GFLOP labels
    ax.set_title(f"Where a step's time goes\nmeasured: {measured_label}", fontsize=9)
    # the legend names the axis too: one block under the tick labels, where an axis label would collide with it
    ax.legend(fontsize=7, title="seconds per frame, by section of the step", title_fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.1), ncol=len(SECTIONS), frameon=False)
    return _save(fig, out / "time_breakdown.png")


def _seed_band_panels(table: pd.DataFrame, value: str, xlabel: str, ylabel: str, path: Path,
                      marker: str | None = None) -> Path:
    """One panel per stage, one curve per variant: mean of ``value`` over seeds per iteration, with the
    min-max band over seeds."""
    stages = [s for s in STAGE_ORDER if s in set(table["stage"])]
    stages += sorted(set(table["stage"]) - set(stages))
    fig, axes = _figure(2.6, 1, len(stages), squeeze=False, sharey=True)
    for ax, stage in zip(axes[0], stages, strict=True):
        sel = table[table["stage"] == stage]
        for variant in variant_order(sel["variant"]):
            curves = sel[sel["variant"] == variant].groupby("iteration")[value]
            mean = curves.mean()
            ax.plot(mean.index, mean.values, marker=marker, color=variant_colour(variant), label=f"measured: {variant}")
            ax.fill_between(mean.index, curves.min().values, curves.max().values, color=variant_colour(variant),
                            alpha=0.15, linewidth=0)
        ax.set_title(f"stage: {stage}", fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0][0].set_ylabel(ylabel)
    _legend_outside(axes[0][-1])
    return _save(fig, path)


def training_loss(results: dict, out: Path) -> Path | None:
    """Loss curves per variant (colour), one panel per stage: mean over seeds, band min-max over seeds."""
    losses = results.get("training_loss")
    if losses is None or not {"iteration", "loss", "variant", "stage"} <= set(losses.columns):
        return None
    return _seed_band_panels(losses, "loss", "iteration", "training loss\n(seed mean; band: min-max)",
                             out / "training_loss.png")


def validation_curve(results: dict, out: Path) -> Path | None:
    """Held-out J&F during the main stage (main_only and full), per variant: mean over seeds, band min-max."""
    checks = results.get("validation")
    if checks is None or not {"iteration", "J&F", "variant", "stage"} <= set(checks.columns):
        return None
    return _seed_band_panels(checks, "J&F", "main-stage iteration", "held-out J&F (%)", out / "validation.png",
                             marker="o")


def identity_diagnostics(results: dict, out: Path) -> Path | None:
    """When and how each main-stage run learns to tell objects apart: one column per variant/stage, one
    line per seed; rows: held-out J&F of the multi-object videos, the SCM gate inside (solid) and outside
    (dashed) the previous mask, and the gradient norm before clipping (training_loss.csv). None without
    the held-out split's columns (train.main.holdout_split)."""
    checks = results.get("validation")
    if checks is None or "J&F_multi" not in checks.columns or checks["J&F_multi"].isna().all():
        return None
    losses = results.get("training_loss")
    runs = [(v, s) for s in STAGE_ORDER for v in variant_order(checks["variant"])
            if ((checks["variant"] == v) & (checks["stage"] == s)).any()]
    rows = ["J&F_multi", "gate", "grad_norm"]
    fig, axes = _figure(5.2, len(rows), len(runs), squeeze=False, sharex="col", sharey="row")
    for col, (variant, stage) in enumerate(runs):
        sel = checks[(checks["variant"] == variant) & (checks["stage"] == stage)]
        colour = variant_colour(variant)
        for seed, curve in sel.groupby("seed"):
            alpha = 0.35 + 0.65 / (1 + int(seed))
            axes[0][col].plot(curve["iteration"], curve["J&F_multi"], marker="o", color=colour, alpha=alpha,
                              label=f"seed {seed}")
            if curve["gate_inside"].notna().any():
                axes[1][col].plot(curve["iteration"], curve["gate_inside"], color=colour, alpha=alpha)
                axes[1][col].plot(curve["iteration"], curve["gate_outside"], color=colour, alpha=alpha, linestyle="--")
        if losses is not None and "grad_norm" in losses.columns:
            mine = losses[(losses["variant"] == variant) & (losses["stage"] == stage)]
            for seed, curve in mine.groupby("seed"):
                axes[2][col].plot(curve["iteration"], curve["grad_norm"], color=colour, alpha=0.35 + 0.65 / (1 + int(seed)),
                                  linewidth=0.8)
        axes[0][col].set_title(f"{variant} / {stage}", fontsize=9)
        axes[0][col].legend(fontsize=6, frameon=False)
        axes[2][col].set_xlabel("main-stage iteration")
    axes[0][0].set_ylabel("held-out J&F (%)\nmulti-object videos")
    axes[1][0].set_ylabel("SCM gate\nin (solid) / out (dashed)")
    axes[2][0].set_ylabel("gradient norm\nbefore clipping")
    axes[1][0].set_ylim(0, 1)
    return _save(fig, out / "identity_diagnostics.png")


def stage_switch(results: dict, out: Path) -> Path | None:
    """The first logged iterations of the main stage: from scratch (main_only) against initialised from
    pretraining (full), gvos_scm, every seed: what the pretrained start does to the loss."""
    sel = stage_switch_losses(results.get("training_loss"))
    if sel is None:
        return None
    fig, ax = _figure(2.6)
    for stage, colour in (("main_only", "0.35"), ("full", variant_colour("gvos_scm"))):
        for index, (_, curve) in enumerate(sel[sel["stage"] == stage].groupby("seed")):
            ax.plot(curve["iteration"], curve["loss"], color=colour, linestyle=STAGE_STYLES[stage], alpha=0.8,
                    label=f"measured: {stage}" if index == 0 else None)
    ax.set_xlabel("main-stage iteration")
    ax.set_ylabel("training loss (each line a seed)")
    ax.set_title("gvos_scm: main stage from scratch (main_only) vs from pretraining (full)", fontsize=9)
    _legend_outside(ax)
    return _save(fig, out / "stage_switch.png")


def attribute_breakdown(results: dict, out: Path) -> Path | None:
    """J&F of each run on the DAVIS-2017 val videos with / without each attribute (synthetic data)."""
    table = results.get("per_attribute")
    if table is None or table.empty:
        return None
    sel = table[table["dataset"] == "davis2017"]
    sel = sel[sel["stage"].isin(["full", "none"])]
    if sel.empty:
        return None
    attributes = sorted(set(sel["attribute"]))
    variants = variant_order(sel["variant"])
    fig, axes = _figure(0.22 * len(attributes) * len(variants) + 1.2, 1, 2, sharey=True,
                        sharex=True)  # the panels are compared: one x scale
    for ax, has, title in ((axes[0], 1, "videos with the attribute"), (axes[1], 0, "videos without it")):
        part = sel[sel["has"] == has].set_index(["attribute", "variant"])["J&F-Mean"]
        height = 0.8 / len(variants)
        for k, variant in enumerate(variants):
            ys = [i + k * height for i in range(len(attributes))]
            values = [part.get((a, variant), float("nan")) for a in attributes]
            ax.barh(ys, values, height=height, color=variant_colour(variant), label=f"measured: {variant}")
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(attributes))], attributes)
        ax.set_title(title, fontsize=9)
    fig.supxlabel("DAVIS-2017 val J&F (%), mean over seeds", fontsize=9)  # one label: the panels share x
    axes[0].invert_yaxis()
    _legend_outside(axes[1])
    return _save(fig, out / "attributes.png")


def probe_effects(results: dict, out: Path) -> Path | None:
    """The change in J&F under each intervention, one marker per run (seed mean, bar: 95% paired interval;
    with one seed, no bar), every intervention on one shared x scale."""
    table = results.get("probes")
    if table is None or table.empty:
        return None
    names = list(dict.fromkeys(table["intervention"]))
    runs = probe_runs(table)
    fig, ax = _figure(0.09 * len(names) * len(runs) + 0.3 * len(names) + 0.8)
    height = 0.8 / len(runs)
    markers = {"full": "o", "main_only": "s", "pretrain_only": "^"}
    for k, (variant, stage) in enumerate(runs):
        run = table[(table["variant"] == variant) & (table["stage"] == stage)].drop_duplicates("intervention")
        run = run.set_index("intervention")
        ys = [i + k * height for i, name in enumerate(names) if name in run.index]
        rows = run.loc[[name for name in names if name in run.index]]
        errors = [(rows["mean_delta_J&F"] - rows["ci_low"]).fillna(0), (rows["ci_high"] - rows["mean_delta_J&F"]).fillna(0)]
        ax.errorbar(rows["mean_delta_J&F"], ys, xerr=errors, fmt=markers.get(stage, "D"), color=variant_colour(variant),
                    markersize=5, capsize=2, linewidth=1, label=f"measured: {variant} / {stage}")
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks([i + (len(runs) - 1) * height / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xlabel("change in DAVIS-2017 val J&F (points), intervention minus unmodified")
    _legend_outside(ax)
    return _save(fig, out / "probes.png")


def _overlay(image, labels, alpha: float = 0.55):
    """An RGB float image with the label map drawn over it in the DAVIS palette (0: no colour)."""
    import numpy as np


    palette = np.frombuffer(DAVIS_PALETTE, dtype=np.uint8).reshape(-1, 3) / 255.0
    rgb = image.astype(float) / 255.0
    if labels is None:
        return rgb
    coloured = labels > 0
    rgb[coloured] = (1 - alpha) * rgb[coloured] + alpha * palette[labels[coloured]]
    return rgb


def _panel(ax, picture, title: str = "", ylabel: str = "") -> None:
    """An image panel without ticks or grid (``picture`` None: the axes already show one)."""
    if picture is not None:
        ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=8)
    if ylabel:  # horizontal: a label longer than the panel is high would run into the next row's. A text
        # of the axes, not a y label: matplotlib draws a right-aligned y label left of where its extent
        # says, so the layout cut it at the canvas' edge
        ax.text(-0.04, 0.5, ylabel, fontsize=7, ha="right", va="center", transform=ax.transAxes)


def _run_title(run: str) -> str:
    """A column title in two lines, variant over stage, so neighbouring titles do not run together."""
    return run.replace("/", "\n", 1)


def segmentation_grid(qualitative: dict | None, figure: str, out: Path) -> Path | None:
    """Figs. 8-10: rows of val frames (the rule of pipelines.qualitative), the ground truth and each run's
    prediction overlaid in the DAVIS palette."""
    if qualitative is None:
        return None
    layout, arrays = qualitative["layout"], qualitative["arrays"]
    runs = layout["grid_runs"]
    rows = ([(f"worst of\n{run}:\n{video}", video) for run, video in layout["fig10"]] if figure == "fig10"
            else [(video, video) for video in layout[figure]])
    if not rows or not runs:
        return None
    height, width = arrays[f"image/{rows[0][1]}"].shape[:2]
    panel = (TWO_COLUMN_IN - 0.9) / (len(runs) + 1)  # 0.9 in: the row labels
    fig, axes = _figure(panel * height / width * len(rows) + 0.4, len(rows), len(runs) + 1, squeeze=False)
    for r, (label, video) in enumerate(rows):
        image = arrays[f"image/{video}"]
        _panel(axes[r, 0], _overlay(image, arrays.get(f"truth/{video}")), "ground truth" if r == 0 else "",
               f"{label}\nframe {layout['frames'][video]}")
        for c, run in enumerate(runs, start=1):
            _panel(axes[r, c], _overlay(image, arrays[f"prediction/{run}/{video}"]),
                   _run_title(run) if r == 0 else "")
    return _save(fig, out / f"{figure}_segmentations.png")


def scm_gates(qualitative: dict | None, out: Path) -> Path | None:
    """Fig. 5: for each chosen frame and object, the frame with the object's true mask, then per SCM run
    the gate (0 black .. 1 yellow) with the previous mask it read drawn as a white contour."""
    import numpy as np

    if qualitative is None or not qualitative["layout"]["fig5"]["runs"]:
        return None
    layout, arrays = qualitative["layout"], qualitative["arrays"]
    runs = layout["fig5"]["runs"]
    rows = [(video, k, obj) for video in layout["fig5"]["videos"]
            for k, obj in enumerate(layout.get("objects", {}).get(video, []))]
    if not rows:
        return None
    height, width = arrays[f"image/{rows[0][0]}"].shape[:2]
    panel = (TWO_COLUMN_IN - 1.6) / (len(runs) + 1)  # 1.6 in: the row labels and the colour bar
    fig, axes = _figure(panel * height / width * len(rows) + 0.4, len(rows), len(runs) + 1, squeeze=False)
    shown = None
    for r, (video, k, obj) in enumerate(rows):
        truth = arrays.get(f"truth/{video}")
        labels = None if truth is None else np.where(truth == obj, truth, 0)
        _panel(axes[r, 0], _overlay(arrays[f"image/{video}"], labels), "frame,\nobject's mask" if r == 0 else "",
               f"{video}\nframe {layout['frames'][video]}\nobject {obj}")
        for c, run in enumerate(runs, start=1):
            gate = arrays[f"gate/{run}/{video}"][k].astype(float)
            previous = arrays[f"previous/{run}/{video}"][k].astype(float)
            ax = axes[r, c]
            shown = ax.imshow(gate, vmin=0, vmax=1, cmap="cividis", interpolation="nearest")
            if previous.max() > 0.5:
                ax.contour(previous, levels=[0.5], colors="white", linewidths=0.8)
            _panel(ax, None, _run_title(run) if r == 0 else "")
    fig.colorbar(shown, ax=axes, shrink=0.6, label="SCM gate")
    return _save(fig, out / "fig5_scm_gates.png")


def placeholder(path: Path, reason: str) -> Path:
    """A small figure saying why there is no figure (Snakemake's report expects every declared file)."""
    fig, ax = _figure(0.8)
    ax.axis("off")
    ax.text(0.5, 0.5, f"Not available: {reason}", ha="center", va="center", fontsize=10, color="#a33")
    return _save(fig, path)
