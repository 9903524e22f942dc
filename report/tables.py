"""The paper's Tables 1-6 regenerated, the claims table and the run's own tables. Every cell we reproduce
shows the paper's value (reported) beside ours (measured); a measured accuracy is the mean over seeds with
its standard deviation over seeds ("47.9 ± 2.1"). Each builder returns a DataFrame, or None when neither
side has data. Numbers are formatted by report.build (``format_value``) from the column names."""

from __future__ import annotations

import math

import pandas as pd

from pipelines.common.results_tables import is_flagged, is_successive
from pipelines.experiment.defaults import MIB
from report.results import accuracy_spread, accuracy_value, reference_t, seconds_per_frame
from report.style import STAGE_ORDER, variant_order

# paper row label -> (our variant, our stage)
TABLE1_ROWS = {"Pre-training only": ("gvos_scm", "pretrain_only"),
               "Main-training only": ("gvos_scm", "main_only"),
               "Full training": ("gvos_scm", "full")}
TABLE2_ROWS = {"Memory Read": ("stm_read", "full"), "GCM": ("gvos_scm", "full")}
TABLE4_ROWS = {"SCM": ("gvos_scm", "full"), "W/O SCM": ("no_scm", "full")}
TABLE3_METHODS = {"STM": "stm_read", "Ours": "gvos_scm"}


def _pair(label: str) -> list[str]:
    return [f"{label} (reported)", f"{label} (measured)"]


def spread_cell(mean: float, sd: float = math.nan, digits: int = 1) -> str:
    """'47.9 ± 2.1' (mean ± standard deviation over seeds), '47.9' with one seed, '–' when not measured."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{mean:.{digits}f}" if sd is None or math.isnan(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def interval_cell(mean: float, low: float, high: float, digits: int = 1) -> str:
    """'47.9 [45.0, 50.8]' (a value and its 95% interval)."""
    if mean is None or math.isnan(mean):
        return "–"
    if math.isnan(low) or math.isnan(high):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _measured(summary, variant: str, stage: str, dataset: str, metric: str) -> str:
    return spread_cell(accuracy_value(summary, variant, stage, dataset, metric),
                       accuracy_spread(summary, variant, stage, dataset, metric))


def _paper_value(paper: pd.DataFrame | None, key_column: str, key: str, column: str) -> float:
    if paper is None or column not in paper.columns:
        return math.nan
    rows = paper[paper[key_column] == key]
    return float(rows[column].iloc[0]) if len(rows) and pd.notna(rows[column].iloc[0]) else math.nan


def _run_label(variant: str, stage: str) -> str:
    return f"{variant} / {stage}"


DETAIL_METRICS = ("J", "F", "J_r", "F_r")  # a claim's J and F rows: the detail table; its J&F (or ratio) row: the first screen


def claim_cell(row: pd.Series) -> str:
    """A claim's measured value with its interval, or what stands in for one: an exact quantity (memory) to
    three significant digits, a ratio of one timed repeat, an accuracy difference of one seed."""
    measured, low, high = row["measured"], row["ci_low"], row["ci_high"]
    if pd.isna(measured):
        return "–"
    if row["kind"] == "exact":
        return f"{measured:.3g} (exact)"
    if row["kind"] == "ratio":
        if low == high:
            return f"{measured:.2f} (one timed repeat: no interval)"
        return interval_cell(measured, low, high, 2)
    if pd.isna(low) or pd.isna(high):
        return f"{measured:.1f} (one seed: no interval)"
    return interval_cell(measured, low, high, 1)


def claims(results: dict, detail: bool = False) -> pd.DataFrame | None:
    """results/claims.csv as read on the page: one row per claim in J&F (or its speed ratio), the verdict
    and our interval first (they must not scroll out of sight), then the paper's value; ``detail``: the
    claims' J and F rows instead."""
    table = results.get("claims")
    if table is None:
        return None
    chosen = table[table["metric"].isin(DETAIL_METRICS) == detail]
    if chosen.empty:
        return None
    rows = []
    for _, row in chosen.iterrows():
        rows.append({"claim": row["claim"], "verdict": row["verdict"], "measured [95% interval]": claim_cell(row),
                     "reported (paper)": row["reported"], "metric": row["metric"], "paper": row["paper_table"],
                     "detectable (±)": row["detectable"],
                     "seeds": "–" if pd.isna(row["n_seeds"]) else int(row["n_seeds"]),
                     "objects": "–" if pd.isna(row["n_objects"]) else int(row["n_objects"])})
    return pd.DataFrame(rows)


