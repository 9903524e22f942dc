"""The files the report writes besides index.html, with their Snakemake report category and caption
(report/captions/<id>.rst): one list for report.build and the workflow's render_report rule."""

from __future__ import annotations

from pathlib import Path

CAPTIONS = Path(__file__).resolve().parent / "captions"
"""One caption per figure and table, <id>.rst: the page's and `snakemake --report`'s."""


def caption_file(key: str) -> Path:
    return CAPTIONS / f"{key}.rst"

FIGURES = {
    # section id: (file in report/build, category in `snakemake --report`)
    "probes_figure": ("probes.png", "Mechanism probes"),
    "fig5": ("fig5_scm_gates.png", "Fig. 5: the SCM's gate"),
    "fig8": ("fig8_segmentations.png", "Figs. 8-10: segmentations"),
    "fig9": ("fig9_segmentations.png", "Figs. 8-10: segmentations"),
    "fig10": ("fig10_segmentations.png", "Figs. 8-10: segmentations"),
    "stage_switch": ("stage_switch.png", "Table 1: training stages"),
    "attributes": ("attributes.png", "Tables 2 and 4: ablations"),
    "loss": ("training_loss.png", "Training"),
    "validation": ("validation.png", "Training"),
    "diagnostics": ("identity_diagnostics.png", "Training"),
    "fig7": ("fig7_speed_accuracy.png", "Fig. 7 and Table 5: speed versus accuracy"),
    "memory": ("memory_vs_t.png", "Table 3: memory versus t"),
    "time": ("time_vs_t.png", "Table 2: speed"),
    "breakdown": ("time_breakdown.png", "Table 2: speed"),
}
TABLES_DIR = "tables"  # report/build/tables/<section id>.tex: every table of the page as LaTeX
TABLES = {
    # results table: category
    "claims": "Claims of the paper",
    "probes": "Mechanism probes",
    "scm_gates": "Fig. 5: the SCM's gate",
    "accuracy_summary": "Tables 1, 2, 4, 5, 6: accuracy",
    "per_attribute": "Tables 2 and 4: ablations",
    "speed": "Table 2: speed",
    "memory_vs_t": "Table 3: memory versus t",
    "train_speed": "Training",
    "rule_times": "Cost of the run",
    "runs": "Provenance",
}
