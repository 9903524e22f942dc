"""report.build on small fake results made here: every figure and table lands on the page, and a
missing CSV becomes a note instead of a crash."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.common.results_tables import OURS_SETTING, TIMING_MODES
from pipelines.experiment.paper import PAPER_FILES, default_paper_dir
from report.build import build, main
from report.screenshot import HEADLESS_FLAGS, find_chromium
from report.style import TWO_COLUMN_IN

REPO = Path(__file__).resolve().parent.parent
PROV = {"data": "synthetic", "device": "cpu: test", "commit": "abc123", "config_hash": "h0"}
SECTION_IDS = ["claims", "claims_detail", "probes", "probes_figure", "reappearance", "fig5", "scm_gates", "stage_switch", "table1", "table2", "table4", "attributes", "attribute_table", "loss",
               "validation", "diagnostics", "fig8", "fig9", "fig10", "fig7", "memory", "time", "breakdown", "table3", "table5", "table6", "train_speed",
               "accuracy", "speed_card", "speed", "cost", "provenance"]
FIGURES = ["fig7_speed_accuracy.png", "memory_vs_t.png", "time_vs_t.png", "time_breakdown.png",
           "training_loss.png", "validation.png", "identity_diagnostics.png", "stage_switch.png", "attributes.png", "probes.png",
           "fig5_scm_gates.png", "fig8_segmentations.png", "fig9_segmentations.png", "fig10_segmentations.png"]
RUNS = [("gvos_scm", "pretrain_only"), ("gvos_scm", "main_only"), ("gvos_scm", "full"), ("stm_read", "full"),
        ("no_scm", "full"), ("copy_first_frame", "none")]


def write_fake_results(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, ((variant, stage), dataset) in enumerate(itertools.product(RUNS, ["davis2017", "davis2016", "youtubevos"])):
        split = "valid" if dataset == "youtubevos" else "val"
        row = {"variant": variant, "stage": stage, "seed": 0, "dataset": dataset, "split": split,
               "J&F-Mean": 40.0 + index, "J-Mean": 39.0 + index, "F-Mean": 41.0 + index, "J-Recall": 50.0,
               "J-Decay": 1.0, "F-Recall": 52.0, "F-Decay": 2.0, "JF_ci_low": 35.0 + index,
               "JF_ci_high": 45.0 + index, "n_objects": 20, **PROV}
        if dataset != "youtubevos":
            row.update({"J&F_r": 20.0 + index, "J&F_d": 80.0, "n_objects_r": 6, "n_objects_d": 6})
        if dataset == "youtubevos":
            row.update(J_seen=50.0, J_unseen=30.0, F_seen=55.0, F_unseen=35.0, overall=42.5)
        rows.append(row)
    pd.DataFrame(rows).to_csv(root / "accuracy.csv", index=False)
    speed = []
    for variant, t in itertools.product(["gvos_scm", "stm_read", "no_scm"], [1, 10, 100]):
        spf = 0.1234 if variant != "stm_read" else 0.1234 * (1 + t / 20)
        speed.append({"variant": variant, "backbone": "resnet18", "height": 64, "width": 112, "dtype": "float32",
                      "objects": 2, "t": t, "seconds_per_frame": spf, "seconds_per_frame_min": spf * 0.9,
                      "seconds_per_frame_max": spf * 1.1, "fps": 1 / spf,
                      "memory_bytes": 1000 if variant != "stm_read" else 4_000_000 * t,
                      "peak_memory_bytes": 10**8, "peak_memory_kind": "rss", "repeats": 3, "warmup": 1,
                      "torch": "2.x", "threads": 2, **PROV,
                      "seconds_query_encoder": 0.01, "seconds_readout": spf - 0.04, "seconds_decoder": 0.02,
                      "seconds_memorize": 0.01, "gflops_per_frame": 3.0 + t / 10})
    pd.DataFrame(speed).to_csv(root / "speed.csv", index=False)
    pd.DataFrame(speed).to_csv(root / "memory_vs_t.csv", index=False)
    loss = [{"variant": v, "stage": s, "seed": seed, "iteration": i, "loss": 1.0 / (i + 1) + seed / 10,
             "grad_norm": 3.0 + seed, **PROV}
            for (v, s) in RUNS[:5] for seed in (0, 1) for i in range(0, 50, 10)]
    pd.DataFrame(loss).to_csv(root / "training_loss.csv", index=False)
    checks = [{"variant": v, "stage": s, "seed": seed, "iteration": i, "J": 30.0 + i, "F": 32.0 + i, "J&F": 31.0 + i,
               "objects": 12, "J&F_multi": 29.0 + i, "gate_inside": float("nan") if v == "no_scm" else 0.6,
               "gate_outside": float("nan") if v == "no_scm" else 0.1}
              for (v, s) in RUNS[1:5] for seed in (0, 1) for i in (100, 200)]
    pd.DataFrame(checks).to_csv(root / "validation.csv", index=False)
    attributes = [{"variant": v, "stage": s, "dataset": "davis2017", "attribute": a, "has": has,
                   "J&F-Mean": 40.0 + 5 * has, "n_seeds": 1, "n_sequences": 5, "n_objects": 9}
                  for (v, s) in RUNS for a in ("distractor", "occlusion") for has in (0, 1)]
    pd.DataFrame(attributes).to_csv(root / "per_attribute.csv", index=False)
    claims = [{"claim": "SCM adds accuracy", "paper_table": "Table 4", "metric": "J&F", "dataset": "davis2017",
               "reported": 4.8, "measured": 1.234, "ci_low": -0.5, "ci_high": 2.9, "detectable": 1.7, "n_seeds": 3,
               "n_objects": 119, "verdict": "inconclusive", "kind": "greater", "a": "gvos_scm/full", "b": "no_scm/full"},
              {"claim": "SCM adds accuracy", "paper_table": "Table 4", "metric": "J", "dataset": "davis2017",
               "reported": 4.1, "measured": 0.9, "ci_low": -0.8, "ci_high": 2.6, "detectable": 1.7, "n_seeds": 3,
               "n_objects": 119, "verdict": "inconclusive", "kind": "greater", "a": "gvos_scm/full", "b": "no_scm/full"},
              {"claim": "GCM read is 3x faster than STM read", "paper_table": "Table 2", "metric": "s/frame STM / GCM",
               "dataset": "benchmark", "reported": 3.0, "measured": 2.1234, "ci_low": 1.9, "ci_high": 2.3,
               "detectable": 0.2, "n_seeds": float("nan"), "n_objects": float("nan"), "verdict": "contradicted",
               "kind": "ratio", "a": "gvos_scm/any", "b": "stm_read/any"}]
    pd.DataFrame(claims).to_csv(root / "claims.csv", index=False)
    pd.DataFrame([{"variant": "gvos_scm", "stage": "main", "backbone": "resnet18", "crop_height": 64,
                   "crop_width": 112, "batch_size": 4, "num_frames": 3, "max_objects": 3,
                   "iterations_per_second": 2.345, "seconds_per_iteration": 0.4264, "seconds_data": 0.016,
                   "seconds_forward": 0.141, "seconds_backward": 0.266, "seconds_optimizer": 0.007,
                   "gflops_per_iteration": 21.23, "achieved_gflops_per_second": 48.4,
                   "matmul_peak_gflops_per_second": 88.5, "peak_memory_bytes": 10**9, "threads": 1,
                   "device": "cpu: test"}]).to_csv(root / "train_speed.csv", index=False)
    pd.DataFrame([{"variant": v, "stage": s, "seed": 0, "run_hash": f"hash{i}", "commit": "abc123",
                   "device": "cpu: test", "precision": "float32",
                   "changed_keys": "train.main.lr=0.001" if s != "none" else "none"}
                  for i, (v, s) in enumerate(RUNS)]).to_csv(root / "runs.csv", index=False)
    pd.DataFrame([{"rule": "train", "jobs": 21, "wall_s": 1000.0, "cpu_s": 990.0, "max_rss_mb": 900.0,
                   "per_seed_jobs": 21}]).to_csv(root / "rule_times.csv", index=False)
    write_fake_probes_and_frames(root)


def write_fake_probes_and_frames(root: Path) -> None:
    """probes.csv, scm_gates.csv and qualitative.npz as pipelines.probes / pipelines.qualitative write them."""
    import json

    import numpy as np

    rows = []
    for (variant, stage), name, seed in itertools.product(RUNS[:5], ["scm_mask_zero", "readout_zero"], (0, 1)):
        if variant == "no_scm" and name.startswith("scm"):
            continue
        rows.append({"variant": variant, "stage": stage, "seed": seed, "dataset": "davis2017", "split": "val",
                     "intervention": name, "target": name.rsplit("_", 1)[0], "J&F": 20.0 + seed, "J": 19.0, "F": 21.0,
                     "reference_J&F": 60.0 + seed, "delta_J&F": -40.0, "delta_J": -41.0, "delta_F": -39.0,
                     "mean_delta_J&F": -40.0, "ci_low": -47.25, "ci_high": -32.5, "n_seeds": 2, "n_objects": 9,
                     "J&F_r": 5.0, "reference_J&F_r": 30.0, "delta_J&F_r": -25.0, "mean_delta_J&F_r": -25.0,
                     "ci_low_r": -38.0, "ci_high_r": -12.0, "n_objects_r": 3, "config_hash": "h0"})
    pd.DataFrame(rows).to_csv(root / "probes.csv", index=False)
    pd.DataFrame([{"variant": "gvos_scm", "stage": "full", "seed": 0, "sequence": "v0", "object": o,
                   "gate_inside": 0.07, "gate_outside": 0.53, "frames": 4} for o in (1, 2)]).to_csv(
        root / "scm_gates.csv", index=False)
    runs = ["gvos_scm/full", "no_scm/full"]
    labels = np.zeros((24, 40), np.uint8)
    labels[4:12, 4:20], labels[14:22, 22:38] = 1, 2
    arrays = {"image/v0": np.full((24, 40, 3), 128, np.uint8), "truth/v0": labels,
              "gate/gvos_scm/full/v0": np.random.default_rng(0).random((2, 3, 5)).astype(np.float16),
              "previous/gvos_scm/full/v0": np.ones((2, 3, 5), np.float16)}
    arrays.update({f"prediction/{run}/v0": labels for run in runs})
    layout = {"seed": 0, "grid_runs": runs, "fig5": {"videos": ["v0"], "runs": ["gvos_scm/full"]}, "fig8": ["v0"],
              "fig9": ["v0"], "fig10": [["gvos_scm/full", "v0"]], "frames": {"v0": 2}, "objects": {"v0": [1, 2]}}
    np.savez_compressed(root / "qualitative.npz", layout=np.array(json.dumps(layout)), **arrays)


def page_text(out: Path) -> str:
    return (out / "index.html").read_text(encoding="utf-8")


def test_full_report_lists_every_figure_and_table(built):
    out = built["out"]
    text = page_text(out)
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, name
        assert f'src="{name}"' in text
    for section in SECTION_IDS:
        assert f'id="{section}"' in text
    assert "Not available" not in text
    assert "synthetic" in text and "cpu: test" in text and "abc123" in text
    assert text.index('id="claims"') < text.index('id="table1"') < text.index('id="fig7"')
    assert text.index('id="findings"') < text.index('id="probes"') < text.index('id="stage_switch"')  # first ablation
    probes = text[text.index('id="probes"'):text.index('id="probes_figure"')]
    assert "-40.0 [-47.2, -32.5]" in probes and "60.5 ± 0.7" in probes
    assert "gvos_scm/full: a hole (mean gate 0.07 inside the previous mask, 0.53 outside" in text
    claims = text[text.index('id="claims"'):text.index('id="claims_detail"')]
    assert "0.9 [-0.8, 2.6]" not in claims and "0.9 [-0.8, 2.6]" in text  # J: the detail table only
    assert claims.index("inconclusive") < claims.index("1.2 [-0.5, 2.9]") < claims.index("4.8")  # verdict, ours, paper
    assert "1.2 [-0.5, 2.9]" in text and 'class="inconclusive"' in text and "paired interval over seeds and sequences" in text
    assert "2.12 [1.90, 2.30]" in text  # a ratio keeps two decimals
    provenance = text[text.index('id="provenance"'):]
    for index, (variant, stage) in enumerate(RUNS):  # one row per run, with its hash
        assert f"<tr><td>{variant}</td><td>{stage}</td><td>0</td><td>hash{index}</td>" in provenance
    assert provenance.count("train.main.lr=0.001") == len(RUNS) - 1
    assert "0.426" in text  # seconds per iteration: three significant digits
    table2 = text[text.index('id="table2"'):text.index('id="table4"')]
    assert "<td>0.123</td>" in table2  # gvos_scm's seconds per frame, not "0.1"
    # paper beside measured: a reported literature value and one of our rows in Table 5
    assert "88.7" in text  # OURS DAVIS-2016 J&F as printed in Table 5
    assert "gvos_scm (full)" in text and "reported" in text and "measured" in text


def test_a_paper_folder_without_the_papers_tables_is_refused(tmp_path):
    """a wrong report.paper_dir dropped every literature row silently."""
    from pipelines.common.files import DataError

    results = tmp_path / "results"
    results.mkdir()
    with pytest.raises(DataError, match="no paper table here"):
        build(results, tmp_path / "no_paper", tmp_path / "build")
    assert not (tmp_path / "build").exists()


def test_report_renders_without_any_results(tmp_path, monkeypatch):
    import report.build
    from pipelines.experiment.paper import PAPER_FILES

    results, out = tmp_path / "results", tmp_path / "build"
    results.mkdir()
    monkeypatch.setattr(report.build, "load_paper", lambda paper_dir: dict.fromkeys(PAPER_FILES))  # none of them
    build(results, None, out)
    text = page_text(out)
    for section in SECTION_IDS:
        assert f'id="{section}"' in text
    assert text.count("Not available") == len(SECTION_IDS)  # the findings and differences are text, always there
    assert "results/accuracy_summary.csv" in text


def test_missing_speed_table_is_a_note(tmp_path):
    results, out = tmp_path / "results", tmp_path / "build"
    write_fake_results(results)
    (results / "speed.csv").unlink()
    build(results, None, out)
    text = page_text(out)
    assert "missing: results/speed.csv" in text
    assert (out / "memory_vs_t.png").is_file() and 'src="time_vs_t.png"' not in text
    assert (out / "time_vs_t.png").stat().st_size < 20_000  # a placeholder for Snakemake's report, not shown


def test_paper_files_exist_under_the_default_path():
    paper = default_paper_dir()
    assert all((paper / name).is_file() for name in PAPER_FILES.values())


def test_cli_rejects_missing_results_folder(tmp_path, capsys):
    from pipelines.common.cli import run_cli

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--results", str(tmp_path / "nope"), "--out", str(tmp_path / "b")])
    assert exit_info.value.code == 2
    assert "results folder does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "column", "shown"), [
    (0.1234, "Time (s/frame) (measured)", "0.123"), (0.154, "seconds_per_frame", "0.154"),
    (3.4321, "seconds_per_frame", "3.43"), (47.94, "DAVIS-2017 J&F (reported)", "47.9"),
    (float("nan"), "DAVIS-2017 J", "–"), (119, "objects", "119"), (2.345, "iterations_per_second", "2.35"),
    (0.7312, "gate inside the previous mask", "0.731"), (0.0443, "gate outside it", "0.0443"),
])
def test_numbers_keep_the_precision_that_carries_information(value, column, shown):
    from report.build import format_value

    assert format_value(value, column) == shown


def test_head_start_finding_states_seed_mean_losses():
    from report.notes import _head_start
    rows = [{"variant": "gvos_scm", "stage": stage, "seed": seed, "iteration": it,
             "loss": (5.0 if stage == "main_only" else 3.0) + seed if it == 10 else 2.0 + seed}
            for stage in ("main_only", "full") for seed in (0, 1) for it in (10, 50, 100)]
    text = _head_start(pd.DataFrame(rows))
    assert "iteration 10 is 3.50 from pretraining against 5.50 from scratch" in text
    assert "at iteration 100 2.50 against 2.50" in text
    assert _head_start(pd.DataFrame(rows[:3])) is None  # main_only only: nothing to compare


# ---------------------------------------------------------------- the formats a paper takes

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """`make figures`'s command (report.build) run once on the fake results in a folder that also holds a
    run, a prediction and an evaluation: the page and every file's mtime before/after."""
    root = tmp_path_factory.mktemp("figures")
    write_fake_results(root / "results")
    for folder in ("runs/gvos_scm/full/seed0", "predictions/gvos_scm", "evaluations/gvos_scm"):
        (root / folder).mkdir(parents=True)
        (root / folder / "kept.pt").write_bytes(b"checkpoint")
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    done = subprocess.run([sys.executable, "-m", "report.build", "--results", "results", "--out", "report/build"],
                          cwd=root, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"root": root, "out": root / "report" / "build", "before": before, "log": done.stdout + done.stderr, "after": {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}}


