"""End to end: `snakemake --cores 2 report --configfile config/smoke.yaml` in a temporary --directory
writes every results table and the report page; a deleted results table is rebuilt by a plain rerun;
`snakemake --report` packs every figure and table with its caption."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent


def smoke(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2",
         *extra, "report", "--configfile", str(REPO / "config" / "smoke.yaml")],  # --configfile takes several values: last
        capture_output=True, text=True, timeout=900,
    )


def test_smoke_workflow_end_to_end(tmp_path):
    start = time.perf_counter()
    run = smoke(tmp_path)
    elapsed = time.perf_counter() - start
    logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted((tmp_path / "logs").rglob("*.log")))
    assert run.returncode == 0, run.stderr[-5000:] + logs
    for name in ("accuracy", "accuracy_summary", "per_sequence", "training_loss", "speed", "memory_vs_t",
                 "train_speed"):
        table = pd.read_csv(tmp_path / "results" / f"{name}.csv")
        assert len(table) > 0, name
        for column in ("variant", "commit", "config_hash", "device"):
            assert column in table.columns, f"{name}.csv lacks {column}"
    claims = pd.read_csv(tmp_path / "results" / "claims.csv")
    assert {"reproduced", "contradicted", "inconclusive"} >= set(claims["verdict"]) and len(claims) >= 15
    assert len(pd.read_csv(tmp_path / "results" / "per_attribute.csv")) > 0
    assert len(pd.read_csv(tmp_path / "results" / "validation.csv")) > 0
    accuracy = pd.read_csv(tmp_path / "results" / "accuracy.csv")
    assert set(accuracy["dataset"]) == {"davis2017", "davis2016", "youtubevos"}
    assert {"gvos_scm", "stm_read", "no_scm", "copy_first_frame"} <= set(accuracy["variant"])
    page = (tmp_path / "report" / "build" / "index.html").read_text()
    for section in ("fig7", "memory", "time", "loss", "table1", "table2", "table3", "table4", "table5", "table6"):
        assert f'id="{section}"' in page
    assert "Not available" not in page
    print(f"smoke workflow: {elapsed:.0f} s")

    accuracy_before = (tmp_path / "results" / "accuracy.csv").read_bytes()
    (tmp_path / "results" / "accuracy.csv").unlink()
    again = smoke(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "results" / "accuracy.csv").read_bytes() == accuracy_before
    log = again.stdout + again.stderr
    assert "rule collect:" in log and "rule train:" not in log and "rule predict:" not in log

    # Snakemake's own provenance report: every figure and results table of the page, with captions
    zipped = smoke(tmp_path, "--report", str(tmp_path / "provenance.zip"))
    assert zipped.returncode == 0, zipped.stderr[-3000:]
    import zipfile

    from report.outputs import FIGURES, TABLES

    names = zipfile.ZipFile(tmp_path / "provenance.zip").namelist()
    for file in [f for f, _ in FIGURES.values()] + [f"{t}.csv" for t in TABLES]:
        assert any(n.endswith("/" + file) for n in names), file
