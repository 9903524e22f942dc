"""Render the report: the claims first, then figures and Tables 1-6 into one HTML page, from whatever
results/*.csv exist (a missing table becomes a note on the page, never a crash).

    python -m report.build --results results [--paper DIR] --out report/build

Numbers carry the precision that carries information: accuracies one decimal (with their spread over
seeds or their interval), seconds three significant digits, counts as integers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
import pandas as pd

from pipelines.cli import run_cli
from pipelines.experiment.paper import load_paper
from pipelines.files import OutputFolder, atomic_write_text
from report import figures, notes, tables
from report.latex import table_latex
from report.outputs import FIGURES, TABLES_DIR
from report.results import RESULT_FILES, distinct, gate_summary, load_qualitative, load_results
from report.style import vector_copies

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .5em 0 1em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.measured td { background: #eef6ff; font-weight: 600; }
td.reproduced { background: #e3f4e1; } td.contradicted { background: #fbe3e3; } td.inconclusive { background: #fff6d9; }
.prov td { text-align: left; white-space: normal; } .missing { color: #a33; font-style: italic; }
.note { color: #555; font-size: .9em; } img { max-width: 100%; border: 1px solid #eee; }
.rule { background: #f7f7f7; border-left: 3px solid #999; padding: .5em 1em; font-size: .9em; }
ul.toc { columns: 3; column-gap: 2em; font-size: .85em; margin: .8em 0; } ul.toc li { break-inside: avoid; }
"""

SECONDS_WORDS = ("s/frame", "seconds", "Time", "s/it")
THREE_DIGIT_WORDS = ("GFLOP", "MiB", "MB", "it/s", "iterations_per_second", "fps", "ratio", "detectable",
                     "reported (paper)", "gate")
COUNT_WORDS = ("objects", "seeds", "jobs", "bytes", "threads", "batch", "crop", "t", "iterations")


def format_value(value, column: str = "") -> str:
    """One cell as plain text (the page's template escapes it): seconds, rates and SCM gates to 3
    significant digits, accuracies to one decimal, counts as integers."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if any(word in column for word in SECONDS_WORDS + THREE_DIGIT_WORDS):
            return f"{value:.3g}"
        if column in COUNT_WORDS or column.endswith(("bytes", "_height", "_width", "size")) and value.is_integer():
            return f"{value:.0f}"
        return f"{value:.3g}" if abs(value) < 0.1 and value != 0 else f"{value:.1f}"
    return str(value)


@dataclass
class Section:
    """One figure or table of the page: its id, title, caption and content (None = missing)."""

    id: str
    title: str
    caption: str
    kind: str  # "figure" | "table" | "list" (of (bold label, text) items)
    content: object = None
    missing_because: str = ""


VERDICTS = ("reproduced", "contradicted", "inconclusive")
"""The verdict cells that get a colour; any other value (a tampered table) is shown as text, unstyled."""


def table_rows(frame: pd.DataFrame) -> dict:
    """A table as the template draws it: ``{"head": [...], "rows": [{"measured": bool, "cells": [(css
    class or "", text)]}]}``, every value plain text."""
    rows = []
    for _, row in frame.iterrows():
        cells = [(str(value) if column == "verdict" and value in VERDICTS else "", format_value(value, str(column)))
                 for column, value in row.items()]
        rows.append({"measured": "source" in frame.columns and str(row["source"]).startswith("measured"),
                     "cells": cells})
    return {"head": [str(c) for c in frame.columns], "rows": rows}


def provenance(results: dict) -> dict[str, str]:
    data = distinct(results, "data")
    return {
        "data": ", ".join(data) if data else "unknown (no accuracy table)",
        "trained on": ", ".join(distinct(results, "train_data")) or "unknown",
        "device": "; ".join(distinct(results, "device")) or "unknown",
        "commit": ", ".join(distinct(results, "commit")) or "unknown",
        "runs": (f"{len(results['runs'])} (one row each in the provenance section below)"
                 if results.get("runs") is not None else "unknown (no results/runs.csv)"),
        "torch": ", ".join(distinct(results, "torch")) or "unknown",
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
    }


def measured_label(prov: dict[str, str]) -> str:
    return f"{prov['data']} data, {prov['device']}"


def seeds_note(results: dict) -> str:
    summary = results.get("accuracy_summary")
    if summary is None or "n_seeds" not in summary.columns:
        return ""
    seeds = sorted({int(n) for n in summary[summary["stage"] != "none"]["n_seeds"]})
    return f"Measured accuracies: mean ± standard deviation over {'/'.join(map(str, seeds))} seeds."


def gate_caption(results: dict) -> str:
    """Fig. 5's caption: whether the learnt gate is a spotlight or a hole, from results/scm_gates.csv."""
    summary = gate_summary(results.get("scm_gates"))
    if summary is None:
        return ""
    parts = [f"{row.variant}/{row.stage}: a {row.shape} (mean gate {row.gate_inside:.2f} inside the previous mask, "
             f"{row.gate_outside:.2f} outside, over {row.objects} objects)" for row in summary.itertuples()]
    return "Measured over every val video: " + "; ".join(parts) + ". The paper's Fig. 5 shows a spotlight."