def probe_runs(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(variant, stage) of the probed runs in the page's order: variants as everywhere, stages in training order."""
    pairs = set(zip(table["variant"], table["stage"], strict=True))
    return [(v, s) for v in variant_order({v for v, _ in pairs}) for s in STAGE_ORDER if (v, s) in pairs]


def _seed_spread(rows: pd.DataFrame, column: str) -> str:
    """'mean ± SD' of one value per seed."""
    sd = float(rows[column].std(ddof=1)) if len(rows) > 1 else math.nan
    return spread_cell(float(rows[column].mean()), sd)


def probes(results: dict) -> pd.DataFrame | None:
    """results/probes.csv on the page: per run and intervention, J&F unmodified and with it (mean ± SD over
    seeds) and the change with its 95% paired interval, the number a reader came for, right after the names."""
    table = results.get("probes")
    if table is None:
        return None
    rows = []
    order = list(dict.fromkeys(table["intervention"]))
    for variant, stage in probe_runs(table):
        run = table[(table["variant"] == variant) & (table["stage"] == stage)]
        for name in order:
            part = run[run["intervention"] == name]
            if part.empty:
                continue
            first = part.iloc[0]
            rows.append({"run": _run_label(variant, stage), "intervention": name,
                         "change in J&F [95% interval]": interval_cell(first["mean_delta_J&F"], first["ci_low"],
                                                                        first["ci_high"]),
                         "J&F unmodified": _seed_spread(part, "reference_J&F"),
                         "J&F with it": _seed_spread(part, "J&F"),
                         "change in J&F after a reappearance [95% interval]": (
                             interval_cell(first["mean_delta_J&F_r"], first["ci_low_r"], first["ci_high_r"])
                             if "mean_delta_J&F_r" in first and not pd.isna(first["mean_delta_J&F_r"]) else "–"),
                         "acts on": first["target"], "seeds": int(first["n_seeds"]),
                         "objects": int(first["n_objects"]),
                         "objects that reappear": int(first["n_objects_r"]) if "n_objects_r" in first else 0})
    return pd.DataFrame(rows) if rows else None


def reappearance(results: dict) -> pd.DataFrame | None:
    """Per run on DAVIS-2017 val: J&F over all frames, after a reappearance (J&F_r) and while the object is
    gone (J&F_d), mean ± SD over seeds, with the objects each is over."""
    accuracy = results.get("accuracy")
    if accuracy is None or "J&F_r" not in accuracy or accuracy["J&F_r"].isna().all():
        return None
    rows = []
    val = accuracy[accuracy["dataset"] == "davis2017"]
    for variant in variant_order(set(val["variant"])):
        for stage in [s for s in STAGE_ORDER if s in set(val.loc[val["variant"] == variant, "stage"])]:
            part = val[(val["variant"] == variant) & (val["stage"] == stage)]
            rows.append({"run": _run_label(variant, stage), "seeds": len(part),
                         "J&F, all frames": _seed_spread(part, "J&F-Mean"),
                         "J&F after a reappearance (J&F_r)": _seed_spread(part, "J&F_r"),
                         "J&F while gone (J&F_d)": _seed_spread(part, "J&F_d"),
                         "objects that reappear": int(part["n_objects_r"].iloc[0]),
                         "objects that go": int(part["n_objects_d"].iloc[0])})
    return pd.DataFrame(rows) if rows else None


def table1(paper: dict, results: dict) -> pd.DataFrame | None:
    """Training stages: YouTube-VOS overall and DAVIS-2017 J, F."""
    source, summary = paper.get("table1"), results.get("accuracy_summary")
    if source is None and summary is None:
        return None
    rows = []
    for label, (variant, stage) in TABLE1_ROWS.items():
        rows.append([label, _run_label(variant, stage),
                     _paper_value(source, "variant", label, "youtubevos_overall"),
                     _measured(summary, variant, stage, "youtubevos", "overall"),
                     _paper_value(source, "variant", label, "davis2017_J"),
                     _measured(summary, variant, stage, "davis2017", "J-Mean"),
                     _paper_value(source, "variant", label, "davis2017_F"),
                     _measured(summary, variant, stage, "davis2017", "F-Mean")])
    columns = ["paper row", "our run"] + _pair("YouTube-VOS overall") + _pair("DAVIS-2017 J") + _pair("DAVIS-2017 F")
    return pd.DataFrame(rows, columns=columns)


def _accuracy_time_table(rows_map: dict, source: pd.DataFrame | None, results: dict) -> pd.DataFrame | None:
    summary, speed = results.get("accuracy_summary"), results.get("speed")
    if source is None and summary is None and speed is None:
        return None
    rows = []
    for label, (variant, stage) in rows_map.items():
        rows.append([label, _run_label(variant, stage),
                     _paper_value(source, "variant", label, "JF_pct"),
                     _measured(summary, variant, stage, "davis2017", "J&F-Mean"),
                     _paper_value(source, "variant", label, "seconds_per_frame"),
                     seconds_per_frame(speed, variant),
                     _paper_value(source, "variant", label, "J_pct"),
                     _measured(summary, variant, stage, "davis2017", "J-Mean"),
                     _paper_value(source, "variant", label, "F_pct"),
                     _measured(summary, variant, stage, "davis2017", "F-Mean")])
    # J&F and time first (the paper prints them last): the columns a reader compares stay in view at 1300 px
    columns = (["paper row", "our run"] + _pair("DAVIS-2017 J&F") + _pair("Time (s/frame)")
               + _pair("DAVIS-2017 J") + _pair("DAVIS-2017 F"))
    return pd.DataFrame(rows, columns=columns)


def table2(paper: dict, results: dict) -> pd.DataFrame | None:
    """STM memory read versus GCM: J, F, J&F on DAVIS-2017 and seconds per frame."""
    return _accuracy_time_table(TABLE2_ROWS, paper.get("table2"), results)


def table4(paper: dict, results: dict) -> pd.DataFrame | None:
    """With and without the spatial constraint module."""
    return _accuracy_time_table(TABLE4_ROWS, paper.get("table4"), results)


def table3(paper: dict, results: dict) -> pd.DataFrame | None:
    """Memory of the readout state versus t: paper MB beside measured MiB (the paper's 'MB' matches
    2^20 bytes: 100 STM frames at 480x854, C_N + C_M = 640 float32 channels are 395.5 MiB vs 394 'MB').
    The paper's t = 0 row (one frame already stored) is set beside our t = 1."""
    source, memory = paper.get("table3"), results.get("memory_vs_t")
    if source is None and memory is None:
        return None
    rows = []
    for method, variant in TABLE3_METHODS.items():
        reported = {}
        if source is not None:
            for _, row in source[source["method"] == method].iterrows():
                if row.get("applies_to_any_t") == 1:
                    reported["any"] = float(row["megabytes"])
                else:
                    reported[max(int(row["t"]), 1)] = float(row["megabytes"])
        measured = {}
        if memory is not None and "memory_bytes" in memory.columns:
            for t, group in memory[memory["variant"] == variant].groupby("t"):
                measured[int(t)] = float(group["memory_bytes"].median()) / MIB
        ts = sorted({t for t in reported if t != "any"} | set(measured))
        for t in ts:
            paper_t = "0 (as printed)" if t == 1 and 1 in reported and method == "STM" else ""
            rows.append([method, variant, t, paper_t, reported.get(t, reported.get("any", math.nan)),
                         measured.get(t, math.nan)])
        if not ts and "any" in reported:
            rows.append([method, variant, "any", "any", reported["any"], math.nan])
    columns = ["paper method", "our variant", "t", "paper t"] + ["Memory MB (reported)", "Memory MiB (measured)"]
    return pd.DataFrame(rows, columns=columns)


def _our_rows(summary: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(variant, stage) of our evaluated runs: every full model and every baseline."""
    if summary is None:
        return []
    runs = summary[summary["stage"].isin(["full", "none"])][["variant", "stage"]].drop_duplicates()
    return [tuple(r) for r in runs.itertuples(index=False)]


def ours_label(summary: pd.DataFrame | None, variant: str, stage: str) -> str:
    """Our row's name in Tables 5 and 6, with the paper's "(+YV)" when YouTube-VOS was in the main stage."""
    label = f"{variant} ({stage})"
    if summary is None or "train_data" not in summary.columns:
        return label
    rows = summary[(summary["variant"] == variant) & (summary["stage"] == stage)]
    data = str(rows["train_data"].iloc[0]) if len(rows) else ""
    return f"{label} (+YV)" if "youtubevos" in data else label


def table5(paper: dict, results: dict, measured_label: str) -> pd.DataFrame | None:
    """DAVIS-2016 and DAVIS-2017 validation: the literature rows (reported) and ours (measured)."""
    d16, d17 = paper.get("table5_davis16"), paper.get("table5_davis17")
    summary, speed = results.get("accuracy_summary"), results.get("speed")
    ours = _our_rows(summary)
    if d16 is None and d17 is None and not ours:
        return None
    rows = []
    if d16 is not None:
        d17_by_method = d17.set_index("method") if d17 is not None else None
        for _, row in d16.iterrows():
            other = d17_by_method.loc[row["method"]] if d17_by_method is not None and row["method"] in d17_by_method.index else {}
            time = row["time_as_printed"] if pd.notna(row.get("time_as_printed")) else math.nan
            rows.append([row["method"], "reported", "yes" if row["uses_online_learning"] == 1 else "no",
                         row["J_mean"], row["F_mean"], row["JF_mean"],
                         other.get("J_mean", math.nan), other.get("F_mean", math.nan), other.get("JF_mean", math.nan),
                         time])
    for variant, stage in ours:
        rows.append([ours_label(summary, variant, stage), f"measured ({measured_label})", "no",
                     *[_measured(summary, variant, stage, dataset, metric) for dataset in ("davis2016", "davis2017")
                       for metric in ("J-Mean", "F-Mean", "J&F-Mean")],
                     seconds_per_frame(speed, variant)])
    columns = ["method", "source", "online learning", "DAVIS-2016 J", "DAVIS-2016 F", "DAVIS-2016 J&F",
               "DAVIS-2017 J", "DAVIS-2017 F", "DAVIS-2017 J&F", "Time (s/frame)"]
    return pd.DataFrame(rows, columns=columns)


def table6(paper: dict, results: dict, measured_label: str) -> pd.DataFrame | None:
    """YouTube-VOS 2018 validation (ours: the synthetic YouTube-VOS-style split when data is synthetic)."""
    source, summary = paper.get("table6"), results.get("accuracy_summary")
    ours = _our_rows(summary)
    if source is None and not ours:
        return None
    metrics = ["overall", "J_seen", "J_unseen", "F_seen", "F_unseen"]
    rows = []
    if source is not None:
        for _, row in source.iterrows():
            rows.append([row["method"], "reported"] + [row[m] for m in metrics])
    for variant, stage in ours:
        rows.append([ours_label(summary, variant, stage), f"measured ({measured_label})"]
                    + [spread_cell(accuracy_value(summary, variant, stage, "youtubevos", m)) for m in metrics])
    return pd.DataFrame(rows, columns=["method", "source", "Overall", "J seen", "J unseen", "F seen", "F unseen"])


def accuracy_overview(results: dict) -> pd.DataFrame | None:
    """Every measured accuracy: J&F mean ± sd over seeds, its interval over seeds and over objects."""
    summary = results.get("accuracy_summary")
    if summary is None:
        return None
    rows = []
    for _, row in summary.iterrows():
        rows.append({"variant": row["variant"], "stage": row["stage"], "dataset": row["dataset"],
                     "seeds": int(row.get("n_seeds", 1)), "objects": int(row["n_objects"]),
                     "J&F mean ± sd": spread_cell(row["J&F-Mean"], row.get("JF_seed_sd", math.nan)),
                     "J&F 95% over seeds": interval_cell(row["J&F-Mean"], row.get("JF_seed_ci_low", math.nan),
                                                         row.get("JF_seed_ci_high", math.nan)),
                     "J&F 95% over objects": interval_cell(row["J&F-Mean"], row["JF_ci_low"], row["JF_ci_high"]),
                     "J": row["J-Mean"], "F": row["F-Mean"], "J recall": row.get("J-Recall", math.nan),
                     "J decay": row.get("J-Decay", math.nan), "YouTube-VOS overall": row.get("overall", math.nan)})
    return pd.DataFrame(rows)


def per_attribute(results: dict) -> pd.DataFrame | None:
    """J&F with / without each attribute per run, on the synthetic DAVIS-2017 val split."""
    table = results.get("per_attribute")
    if table is None:
        return None
    sel = table[table["dataset"] == "davis2017"] if "davis2017" in set(table["dataset"]) else table
    sel = sel.assign(run=sel["variant"] + " / " + sel["stage"],
                     column=sel["attribute"] + sel["has"].map({1: " (with)", 0: " (without)"}))
    wide = sel.pivot_table(index="run", columns="column", values="J&F-Mean", aggfunc="first")
    counts = sel[sel["run"] == sel["run"].iloc[0]].set_index("column")["n_sequences"]
    wide.columns = [f"{c} [{int(counts.get(c, 0))} videos]" for c in wide.columns]
    return wide.reset_index()


def train_speed(results: dict) -> pd.DataFrame | None:
    """results/train_speed.csv on the page: what was trained and how fast, where an iteration's time goes, and
    the machine's rates; the device and threads are the provenance line's (every column: the CSV)."""
    speed = results.get("train_speed")
    if speed is None:
        return None
    table = speed.copy()
    if {"crop_height", "crop_width"} <= set(table.columns):
        table["crop"] = [f"{int(h)}x{int(w)}" for h, w in zip(table["crop_height"], table["crop_width"], strict=True)]
    if "peak_memory_bytes" in table.columns:
        table["peak MiB"] = table["peak_memory_bytes"] / MIB
    columns = [c for c in ["variant", "stage", "crop", "batch_size", "precision", "iterations_per_second",
                           "seconds_per_iteration", "seconds_data", "seconds_forward", "seconds_backward",
                           "seconds_optimizer", "gflops_per_iteration", "achieved_gflops_per_second",
                           "fraction_of_conv_peak", "peak MiB"]
               if c in table.columns]
    return table[columns]


def rule_times(results: dict) -> pd.DataFrame | None:
    times = results.get("rule_times")
    if times is None:
        return None
    return times.rename(columns={"wall_s": "wall seconds (sum)", "cpu_s": "CPU seconds (sum)",
                                 "max_rss_mb": "peak RSS MB", "per_seed_jobs": "jobs per seed"})


def runs(results: dict) -> pd.DataFrame | None:
    """Provenance, one row per run (results/runs.csv), the changed settings one per line."""
    table = results.get("runs")
    if table is None:
        return None
    return table.rename(columns={"run_hash": "run hash", "changed_keys": "settings that differ from the default"})


def speed_overview(results: dict) -> pd.DataFrame | None:
    speed = results.get("speed")
    if speed is None:
        return None
    columns = [c for c in ["variant", "backbone", "height", "width", "dtype", "t", "seconds_per_frame",
                           "seconds_per_frame_min", "seconds_per_frame_max", "fps", "memory_bytes",
                           "peak_memory_bytes", "peak_memory_kind", "device", "threads", "timing_flag"]
               if c in speed.columns]
    return speed[columns]


def speed_card(results: dict) -> pd.DataFrame | None:
    """One row per benchmarked method: its size (parameters, GFLOPs per frame: the same on every machine),
    seconds per frame at each t as median [fastest, slowest] of the timed steps (a flagged timing marked),
    and the memory its state keeps at the largest t every method was measured at (one column, whichever
    methods were also timed at a larger t). The protocol is the note under it (``speed_protocol``)."""
    speed = results.get("speed")
    if speed is None or speed.empty:
        return None
    rows = []
    sizes = ["height", "width"] if {"height", "width"} <= set(speed.columns) else []
    several_sizes = bool(sizes) and len(speed[sizes].drop_duplicates()) > 1
    groups = speed.groupby(["variant", *sizes], sort=False)
    shared_t = set.intersection(*(set(group["t"]) for _, group in groups))
    for keys, group in groups:
        group = group.sort_values("t")
        variant = keys[0] if isinstance(keys, tuple) else keys
        row = {"method": f"{variant} at {keys[1]}x{keys[2]}" if several_sizes else variant}
        if "parameters" in group.columns and pd.notna(group["parameters"].iloc[0]):
            row["parameters (M)"] = f"{group['parameters'].iloc[0] / 1e6:.2f}"
        if "gflops_per_frame" in group.columns and group["gflops_per_frame"].notna().any():
            flops = group["gflops_per_frame"].dropna()
            row["GFLOPs a frame"] = (f"{flops.min():.3g}" if flops.min() == flops.max()
                                     else f"{flops.min():.3g} to {flops.max():.3g}")
        for item in group.itertuples():
            cell = (f"{item.seconds_per_frame:.3g} [{item.seconds_per_frame_min:.3g}, "
                    f"{item.seconds_per_frame_max:.3g}]")
            if is_flagged(getattr(item, "timing_flag", None)):
                cell += " flagged"
            row[f"s/frame at t={int(item.t)}"] = cell
        state_t = max(shared_t) if shared_t else group["t"].iloc[-1]
        state = group.loc[group["t"] == state_t, "memory_bytes"].iloc[0] / MIB
        row[f"state MiB at t={int(state_t)}"] = f"{state:.3g}" if state < 1000 else f"{state:.0f}"
        if "step_memory_bytes" in group.columns and group["step_memory_bytes"].notna().any():
            row["a step's own MiB (max)"] = f"{group['step_memory_bytes'].max() / MIB:.3g}"
        if "timing_mode" in group.columns and is_successive(group["timing_mode"].iloc[0]):
            row["method"] += " (successive steps)"
        rows.append(row)
    return pd.DataFrame(rows)


def speed_protocol(results: dict) -> str:
    """How results/speed.csv was measured, in one paragraph, from its own columns."""
    speed = results.get("speed")
    if speed is None or speed.empty:
        return ""
    first = speed.iloc[0]

    def values(column: str) -> str:
        if column not in speed.columns:
            return "not recorded"
        return ", ".join(str(v) for v in dict.fromkeys(speed[column].dropna().astype(str))) or "not recorded"

    cuda = str(first.get("device", "")).startswith("cuda")
    timer = ("CUDA events, the device synchronized before and after each step" if cuda
             else "time.perf_counter around each step")
    flagged = int(speed["timing_flag"].map(is_flagged).sum()) if "timing_flag" in speed.columns else 0
    return (f"Protocol: {timer}; the timed region is one whole engine.step (query encoder, memory read, "
            "decoder, refinement, aggregation and the write into the memory; no disk I/O), from a memory "
            "holding t frames (a method marked 'successive steps', whose state cannot be copied, steps on "
            "from t frames, t + i in round i); every (method, t) stepped round robin on the same synthetic frames, "
            f"{values('warmup')} warm-up and {values('repeats')} timed rounds; precision {values('dtype')}, "
            f"float32 math {values('fp32_precision')}, compiled {values('compiled')}; {values('objects')} "
            f"object(s) at {values('height')}x{values('width')}; {values('threads')} thread(s) on "
            f"{values('device')}, torch {values('torch')}. Rows whose timing failed their own checks: {flagged} "
            "(speed.csv's timing_flag says why).")


def reference_t_note(results: dict) -> str:
    t = reference_t(results.get("speed"))
    return "" if t is None else f"Measured times are seconds per frame at t = {t} frames in memory."
