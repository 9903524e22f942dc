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

from pipelines.common.cli import run_cli
from pipelines.common.files import OutputFolder, atomic_write_text
from pipelines.experiment.paper import load_paper
from report import figures, notes, sections
from report.latex import table_latex
from report.outputs import FIGURES, TABLES_DIR
from report.results import RESULT_FILES, distinct, load_qualitative, load_results
from report.style import vector_copies

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
.table-wrap { overflow-x: auto; max-width: 100%; margin: .5em 0 1em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: 3px 5px; text-align: right; overflow-wrap: break-word; }
td.reproduced, td.contradicted, td.inconclusive { white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.measured td { background: #eef6ff; font-weight: 600; }
td.reproduced { background: #e3f4e1; } td.contradicted { background: #fbe3e3; } td.inconclusive { background: #fff6d9; }
.prov td { text-align: left; white-space: normal; } .missing { color: #a33; font-style: italic; }
.caution { background: #fff6d9; border-left: 3px solid #d9a400; padding: .5em 1em; }
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
    return {"head": [breakable(str(c)) for c in frame.columns], "rows": rows}


def breakable(name: str) -> markupsafe.Markup:
    """A column name that may wrap after each underscore (``seconds_per_frame``) and nowhere inside a word,
    escaped like every other value."""
    return markupsafe.Markup("_<wbr>").join(markupsafe.escape(part) for part in name.split("_"))


MIN_DECIDING_SEEDS = 3
"""Below this many seeds the claims' intervals over seeds do not exist or say little."""


def seeds_used(results: dict) -> list[int]:
    """The seeds of the trained runs (results/runs.csv), sorted."""
    runs = results.get("runs")
    if runs is None or "seed" not in runs.columns:
        return []
    return sorted({int(seed) for seed, stage in zip(runs["seed"], runs["stage"], strict=True) if stage != "none"})


def recipe_line(results: dict) -> str:
    """Which recipe made the results: the embedded default, or how many settings differ from it."""
    runs = results.get("runs")
    if runs is None or "changed_keys" not in runs.columns:
        return "unknown (no results/runs.csv)"
    changed = {key.strip() for keys in runs["changed_keys"] for key in str(keys).split(";") if key.strip() != "none"}
    if not changed:
        return "config/config.yaml, the embedded default"
    return f"config/config.yaml with {len(changed)} settings changed (the provenance table names them)"


def provenance(results: dict) -> dict[str, str]:
    data = distinct(results, "data")
    seeds = seeds_used(results)
    return {
        "recipe": recipe_line(results),
        "seeds": f"{len(seeds)} ({', '.join(map(str, seeds))})" if seeds else "unknown (no results/runs.csv)",
        "data": ", ".join(data) if data else "unknown (no accuracy table)",
        "trained on": ", ".join(distinct(results, "train_data")) or "unknown",
        "device": "; ".join(distinct(results, "device")) or "unknown",
        "commit": ", ".join(distinct(results, "commit")) or "unknown",
        "runs": (f"{len(results['runs'])} (one row each in the provenance section below)"
                 if results.get("runs") is not None else "unknown (no results/runs.csv)"),
        "torch": ", ".join(distinct(results, "torch")) or "unknown",
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
    }


def caution(results: dict) -> str:
    """What the reader must know before the numbers, on the first screen: a run of too few seeds decides no
    claim (the smoke run)."""
    seeds = seeds_used(results)
    if seeds and len(seeds) < MIN_DECIDING_SEEDS:
        return (f"{len(seeds)} {'seeds' if len(seeds) > 1 else 'seed'}: these results show that every step runs; they "
                f"cannot decide a claim of the paper (the verdicts need at least {MIN_DECIDING_SEEDS} seeds, the "
                "speed claims several timed repeats).")
    return ""


def measured_label(prov: dict[str, str]) -> str:
    return f"{prov['data']} data, {prov['device']}"


def build_sections(paper: dict, results: dict, out: Path, label: str, qualitative: dict | None = None) -> list[Section]:
    """Every section of ``report.sections.SECTIONS`` made from this run's results."""
    context = sections.Context(paper, results, out, label, qualitative)
    made = []
    for spec in sections.SECTIONS:
        gone = [f"results/{name}.csv" for name in spec.needs if name in RESULT_FILES and results.get(name) is None]
        if "qualitative" in spec.needs and qualitative is None:
            gone.append("results/qualitative.npz")
        why = f"missing: {', '.join(gone)}" if gone else (
            "no frame chosen by its rule" if "qualitative" in spec.needs else "no data to show")
        text = " ".join(filter(None, [sections.caption(spec), *(sections.NOTES[name](context) for name in spec.notes)]))
        made.append(Section(spec.id, spec.title, text, spec.kind, spec.render(context), why))
    return made


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>GVOS-SCM reproduction report</title>
<style>{{ css }}</style></head><body>
<h1>GVOS-SCM reproduction report</h1>
<p>Paper values are labelled <b>reported</b>; ours <b>measured</b>. Missing pieces are noted, not hidden.</p>
{% if caution %}<p class="caution">{{ caution }}</p>{% endif %}
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


def render_page(sections: list[Section], prov: dict[str, str], out: Path, warning: str = "") -> str:
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
    return template.render(css=markupsafe.Markup(CSS), prov=prov, caution=warning, sections=views, tables_dir=TABLES_DIR,
                           verdict_rule=notes.VERDICT_RULE)


REPORT_STEP = "report"
"""The step named in the page folder's marker (``pipelines.common.files``)."""


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
    atomic_write_text(out / "index.html", render_page(sections, prov, out, caution(results)))


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