def gate_table(results: dict) -> pd.DataFrame | None:
    summary = gate_summary(results.get("scm_gates"))
    if summary is None:
        return None
    return summary.rename(columns={"gate_inside": "gate inside the previous mask", "gate_outside": "gate outside it",
                                   "shape": "spotlight or hole"})


def build_sections(paper: dict, results: dict, out: Path, label: str, qualitative: dict | None = None) -> list[Section]:
    synthetic_note = ("Our numbers come from the synthetic data set when the data line above says synthetic: "
                      "they test the method, not the paper's absolute scores.")
    spread = seeds_note(results)
    missing = {name: results.get(name) is None for name in RESULT_FILES}

    def why(*names: str) -> str:
        gone = [f"results/{n}.csv" for n in names if missing[n]]
        return f"missing: {', '.join(gone)}" if gone else "no data to show"

    no_frames = "missing: results/qualitative.npz" if qualitative is None else "no frame chosen by its rule"

    return [
        Section("claims", "The paper's claims: reproduced, contradicted or inconclusive",
                "One row per claim the suite tests, in J&F (or its speed ratio), measured on this run; the "
                "verdict rule is below the table, the same claims in J and in F in the next one.",
                "table", tables.claims(results),
                why("claims")),
        Section("claims_detail", "The same claims in J and in F", "Each accuracy claim of the table above, "
                "judged on J (region similarity) and on F (contour accuracy) by the same rule.", "table",
                tables.claims(results, detail=True), why("claims")),
        Section("findings", "Findings of this reproduction", "What the runs show beyond the claims table, with "
                "the evidence.", "list", notes.findings(results)),
        Section("probes", "What each module does inside a trained model: test-time interventions",
                "The first of the ablations: each trained checkpoint segmented again with one module's input "
                "replaced at every frame (methods.interventions: the SCM's previous mask zeroed, set to 0.5 or to "
                "the ground truth of the previous frame; the memory readout averaged over the video's objects, "
                "over positions, or zeroed; a network without an SCM gets only the readout ones). Change in J&F "
                "against the same checkpoint unmodified, seed mean with its 95% paired interval over seeds and "
                f"sequences (the claims' rule). {spread}", "table",
                tables.probes(results), why("probes")),
        Section("probes_figure", "Test-time interventions: the change in J&F", "One marker per run (seed mean; "
                "bar: the 95% paired interval, none with one seed); every intervention on the same x scale.",
                "figure", figures.probe_effects(results, out), why("probes")),
        Section("fig5", "Fig. 5: the SCM's gate", "For the distractor videos (objects of the same look) where "
                "gvos_scm beats no_scm by the most (full stage; pipelines.qualitative states the rule), each object's "
                "middle frame, then per trained SCM run (seed 0) the gate the SCM multiplies the embedding by (0 dark, "
                f"1 bright) with the previous mask it read as a white contour. {gate_caption(results)}", "figure",
                figures.scm_gates(qualitative, out), no_frames),
        Section("scm_gates", "The SCM's gate inside and outside the previous mask", "Mean over the objects of "
                "every DAVIS-2017 val video (seed 0) of the gate's mean inside and outside the previous mask over "
                "the video's frames (results/scm_gates.csv).", "table", gate_table(results), why("scm_gates")),
        Section("stage_switch", "What pretraining does: the start of the main stage", "Training loss in the "
                "main stage of gvos_scm from scratch (main_only) and from the pretraining checkpoint (full), every "
                "seed.", "figure", figures.stage_switch(results, out), why("training_loss")),
        Section("table1", "Table 1: training stages", f"gvos_scm trained with pre-training only, main training only "
                f"and both. {spread} {synthetic_note}", "table", tables.table1(paper, results),
                why("accuracy_summary")),
        Section("table2", "Table 2: STM memory read versus GCM", f"DAVIS-2017 J&F (%), seconds per frame, "
                f"then J and F. {spread} {tables.reference_t_note(results)}", "table", tables.table2(paper, results),
                why("accuracy_summary", "speed")),
        Section("table4", "Table 4: with and without SCM", f"DAVIS-2017 J&F (%), seconds per frame, then J and F. "
                f"{spread} {synthetic_note}", "table", tables.table4(paper, results), why("accuracy_summary", "speed")),
        Section("attributes", "Where each ablation should show: J&F by video attribute", "DAVIS-2017 val videos "
                "with and without each attribute of the synthetic set (distractor: objects of the same look, the "
                "case the SCM is for); full-stage models and the baseline, mean over seeds.", "figure",
                figures.attribute_breakdown(results, out), why("per_attribute")),
        Section("attribute_table", "J&F by video attribute (every run)", "Mean over seeds; [n] videos with / "
                "without the attribute.", "table", tables.per_attribute(results), why("per_attribute")),
        Section("loss", "Training loss", "Loss per logged iteration, mean over seeds (band: min-max over seeds).",
                "figure", figures.training_loss(results, out), why("training_loss")),
        Section("validation", "Did the main stage converge? Held-out J&F", "J&F on the held-out DAVIS-2017 videos "
                "(train.main.holdout_split, the synthetic data's own split; or the train.main.holdout train videos "
                "kept out of training), never the val split, at checkpoints of the main stage; mean over seeds, "
                "band min-max.", "figure", figures.validation_curve(results, out), why("validation")),
        Section("diagnostics", "How each run learns to tell objects apart", "Per main-stage run and seed: the "
                "held-out J&F of the multi-object videos (the identity 'click'), the SCM's mean gate inside and "
                "outside the previous mask at each check (a spotlight: inside above outside; a hole: the opposite), "
                "and the gradient norm before clipping.", "figure", figures.identity_diagnostics(results, out),
                why("validation")),
        Section("fig8", "Fig. 8: where the runs differ most", "The DAVIS-2017 val videos with the largest "
                "spread of J&F over the full-stage runs (seed 0), middle frame: the ground truth, then each run's "
                "masks in the DAVIS palette.", "figure", figures.segmentation_grid(qualitative, "fig8", out),
                no_frames),
        Section("fig9", "Fig. 9: multi-object videos", "The DAVIS-2017 val videos with the most objects (at least "
                "two; seed 0, middle frame).", "figure", figures.segmentation_grid(qualitative, "fig9", out),
                no_frames),
        Section("fig10", "Fig. 10: failures", "Each full-stage run's worst DAVIS-2017 val video (lowest J&F, seed "
                "0, middle frame), beside the ground truth and the other runs.", "figure",
                figures.segmentation_grid(qualitative, "fig10", out), no_frames),
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
        Section("table3", "Table 3: memory versus t", "Memory of the readout state. The paper's 'MB' is read as "
                "MiB (2^20 bytes).", "table", tables.table3(paper, results), why("memory_vs_t")),
        Section("table5", "Table 5: DAVIS-2016 and DAVIS-2017 validation", "Literature rows as reported by the "
                f"paper; highlighted rows are ours (measured: {label}); '(+YV)': YouTube-VOS was among the "
                f"main-stage training sets, as in the paper's 'OURS (+YV)' row. {spread}", "table",
                tables.table5(paper, results, label), why("accuracy_summary")),
        Section("table6", "Table 6: YouTube-VOS 2018 validation", "Literature rows as reported; highlighted rows "
                f"are ours (measured: {label}) on the YouTube-VOS-style split.", "table",
                tables.table6(paper, results, label), why("accuracy_summary")),
        Section("train_speed", "Training speed", "pipelines.benchmark train: iterations per second of the default "
                "recipe and where an iteration's time goes; achieved GFLOP/s beside this machine's float32 "
                "matrix-product rate.", "table", tables.train_speed(results), why("train_speed")),
        Section("accuracy", "All measured accuracy", "Mean ± standard deviation over seeds; 95% intervals over "
                "seeds (Student t) and over objects (bootstrap of the seed-averaged object scores).", "table",
                tables.accuracy_overview(results), why("accuracy_summary")),
        Section("speed", "All speed and memory measurements", "Rows of results/speed.csv.", "table",
                tables.speed_overview(results), why("speed")),
        Section("cost", "What this run cost, by kind of job", "Snakemake's own measurement of every job "
                "(benchmarks/**/*.tsv): wall and CPU seconds summed per kind of job, and the CPU seconds per seed "
                "of the whole run.", "table", tables.rule_times(results), why("rule_times")),
        Section("provenance", "Provenance: one row per run", "Every run's hash (the one its checkpoint and "
                "result rows carry), the commit, the device and precision it trained in, and the settings it depends "
                "on that differ from the repository's config/config.yaml.", "table", tables.runs(results), why("runs")),
        Section("differences", "Where we differ from the paper", "Choices the paper leaves open or that differ "
                "from its text, each a config key or a documented module choice.", "list", notes.DIFFERENCES),
    ]


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>GVOS-SCM reproduction report</title>
<style>{{ css }}</style></head><body>
<h1>GVOS-SCM reproduction report</h1>
<p>Paper values are labelled <b>reported</b>; ours <b>measured</b>. Missing pieces are noted, not hidden.</p>
<table class="prov">{% for key, value in prov.items() %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}</table>
<ul class="toc">{% for s in sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}</ul>
{% for s in sections %}
<h2 id="{{ s.id }}">{{ s.title }}</h2>
<p class="note">{{ s.caption }}</p>
{% if s.content is none %}<p class="missing">Not available: {{ s.missing_because }}.</p>
{% elif s.kind == "figure" %}<img src="{{ s.image }}" alt="{{ s.title }}">
<p class="files">{% for label, href in s.links %}{% if not loop.first %} · {% endif %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</p>
{% elif s.kind == "list" %}<ul>{% for label, text in s.content %}<li>{% if label %}<b>{{ label }}.</b> {% endif %}{{ text }}</li>{% endfor %}</ul>
{% else %}<div class="table-wrap"><table><thead><tr>{% for c in s.table.head %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for row in s.table.rows %}<tr{% if row.measured %} class="measured"{% endif %}>{% for css, text in row.cells %}<td{% if css %} class="{{ css }}"{% endif %}>{{ text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
<p class="files"><a href="{{ tables_dir }}/{{ s.id }}.tex">LaTeX</a></p>
{% endif %}{% if s.id == "claims" %}<p class="rule">{{ verdict_rule }}</p>{% endif %}
{% endfor %}
</body></html>
"""
"""The page. Jinja2 escapes every value put into it (autoescape), so nothing read from a results table
can become markup or script."""


def render_page(sections: list[Section], prov: dict[str, str], out: Path) -> str:
    views = []
    for section in sections:
        view = {"id": section.id, "title": section.title, "caption": section.caption, "kind": section.kind,
                "content": section.content, "missing_because": section.missing_because}
        if section.content is not None and section.kind == "figure":
            name = Path(section.content).relative_to(out).as_posix()
            view["image"] = name
            view["links"] = [(c.suffix[1:].upper(), Path(name).with_suffix(c.suffix).as_posix())
                             for c in vector_copies(Path(section.content))]
        elif section.content is not None and section.kind == "table":
            view["table"] = table_rows(section.content)
        views.append(view)
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(PAGE)
    return template.render(css=markupsafe.Markup(CSS), prov=prov, sections=views, tables_dir=TABLES_DIR,
                           verdict_rule=notes.VERDICT_RULE)


REPORT_STEP = "report"
"""The step named in the page folder's marker (``pipelines.files``)."""


def build(results_dir: str | Path, paper_dir: str | Path | None, out: str | Path, overwrite: bool = False) -> Path:
    """Render ``out/index.html`` with its figures and LaTeX tables and return the page's path.

    The folder is built beside ``out`` and renamed into place when complete, so a build that fails
    (a results table that cannot be read, say) leaves ``out`` as it was."""
    paper = load_paper(paper_dir)  # before any output: a wrong paper folder is refused, not rendered empty
    results = load_results(results_dir)
    output = OutputFolder(out, inputs=[results_dir, paper_dir], overwrite=overwrite, step=REPORT_STEP)
    with output as folder:
        render_into(folder, paper, results, load_qualitative(results_dir))
    return output.target / "index.html"


def render_into(out: Path, paper, results: dict, qualitative) -> None:
    prov = provenance(results)
    sections = build_sections(paper, results, out, measured_label(prov), qualitative)
    for section in sections:
        if section.id in FIGURES and section.content is None:
            figures.placeholder(out / FIGURES[section.id][0], section.missing_because)
        if section.kind == "table" and section.content is not None:
            (out / TABLES_DIR).mkdir(exist_ok=True)
            atomic_write_text(out / TABLES_DIR / f"{section.id}.tex", table_latex(section.content, format_value))
    atomic_write_text(out / "index.html", render_page(sections, prov, out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="folder with results/*.csv")
    parser.add_argument("--paper", default=None, help="the paper's tables (default: report/paper_tables)")
    parser.add_argument("--out", default="report/build", help="output folder (replaced as a whole when complete)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out even if this suite did not write it (never the working directory, "
                             "a folder above it, a repository, or another step's folder)")
    args = parser.parse_args(argv)
    if not Path(args.results).is_dir():
        raise FileNotFoundError(f"{args.results}: results folder does not exist")
    path = build(args.results, args.paper, args.out, overwrite=args.overwrite)
    print(f"{path}: written")
    return 0


if __name__ == "__main__":
    run_cli(main)
