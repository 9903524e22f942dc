"""Render the report: figures (PNG) and Tables 1-6 into one HTML page, from whatever results/*.csv
exist (a missing table becomes a note on the page, never a crash).

    python -m report.build --results results [--paper DIR] --out report/build
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.cli import run_cli
from pipelines.files import atomic_save
from report import figures, tables
from report.paper import load_paper
from report.results import RESULT_FILES, distinct, load_results

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.measured td { background: #eef6ff; font-weight: 600; }
.prov td { text-align: left; } .missing { color: #a33; font-style: italic; }
.note { color: #555; font-size: .9em; } img { max-width: 100%; border: 1px solid #eee; }
"""


@dataclass
class Section:
    """One figure or table of the page: its id, title, caption and content (None = missing)."""

    id: str
    title: str
    caption: str
    kind: str  # "figure" | "table"
    content: object = None
    missing_because: str = ""


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3g}" if abs(value) < 0.1 and value != 0 else f"{value:.1f}"
    return html.escape(str(value))


def table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        measured = "source" in frame.columns and str(row["source"]).startswith("measured")
        cells = "".join(f"<td>{_fmt(v)}</td>" for v in row)
        body.append(f'<tr class="measured">{cells}</tr>' if measured else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def provenance(results: dict) -> dict[str, str]:
    data = distinct(results, "data")
    return {
        "data": ", ".join(data) if data else "unknown (no accuracy table)",
        "device": "; ".join(distinct(results, "device")) or "unknown",
        "commit": ", ".join(distinct(results, "commit")) or "unknown",
        "config hash": ", ".join(distinct(results, "config_hash")[:12]) or "unknown",
        "torch": ", ".join(distinct(results, "torch")) or "unknown",
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
    }


def measured_label(prov: dict[str, str]) -> str:
    return f"{prov['data']} data, {prov['device']}"


def build_sections(paper: dict, results: dict, out: Path, label: str) -> list[Section]:
    synthetic_note = ("Our numbers come from the synthetic data set when the data line above says synthetic: "
                      "they test the method, not the paper's absolute scores.")
    missing = {name: results.get(name) is None for name in RESULT_FILES}

    def why(*names: str) -> str:
        gone = [f"results/{n}.csv" for n in names if missing[n]]
        return f"missing: {', '.join(gone)}" if gone else "no data to show"

    sections = [
        Section("fig7", "Fig. 7: speed versus accuracy", "DAVIS-2016 J&F against frames per second. Hollow grey: "
                "reported (derived from Table 5; online-learning methods as squares). Stars: measured "
                f"(full-stage models, {label}). {tables.reference_t_note(results)}", "figure",
                figures.speed_accuracy(paper, results, out, label), why("accuracy_summary", "speed")),
        Section("memory", "Memory versus t", "Memory-state bytes versus the number of frames absorbed, "
                "measured for every benchmarked variant, beside the paper's Table 3 points.", "figure",
                figures.memory_vs_t(paper, results, out, label), why("memory_vs_t")),
        Section("time", "Seconds per frame versus t", "Median over repeats, error bars min-max. Dotted: the "
                "paper's Table 2 times.", "figure", figures.time_vs_t(paper, results, out, label), why("speed")),
        Section("breakdown", "Where a step's time goes", "Median seconds of each section of a step (query "
                "encoder; memory read; ASPP, SCM, decoder and refinement; memory encoder and update), timed in "
                "the benchmark's second pass; the label is the step's GFLOPs (convolutions and matrix products), "
                "which are the same on every machine.", "figure", figures.time_breakdown(results, out, label),
                why("speed")),
        Section("loss", "Training loss", "Loss per logged iteration, mean over seeds.", "figure",
                figures.training_loss(results, out), why("training_loss")),
        Section("table1", "Table 1: training stages", "gvos_scm trained with pre-training only, main training only "
                f"and both. {synthetic_note}", "table", tables.table1(paper, results), why("accuracy_summary")),
        Section("table2", "Table 2: STM memory read versus GCM", f"DAVIS-2017 J, F, J&F (%) and seconds per "
                f"frame. {tables.reference_t_note(results)}", "table", tables.table2(paper, results),
                why("accuracy_summary", "speed")),
        Section("table3", "Table 3: memory versus t", "Memory of the readout state. The paper's 'MB' is read as "
                "MiB (2^20 bytes).", "table", tables.table3(paper, results), why("memory_vs_t")),
        Section("table4", "Table 4: with and without SCM", f"DAVIS-2017 J, F, J&F (%) and seconds per frame. "
                f"{synthetic_note}", "table", tables.table4(paper, results), why("accuracy_summary", "speed")),
        Section("table5", "Table 5: DAVIS-2016 and DAVIS-2017 validation", "Literature rows as reported by the "
                f"paper; highlighted rows are ours (measured: {label}).", "table", tables.table5(paper, results, label),
                why("accuracy_summary")),
        Section("table6", "Table 6: YouTube-VOS 2018 validation", "Literature rows as reported; highlighted rows "
                f"are ours (measured: {label}) on the YouTube-VOS-style split.", "table", tables.table6(paper, results, label),
                why("accuracy_summary")),
        Section("accuracy", "All measured accuracy", "Seed means; JF_ci: bootstrap 95% interval over objects; "
                "JF_seed_ci: Student-t 95% interval over seeds (empty with one seed).", "table",
                tables.accuracy_overview(results), why("accuracy_summary")),
        Section("speed", "All speed and memory measurements", "Rows of results/speed.csv.", "table",
                tables.speed_overview(results), why("speed")),
    ]
    return sections


def render_page(sections: list[Section], prov: dict[str, str], out: Path) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>GVOS-SCM reproduction report</title>"
             f"<style>{CSS}</style></head><body>",
             "<h1>GVOS-SCM reproduction report</h1>",
             "<p>Paper values are labelled <b>reported</b>; ours <b>measured</b>. Missing pieces are noted, "
             "not hidden.</p>",
             '<table class="prov">' + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                                             for k, v in prov.items()) + "</table>",
             "<ul>" + "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in sections) + "</ul>"]
    for section in sections:
        parts.append(f'<h2 id="{section.id}">{html.escape(section.title)}</h2>')
        parts.append(f'<p class="note">{html.escape(section.caption)}</p>')
        if section.content is None:
            parts.append(f'<p class="missing">Not available: {html.escape(section.missing_because)}.</p>')
        elif section.kind == "figure":
            name = Path(section.content).relative_to(out).as_posix()
            parts.append(f'<img src="{html.escape(name)}" alt="{html.escape(section.title)}">')
        else:
            parts.append(table_html(section.content))
    parts.append("</body></html>")
    return "\n".join(parts)


def build(results_dir: str | Path, paper_dir: str | Path | None, out: str | Path) -> Path:
    """Render report/build/index.html (+ PNGs) and return the page's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = load_results(results_dir)
    paper = load_paper(paper_dir)
    prov = provenance(results)
    sections = build_sections(paper, results, out, measured_label(prov))
    page = render_page(sections, prov, out)
    path = out / "index.html"
    atomic_save(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="folder with results/*.csv")
    parser.add_argument("--paper", default=None, help="the paper's tables (default: report/paper_tables)")
    parser.add_argument("--out", default="report/build", help="output folder")
    args = parser.parse_args(argv)
    if not Path(args.results).is_dir():
        raise FileNotFoundError(f"{args.results}: results folder does not exist")
    path = build(args.results, args.paper, args.out)
    print(f"{path}: written")
    return 0


if __name__ == "__main__":
    run_cli(main)
