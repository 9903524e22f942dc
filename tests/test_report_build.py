"""report.build on small fake results made here: every figure and table lands on the page, and a
missing CSV becomes a note instead of a crash."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from report.build import build, main
from report.paper import PAPER_FILES, default_paper_dir

PROV = {"data": "synthetic", "device": "cpu: test", "commit": "abc123", "config_hash": "h0"}
SECTION_IDS = ["fig7", "memory", "time", "breakdown", "loss", "table1", "table2", "table3", "table4", "table5", "table6",
               "accuracy", "speed"]
FIGURES = ["fig7_speed_accuracy.png", "memory_vs_t.png", "time_vs_t.png", "time_breakdown.png",
           "training_loss.png"]
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
        if dataset == "youtubevos":
            row.update(J_seen=50.0, J_unseen=30.0, F_seen=55.0, F_unseen=35.0, overall=42.5)
        rows.append(row)
    pd.DataFrame(rows).to_csv(root / "accuracy.csv", index=False)
    speed = []
    for variant, t in itertools.product(["gvos_scm", "stm_read", "no_scm"], [1, 10, 100]):
        spf = 0.05 if variant != "stm_read" else 0.05 * (1 + t / 20)
        speed.append({"variant": variant, "backbone": "resnet18", "height": 64, "width": 112, "dtype": "float32",
                      "t": t, "seconds_per_frame": spf, "seconds_per_frame_min": spf * 0.9,
                      "seconds_per_frame_max": spf * 1.1, "fps": 1 / spf,
                      "memory_bytes": 1000 if variant != "stm_read" else 4_000_000 * t,
                      "peak_memory_bytes": 10**8, "peak_memory_kind": "rss", "repeats": 3, "warmup": 1,
                      "torch": "2.x", "threads": 2, **PROV,
                      "seconds_query_encoder": 0.01, "seconds_readout": spf - 0.04, "seconds_decoder": 0.02,
                      "seconds_memorize": 0.01, "gflops_per_frame": 3.0 + t / 10})
    pd.DataFrame(speed).to_csv(root / "speed.csv", index=False)
    pd.DataFrame(speed).to_csv(root / "memory_vs_t.csv", index=False)
    loss = [{"variant": v, "stage": s, "seed": 0, "iteration": i, "loss": 1.0 / (i + 1), **PROV}
            for (v, s) in RUNS[:5] for i in range(0, 50, 10)]
    pd.DataFrame(loss).to_csv(root / "training_loss.csv", index=False)


def page_text(out: Path) -> str:
    return (out / "index.html").read_text(encoding="utf-8")


def test_full_report_lists_every_figure_and_table(tmp_path):
    results, out = tmp_path / "results", tmp_path / "build"
    write_fake_results(results)
    build(results, None, out)
    text = page_text(out)
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, name
        assert f'src="{name}"' in text
    for section in SECTION_IDS:
        assert f'id="{section}"' in text
    assert "Not available" not in text
    assert "synthetic" in text and "cpu: test" in text and "abc123" in text
    # paper beside measured: a reported literature value and one of our rows in Table 5
    assert "88.7" in text  # OURS DAVIS-2016 J&F as printed in Table 5
    assert "gvos_scm (full)" in text and "reported" in text and "measured" in text


def test_report_renders_without_any_results(tmp_path):
    results, out = tmp_path / "results", tmp_path / "build"
    results.mkdir()
    build(results, tmp_path / "no_paper", out)
    text = page_text(out)
    for section in SECTION_IDS:
        assert f'id="{section}"' in text
    assert text.count("Not available") == len(SECTION_IDS)
    assert "results/accuracy_summary.csv" in text


def test_missing_speed_table_is_a_note(tmp_path):
    results, out = tmp_path / "results", tmp_path / "build"
    write_fake_results(results)
    (results / "speed.csv").unlink()
    build(results, None, out)
    text = page_text(out)
    assert "missing: results/speed.csv" in text
    assert (out / "memory_vs_t.png").is_file() and not (out / "time_vs_t.png").exists()


def test_paper_files_exist_under_the_default_path():
    paper = default_paper_dir()
    assert all((paper / name).is_file() for name in PAPER_FILES.values())


def test_cli_rejects_missing_results_folder(tmp_path, capsys):
    from pipelines.cli import run_cli

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, ["--results", str(tmp_path / "nope"), "--out", str(tmp_path / "b")])
    assert exit_info.value.code == 2
    assert "results folder does not exist" in capsys.readouterr().err
