"""The paper's speed and memory targets, computed from the rows of one run and printed (never asserted).

* Table 2 / Fig. 7: gvos_scm s/frame at the largest t within 10% of t=10, memory bytes identical;
  stm_read (mem_every=1) at t=100 about 3x slower per frame than gvos_scm at t=100.
* Table 3: STM memory at t = 1 / 10 / 100 (the paper's "MB" match MiB: one 480x854 frame,
  padded to 480x864, is 30 x 54 = 1620 positions x (128 + 512) channels x 4 bytes = 3.955 MiB).
"""

from __future__ import annotations

from methods.inference import STEP_SECTIONS
from pipelines.experiment import paper
from pipelines.experiment.defaults import MIB

PAPER_SIZE = (480, 854)
"""DAVIS 480p frames: the size of the paper's timings (Fig. 7 caption) and of Table 3."""


def _row(rows: list[dict], variant: str, t: int) -> dict | None:
    return next((r for r in rows if r["variant"] == variant and r["t"] == t), None)


def _has(row: dict, column: str) -> bool:
    value = row.get(column)
    return value is not None and value == value  # None or NaN: the breakdown was not measured


def _readout_share(row: dict) -> float:
    sections = sum(row[f"seconds_{name}"] for name in STEP_SECTIONS)
    return row["seconds_readout"] / sections if sections > 0 else float("nan")


def target_lines(rows: list[dict]) -> list[str]:
    """Human-readable check lines; 'n/a' where the run lacks the variant or t a check needs."""
    lines = []
    gcm_t = sorted(r["t"] for r in rows if r["variant"] == "gvos_scm")
    at10, atmax = _row(rows, "gvos_scm", 10), _row(rows, "gvos_scm", gcm_t[-1]) if gcm_t else None
    if at10 and atmax and atmax["t"] > 10:
        change = atmax["seconds_per_frame"] / at10["seconds_per_frame"] - 1
        same = atmax["memory_bytes"] == at10["memory_bytes"]
        lines.append(
            f"gvos_scm t={atmax['t']} vs t=10: s/frame {atmax['seconds_per_frame']:.4f} vs "
            f"{at10['seconds_per_frame']:.4f} ({change:+.1%}; target within 10%: "
            f"{'yes' if abs(change) <= 0.10 else 'NO'}); memory bytes {atmax['memory_bytes']} vs "
            f"{at10['memory_bytes']} ({'identical' if same else 'DIFFERENT'})"
            + (f"; GFLOPs {atmax['gflops_per_frame']:.3f} vs {at10['gflops_per_frame']:.3f} "
               f"({'identical' if atmax['gflops_per_frame'] == at10['gflops_per_frame'] else 'DIFFERENT'})"
               if _has(atmax, "gflops_per_frame") and _has(at10, "gflops_per_frame") else "")
        )
    else:
        lines.append("gvos_scm flat in t: n/a (needs gvos_scm at t=10 and a larger t)")
    stm, gcm = _row(rows, "stm_read", 100), _row(rows, "gvos_scm", 100)
    if stm and gcm:
        ratio = stm["seconds_per_frame"] / gcm["seconds_per_frame"]
        lines.append(
            f"stm_read / gvos_scm s/frame at t=100: {stm['seconds_per_frame']:.4f} / "
            f"{gcm['seconds_per_frame']:.4f} = {ratio:.2f}x (paper: {paper.gcm_speedup():.0f}x; "
            f"at least {paper.gcm_speedup():g}x: {'yes' if ratio >= paper.gcm_speedup() else 'NO'})"
        )
    else:
        lines.append("stm_read vs gvos_scm speed at t=100: n/a (needs both at t=100)")
    if stm and gcm and _has(stm, "gflops_per_frame") and _has(gcm, "gflops_per_frame"):
        lines.append(
            f"stm_read / gvos_scm GFLOPs per frame at t=100: {stm['gflops_per_frame']:.1f} / "
            f"{gcm['gflops_per_frame']:.1f} = {stm['gflops_per_frame'] / gcm['gflops_per_frame']:.2f}x "
            f"(same on every machine; readout {stm['gflops_readout']:.1f} vs {gcm['gflops_readout']:.3f})"
        )
        lines.append(
            f"readout share of the sectioned step at t=100: stm_read {_readout_share(stm):.0%}, "
            f"gvos_scm {_readout_share(gcm):.0%} (readout {stm['seconds_readout']:.4f} vs "
            f"{gcm['seconds_readout']:.4f} s)"
        )
    gcm_rows = [r for r in rows if r["variant"] == "gvos_scm"]
    if gcm_rows:
        mib = gcm_rows[-1]["memory_bytes"] / MIB
        lines.append(f"gvos_scm memory at any t: {mib:.3f} MiB vs paper about {paper.gcm_memory_mib():g} MB")
    sizes = {(r["height"], r["width"]) for r in rows if "height" in r}
    objects = {r["objects"] for r in rows if "objects" in r}
    if (sizes and sizes != {PAPER_SIZE}) or (objects and objects != {1}):
        lines.append("note: Table 3 numbers are for 480x854 (C_N=128, C_M=512, stride 16, 1 object); "
                     "this run's memory differs by design")
    for t, paper_mib in paper.stm_memory_mib().items():
        row = _row(rows, "stm_read", t)
        if row is None:
            lines.append(f"stm_read memory at t={t}: n/a (paper {paper_mib:g} MB)")
            continue
        mib = row["memory_bytes"] / MIB
        diff = mib / paper_mib - 1
        lines.append(
            f"stm_read memory at t={t}: {mib:.2f} MiB vs paper {paper_mib:g} MB ({diff:+.1%}; "
            f"within 3%: {'yes' if abs(diff) <= 0.03 else 'NO'})"
        )
    return lines


def _optional(row: dict, column: str, width: int, digits: int) -> str:
    return f"{row[column]:>{width}.{digits}f}" if _has(row, column) else f"{'-':>{width}}"


def results_table(rows: list[dict]) -> str:
    """Fixed-width table: variant, t, s/frame (median, min-max), FPS, memory state MiB, peak MiB, and
    from the breakdown the readout's seconds and the GFLOPs of the step and of its readout."""
    width = max([18, *(len(str(r["variant"])) + 2 for r in rows)])
    header = (f"{'variant':<{width}}{'t':>6}{'s/frame':>10}{'min':>9}{'max':>9}{'fps':>8}{'mem MiB':>10}"
              f"{'peak MiB':>10}{'read s':>9}{'GFLOP':>9}{'read GFLOP':>11}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['variant']:<{width}}{r['t']:>6}{r['seconds_per_frame']:>10.4f}{r['seconds_per_frame_min']:>9.4f}"
            f"{r['seconds_per_frame_max']:>9.4f}{r['fps']:>8.2f}{r['memory_bytes'] / MIB:>10.2f}"
            f"{r['peak_memory_bytes'] / MIB:>10.1f}{_optional(r, 'seconds_readout', 9, 4)}"
            f"{_optional(r, 'gflops_per_frame', 9, 1)}{_optional(r, 'gflops_readout', 11, 2)}"
        )
    return "\n".join(lines)
