"""End to end: `snakemake --cores 2 report --configfile config/smoke.yaml` in a temporary --directory
writes every results table and the report page; a deleted results table is rebuilt by a plain rerun;
`snakemake --report` packs every figure and table with its caption; no text of a figure overlaps another
or leaves the canvas."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent


def smoke(tmp_path: Path, *extra: str, config: Path = REPO / "config" / "smoke.yaml") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2",
         *extra, "report", "--configfile", str(config)],  # --configfile takes several values: last
        capture_output=True, text=True, timeout=900,
    )


def edited_smoke_config(tmp_path: Path, edit) -> Path:
    config = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    edit(config)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def check_config_edits_rerun_exactly_what_they_change(tmp_path: Path) -> None:
    """after a finished run, one edit of model.key_dim and train.main.lr and ONE invocation
    leave nothing stale (every checkpoint has the new identity, the benchmarks reran), a second dry run
    has nothing to do, and an edit of threads reruns nothing."""
    from methods.checkpoint import read_checkpoint
    from pipelines.common.provenance import run_hash

    def edit(config):
        config["model"]["key_dim"] = 8
        config["train"]["main"]["lr"] = 5.0e-4
        config.setdefault("probes", {})["interventions"] = ["scm_mask_zero"]  # probe jobs rerun anyway: keep them short

    edited = edited_smoke_config(tmp_path, edit)
    speed_before = (tmp_path / "results" / "train_speed.csv").stat().st_mtime
    run = smoke(tmp_path, config=edited)
    assert run.returncode == 0, run.stderr[-3000:]
    dry = smoke(tmp_path, "-n", config=edited)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, (dry.stdout + dry.stderr)[-3000:]
    newest = max((tmp_path / "logs" / "config").glob("effective-*.yaml"), key=lambda p: p.stat().st_mtime)
    effective = yaml.safe_load(newest.read_text())
    checkpoints = sorted((tmp_path / "runs").glob("*/*/seed*/checkpoint.pt"))
    assert checkpoints
    for path in checkpoints:
        ckpt = read_checkpoint(path)
        variant, stage = path.parts[-4], path.parts[-3]
        assert ckpt["model_config"]["key_dim"] == 8, path
        assert ckpt["config_hash"] == run_hash(effective, variant, stage, ckpt["seed"]), path
    assert (tmp_path / "results" / "train_speed.csv").stat().st_mtime > speed_before

    def threads(config):
        edit(config)
        config["resources"]["train"]["threads"] = 2
        config["resources"]["predict"]["threads"] = 2

    placement = smoke(tmp_path, "-n", config=edited_smoke_config(tmp_path, threads))
    out = placement.stdout + placement.stderr
    assert placement.returncode == 0 and "rule train:" not in out and "rule predict:" not in out, out[-3000:]



def test_smoke_workflow_end_to_end(tmp_path, monkeypatch):
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
    probes = pd.read_csv(tmp_path / "results" / "probes.csv")
    from methods.interventions import INTERVENTIONS

    assert set(probes.loc[probes["variant"] == "gvos_scm", "intervention"]) == set(INTERVENTIONS)
    assert len(probes) == 4 * len(INTERVENTIONS) + 3  # no_scm: the readout interventions only
    assert len(pd.read_csv(tmp_path / "results" / "scm_gates.csv")) > 0
    page = (tmp_path / "report" / "build" / "index.html").read_text()
    for section in ("fig7", "memory", "time", "loss", "table1", "table2", "table3", "table4", "table5", "table6",
                    "probes", "fig5", "fig8", "fig9", "fig10"):
        assert f'id="{section}"' in page
    assert "Not available" not in page
    print(f"smoke workflow: {elapsed:.0f} s")

    from report.build import build
    from tests.figure_text import checking_figures

    with checking_figures(monkeypatch) as found:  # every figure of the smoke page, drawn again and read
        build(tmp_path / "results", None, tmp_path / "figures-checked", overwrite=True)
    assert len(found) >= 14 and {name: problems for name, problems in found.items() if problems} == {}

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

    check_config_edits_rerun_exactly_what_they_change(tmp_path)