def test_every_figure_is_also_a_pdf_and_an_svg_with_its_text_as_text_at_a_columns_width(built):
    out = built["out"]
    text = page_text(out)
    for name in FIGURES:
        pdf, svg = (out / name).with_suffix(".pdf").read_bytes(), (out / name).with_suffix(".svg").read_text()
        assert b"/FontFile2" in pdf and b"/Type3" not in pdf, name  # TrueType embedded (pdf.fonttype 42)
        assert "<text" in svg, name  # svg.fonttype none: text stays text
        box = re.search(rb"/MediaBox \[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
        assert box and abs(float(box.group(1)) - 72 * TWO_COLUMN_IN) < 0.5, (name, box)  # a column's width, uncropped
        assert f'href="{Path(name).with_suffix(".pdf")}"' in text and f'href="{Path(name).with_suffix(".svg")}"' in text


def test_a_pdf_figure_renders_and_keeps_its_text(built, tmp_path):
    """poppler (pdftoppm, pdftotext) where installed: the PDF rasterises and its words can be searched."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed here: the PDF is not rendered")
    pdf = (built["out"] / "fig7_speed_accuracy.png").with_suffix(".pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-singlefile", str(pdf), str(tmp_path / "page")], check=True,
                   timeout=60)
    assert (tmp_path / "page.png").stat().st_size > 1000
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "Speed versus accuracy" in words and "reported" in words and "measured" in words


def _tabular_rows(tex: str) -> tuple[str, list[str]]:
    lines = tex.strip().splitlines()
    spec = lines[0].removeprefix("\\begin{tabular}{").removesuffix("}")
    rows = [line for line in lines if line.endswith(r"\\")]
    return spec, rows


def test_every_table_of_the_page_is_a_booktabs_latex_table(built, tmp_path):
    out = built["out"]
    text = page_text(out)
    tables = sorted((out / "tables").glob("*.tex"))
    table_ids = re.findall(r'<p class="files"><a href="tables/([a-z0-9_]+)\.tex">LaTeX</a>', text)
    assert sorted(table_ids) == sorted(p.stem for p in tables) and "claims" in table_ids and "table5" in table_ids
    for path in tables:
        tex = path.read_text()
        assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1, path.name
        spec, rows = _tabular_rows(tex)
        assert len(rows) >= 2, path.name
        for row in rows:  # every row has the spec's column count (no unescaped & inside a cell)
            assert len(re.split(r"(?<!\\)&", row)) == len(spec), (path.name, row)
    claims = (out / "tables" / "claims.tex").read_text()
    assert r"J\&F" in claims and r"95\% interval" in claims and r"$\pm$" in claims
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed here: the tables' compilation is not checked")
    document = tmp_path / "doc.tex"
    document.write_text("\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
                        + "".join(f"\\input{{{p}}}\n" for p in tables) + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", document.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_make_figures_rebuilds_the_page_from_the_results_alone(built):
    """`make figures` (report.build) writes under report/build only: no run, prediction or evaluation."""
    root, before, after = built["root"], built["before"], built["after"]
    assert {p: t for p, t in after.items() if p in before} == before  # nothing touched
    new = [p.relative_to(root).as_posix() for p in after if p not in before]
    assert new and all(name.startswith("report/build/") for name in new)
    assert all((built["out"] / name).is_file() for name in FIGURES)
    assert "fontTools" not in built["log"], "font subsetting chatter in the log"
    assert len(built["log"].splitlines()) < 20, built["log"][-2000:]
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    assert "figures: $(STAMP)\n\t$(PY) -m report.build --results results --out report/build" in makefile


def test_the_first_screen_says_which_recipe_and_how_many_seeds_and_one_seed_decides_nothing(tmp_path):
    from report.build import caution, provenance
    from report.tables import claim_cell

    runs = pd.DataFrame([{"variant": "gvos_scm", "stage": "full", "seed": 0, "run_hash": "h", "commit": "c",
                          "device": "cpu", "precision": "float32", "changed_keys": "train.main.iterations=3"}])
    prov = provenance({"runs": runs})
    assert prov["seeds"] == "1 (0)" and prov["recipe"].startswith("config/config.yaml with 1 settings changed")
    assert "cannot decide a claim" in caution({"runs": runs})
    three = pd.concat([runs.assign(seed=seed, changed_keys="none") for seed in (0, 1, 2)])
    assert caution({"runs": three}) == "" and provenance({"runs": three})["recipe"].endswith("the embedded default")
    row = {"kind": "ratio", "measured": 2.61, "ci_low": 2.61, "ci_high": 2.61}
    assert claim_cell(pd.Series(row)) == "2.61 (one timed repeat: no interval)"
    row = {"kind": "greater", "measured": 4.0, "ci_low": float("nan"), "ci_high": float("nan")}
    assert claim_cell(pd.Series(row)) == "4.0 (one seed: no interval)"
    assert claim_cell(pd.Series({"kind": "exact", "measured": 0.0205, "ci_low": 0.0205, "ci_high": 0.0205})) \
        == "0.0205 (exact)"


CHROMIUM = find_chromium()
MEASURE_TABLES = """<script>
window.addEventListener('load', () => {
  const widths = [];
  let section = 'top';
  for (const element of document.querySelectorAll('h2, table')) {
    if (element.tagName === 'H2') { section = element.id; continue; }
    widths.push([section, element.scrollWidth, element.parentElement.clientWidth]);
  }
  const out = document.createElement('pre');
  out.id = 'table-widths';
  out.textContent = JSON.stringify(widths);
  document.body.appendChild(out);
});
</script>"""


NO_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (Debian: apt install chromium): the "
                                 "page's layout is checked in a real browser only where one is installed")


def table_widths(page_dir: Path, profile: Path) -> list[tuple[str, int, int]]:
    """(section, table's scroll width, width of the box holding it) of every table of the page in
    page_dir, measured by Chromium in a 1300x900 window."""
    import html
    import json

    page = (page_dir / "index.html").read_text(encoding="utf-8")
    probe = page_dir / "measure_tables.html"
    probe.write_text(page.replace("</body>", MEASURE_TABLES + "</body>"), encoding="utf-8")
    try:
        run = subprocess.run([CHROMIUM, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "--window-size=1300,900",
                              "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
    found = re.search(r'<pre id="table-widths">([^<]*)</pre>', run.stdout)
    assert found, run.stderr[-2000:]
    return [tuple(w) for w in json.loads(html.unescape(found.group(1)))]


@NO_CHROMIUM
def test_no_table_of_the_page_scrolls_sideways_at_1300_px_in_chromium(built, tmp_path):
    """Every table of the page fits its column at a 1300x900 window: measured by the browser itself
    (the table's scroll width against the width of the box holding it)."""
    widths = table_widths(built["out"], tmp_path / "profile")
    assert len(widths) >= 10
    assert not [(section, width, box) for section, width, box in widths if width > box]


@NO_CHROMIUM
def test_no_table_of_the_default_runs_page_scrolls_sideways_in_chromium(tmp_path):
    """The same on the page of the committed default run (docs/default-run/results)."""
    build(REPO / "docs" / "default-run" / "results", None, tmp_path / "page")
    widths = table_widths(tmp_path / "page", tmp_path / "profile")
    assert len(widths) >= 15
    assert not [(section, width, box) for section, width, box in widths if width > box]


@NO_CHROMIUM
def test_the_screenshot_is_the_pages_first_screen_at_1300_by_900(built, tmp_path):
    from PIL import Image

    from report.screenshot import main as screenshot

    assert screenshot([str(built["out"] / "index.html"), str(tmp_path / "screen.png")]) == 0
    with Image.open(tmp_path / "screen.png") as image:
        low, high = image.convert("L").getextrema()
        assert image.size == (1300, 900) and high - low > 100  # not a blank window


def add_fake_peers(root: Path) -> None:
    """speed.csv and memory_vs_t.csv rows of two other methods (methods.peers): STCN, whose authors report
    a DAVIS-2016 J&F, and Cutie small, whose do not; every row with the step's own memory."""
    speed = pd.read_csv(root / "speed.csv")
    speed["step_memory_bytes"] = 5 * 2**20
    speed["setting"] = OURS_SETTING
    peers = [{**speed.iloc[0].to_dict(), "variant": name, "t": t, "seconds_per_frame": spf, "fps": 1 / spf,
              "seconds_per_frame_min": spf * 0.9, "seconds_per_frame_max": spf * 1.1, "memory_bytes": per_frame * min(t, cap), "step_memory_bytes": 50 * 2**20}
             for name, spf, per_frame, cap in (("stcn", 0.4, 2**20, 10**6), ("cutie_small", 0.2, 2**19, 5),
                                               ("sam2.1_tiny", 5.0, 2**20, 10**6))
             for t in (1, 10, 100)]
    for row in peers:
        row["timing_mode"] = TIMING_MODES[row["variant"] != "sam2.1_tiny"]
        row["setting"] = f"{row['variant']}'s published defaults"
    table = pd.concat([speed, pd.DataFrame(peers)], ignore_index=True)
    table.to_csv(root / "speed.csv", index=False)
    table.to_csv(root / "memory_vs_t.csv", index=False)


def test_fig7_and_the_memory_figure_draw_the_timed_peers(tmp_path, monkeypatch):
    import report.figures as figures

    write_fake_results(tmp_path / "results")
    add_fake_peers(tmp_path / "results")
    drawn: dict[str, tuple[list, list[str]]] = {}
    write = figures._write

    def keep(fig, path):
        drawn[Path(path).name] = (fig.axes, [text.get_text() for text in fig.findobj(figures.plt.Text)])
        return write(fig, path)

    monkeypatch.setattr(figures, "_write", keep)
    build(tmp_path / "results", None, tmp_path / "build", overwrite=True)
    axes, texts = drawn["fig7_speed_accuracy.png"]
    # STCN at 1 / 0.4 s frames per second and its authors' 91.7; Cutie, with no reported number, on the strip
    main, strip = axes[0], axes[1]
    stcn = [c for c in main.collections if any("stcn" in str(label) for label in [c.get_label()])]
    assert len(stcn) == 1 and stcn[0].get_offsets().tolist() == [[2.5, 91.7]]
    assert "cutie_small" in texts and "sam2.1_tiny" in texts
    assert sorted(c.get_offsets().tolist()[0] for c in strip.collections) == [[0.2, 0.0], [5.0, 1.0]]
    axes, texts = drawn["memory_vs_t.png"]
    assert len(axes) == 2 and "what a step needs on top of what is resident" in texts
    step_lines = {line.get_label(): line.get_ydata().tolist() for line in axes[1].lines}
    assert [50.0, 50.0, 50.0] in step_lines.values() and [5.0, 5.0, 5.0] in step_lines.values()


def test_the_speed_card_marks_a_method_timed_in_successive_steps(tmp_path):
    from report.results import load_results
    from report.tables import speed_card, speed_protocol

    write_fake_results(tmp_path / "results")
    add_fake_peers(tmp_path / "results")
    results = load_results(tmp_path / "results")
    card = speed_card(results).set_index("method")
    assert "sam2.1_tiny (successive steps)" in card.index and "stcn" in card.index
    assert card.loc["stcn", "a step's own MiB (max)"] == "50"
    assert "successive steps" in speed_protocol(results)


def test_more_series_than_the_palette_has_colours_still_draw():
    from report.style import variant_colour

    colours = [variant_colour(f"method_{index}") for index in range(25)]
    assert len(colours) == 25 and variant_colour("gvos_scm") == variant_colour("gvos_scm")


def test_the_speed_card_keeps_two_frame_sizes_apart(tmp_path):
    from report.results import load_results
    from report.tables import speed_card

    write_fake_results(tmp_path / "results")
    speed = pd.read_csv(tmp_path / "results" / "speed.csv")
    larger = speed.assign(height=128, width=224, seconds_per_frame=speed["seconds_per_frame"] * 4)
    both = pd.concat([speed, larger], ignore_index=True)
    both.to_csv(tmp_path / "results" / "speed.csv", index=False)
    card = speed_card(load_results(tmp_path / "results")).set_index("method")
    assert {"gvos_scm at 64x112", "gvos_scm at 128x224"} <= set(card.index)
    assert card.loc["gvos_scm at 128x224", "s/frame at t=1"].startswith("0.494")


def test_the_speed_card_states_memory_at_one_t_every_method_shares(tmp_path):
    from report.results import load_results
    from report.tables import speed_card

    write_fake_results(tmp_path / "results")
    add_fake_peers(tmp_path / "results")
    speed = pd.read_csv(tmp_path / "results" / "speed.csv")
    longer = speed[(speed["variant"] == "sam2.1_tiny") & (speed["t"] == 100)].assign(t=1000, memory_bytes=1800 * 2**20)
    pd.concat([speed, longer], ignore_index=True).to_csv(tmp_path / "results" / "speed.csv", index=False)
    card = speed_card(load_results(tmp_path / "results")).set_index("method")
    assert [c for c in card.columns if c.startswith("state MiB")] == ["state MiB at t=100"]
    assert card.loc["sam2.1_tiny (successive steps)", "state MiB at t=100"] == "100"
    assert card.loc["sam2.1_tiny (successive steps)", "s/frame at t=1000"].startswith("5 [")
