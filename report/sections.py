"""The page's sections as data: each one's id, title, kind, how its content is made from the results, the
results it needs, and the run-dependent sentences after its caption. The caption itself is the one of
report/captions/<id>.rst, which `snakemake --report` shows beside the same figure or table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from report import figures, notes, tables
from report.outputs import caption_file
from report.results import gate_summary

SYNTHETIC_NOTE = ("Our numbers come from the synthetic data set when the data line above says synthetic: they test "
                  "the method, not the paper's absolute scores.")


@dataclass(frozen=True)
class Context:
    """What every section is made from."""

    paper: dict
    results: dict
    out: Path
    label: str
    qualitative: dict | None


@dataclass(frozen=True)
class SectionSpec:
    id: str
    title: str
    kind: str  # "figure" | "table" | "list" (of (bold label, text) items)
    render: Callable[[Context], object]
    needs: tuple[str, ...] = ()
    """The results tables it is made from (``qualitative``: results/qualitative.npz)."""
    notes: tuple[str, ...] = ()
    """Run-dependent sentences after the caption, by name (``NOTES``)."""
    caption_of: str | None = None
    """The caption it shares (a results table's), when not its own id's."""



def caption(spec: SectionSpec) -> str:
    """The section's caption, one paragraph."""
    return " ".join(caption_file(spec.caption_of or spec.id).read_text().split())


def seeds_note(context: Context) -> str:
    summary = context.results.get("accuracy_summary")
    if summary is None or "n_seeds" not in summary.columns:
        return ""
    seeds = sorted({int(n) for n in summary[summary["stage"] != "none"]["n_seeds"]})
    return f"Measured accuracies: mean ± standard deviation over {'/'.join(map(str, seeds))} seeds."


def gate_note(context: Context) -> str:
    """Whether the learnt gate is a spotlight or a hole, from results/scm_gates.csv."""
    summary = gate_summary(context.results.get("scm_gates"))
    if summary is None:
        return ""
    parts = [f"{row.variant}/{row.stage}: a {row.shape} (mean gate {row.gate_inside:.2f} inside the previous mask, "
             f"{row.gate_outside:.2f} outside, over {row.objects} objects)" for row in summary.itertuples()]
    return "Measured over every val video: " + "; ".join(parts) + ". The paper's Fig. 5 shows a spotlight."


NOTES: dict[str, Callable[[Context], str]] = {
    "spread": seeds_note,
    "synthetic": lambda context: SYNTHETIC_NOTE,
    "reference_t": lambda context: tables.reference_t_note(context.results),
    "measured_on": lambda context: f"Measured on: {context.label}.",
    "gates": gate_note,
    "speed_protocol": lambda context: tables.speed_protocol(context.results),
}


def gate_table(context: Context):
    summary = gate_summary(context.results.get("scm_gates"))
    if summary is None:
        return None
    return summary.rename(columns={"gate_inside": "gate inside the previous mask", "gate_outside": "gate outside it",
                                   "shape": "spotlight or hole"})


def _grid(name: str) -> Callable[[Context], object]:
    return lambda c: figures.segmentation_grid(c.qualitative, name, c.out)


SECTIONS = [
    SectionSpec("claims", "The paper's claims: reproduced, contradicted or inconclusive", "table",
                lambda c: tables.claims(c.results), ("claims",)),
    SectionSpec("claims_detail", "The same claims in J and in F", "table",
                lambda c: tables.claims(c.results, detail=True), ("claims",)),
    SectionSpec("findings", "Findings of this reproduction", "list", lambda c: notes.findings(c.results)),
    SectionSpec("probes", "What each module does inside a trained model: test-time interventions", "table",
                lambda c: tables.probes(c.results), ("probes",), ("spread",)),
    SectionSpec("probes_figure", "Test-time interventions: the change in J&F", "figure",
                lambda c: figures.probe_effects(c.results, c.out), ("probes",)),
    SectionSpec("reappearance", "Where only memory can know: J&F after a reappearance", "table",
                lambda c: tables.reappearance(c.results), ("accuracy",), ("spread",)),
    SectionSpec("fig5", "Fig. 5: the SCM's gate", "figure", lambda c: figures.scm_gates(c.qualitative, c.out),
                ("qualitative",), ("gates",)),
    SectionSpec("scm_gates", "The SCM's gate inside and outside the previous mask", "table", gate_table,
                ("scm_gates",)),
    SectionSpec("stage_switch", "What pretraining does: the start of the main stage", "figure",
                lambda c: figures.stage_switch(c.results, c.out), ("training_loss",)),
    SectionSpec("table1", "Table 1: training stages", "table", lambda c: tables.table1(c.paper, c.results),
                ("accuracy_summary",), ("spread", "synthetic")),
    SectionSpec("table2", "Table 2: STM memory read versus GCM", "table", lambda c: tables.table2(c.paper, c.results),
                ("accuracy_summary", "speed"), ("spread", "reference_t")),
    SectionSpec("table4", "Table 4: with and without SCM", "table", lambda c: tables.table4(c.paper, c.results),
                ("accuracy_summary", "speed"), ("spread", "synthetic")),
    SectionSpec("attributes", "Where each ablation should show: J&F by video attribute", "figure",
                lambda c: figures.attribute_breakdown(c.results, c.out), ("per_attribute",)),
    SectionSpec("attribute_table", "J&F by video attribute (every run)", "table",
                lambda c: tables.per_attribute(c.results), ("per_attribute",), caption_of="per_attribute"),
    SectionSpec("loss", "Training loss", "figure", lambda c: figures.training_loss(c.results, c.out),
                ("training_loss",)),
    SectionSpec("validation", "Did the main stage converge? Held-out J&F", "figure",
                lambda c: figures.validation_curve(c.results, c.out), ("validation",)),
    SectionSpec("diagnostics", "How each run learns to tell objects apart", "figure",
                lambda c: figures.identity_diagnostics(c.results, c.out), ("validation",)),
    SectionSpec("fig8", "Fig. 8: where the runs differ most", "figure", _grid("fig8"), ("qualitative",)),
    SectionSpec("fig9", "Fig. 9: multi-object videos", "figure", _grid("fig9"), ("qualitative",)),
    SectionSpec("fig10", "Fig. 10: failures", "figure", _grid("fig10"), ("qualitative",)),
    SectionSpec("fig7", "Fig. 7: speed versus accuracy", "figure",
                lambda c: figures.speed_accuracy(c.paper, c.results, c.out, c.label), ("accuracy_summary", "speed"),
                ("measured_on", "reference_t")),
    SectionSpec("memory", "Memory versus t", "figure",
                lambda c: figures.memory_vs_t(c.paper, c.results, c.out, c.label), ("memory_vs_t",)),
    SectionSpec("time", "Seconds per frame versus t", "figure",
                lambda c: figures.time_vs_t(c.paper, c.results, c.out, c.label), ("speed",)),
    SectionSpec("breakdown", "Where a step's time goes", "figure",
                lambda c: figures.time_breakdown(c.results, c.out, c.label), ("speed",)),
    SectionSpec("table3", "Table 3: memory versus t", "table", lambda c: tables.table3(c.paper, c.results),
                ("memory_vs_t",)),
    SectionSpec("table5", "Table 5: DAVIS-2016 and DAVIS-2017 validation", "table",
                lambda c: tables.table5(c.paper, c.results, c.label), ("accuracy_summary",), ("measured_on", "spread")),
    SectionSpec("table6", "Table 6: YouTube-VOS 2018 validation", "table",
                lambda c: tables.table6(c.paper, c.results, c.label), ("accuracy_summary",), ("measured_on",)),
    SectionSpec("train_speed", "Training speed", "table", lambda c: tables.train_speed(c.results), ("train_speed",)),
    SectionSpec("accuracy", "All measured accuracy", "table", lambda c: tables.accuracy_overview(c.results),
                ("accuracy_summary",), caption_of="accuracy_summary"),
    SectionSpec("speed_card", "Speed card: each method's size and time per frame, and how they were measured",
                "table", lambda c: tables.speed_card(c.results), ("speed",), ("speed_protocol",)),
    SectionSpec("speed", "All speed and memory measurements", "table", lambda c: tables.speed_overview(c.results),
                ("speed",)),
    SectionSpec("cost", "What this run cost, by kind of job", "table", lambda c: tables.rule_times(c.results),
                ("rule_times",), caption_of="rule_times"),
    SectionSpec("provenance", "Provenance: one row per run", "table", lambda c: tables.runs(c.results), ("runs",),
                caption_of="runs"),
    SectionSpec("differences", "Where we differ from the paper", "list", lambda c: notes.DIFFERENCES),
]
"""The page, top to bottom."""
