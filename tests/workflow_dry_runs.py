"""Dry runs of the workflow in one process: ``python tests/workflow_dry_runs.py DIR ...``.

Each DIR holds ``override.yaml``; the workflow is parsed with ``--configfile DIR/override.yaml`` and
``--directory DIR`` and dry-run, through snakemake's API. One line of JSON per DIR on stdout:
``{"dir": ..., "ok": bool, "message": error text}``. One interpreter for many cases: importing
snakemake, torch and the suite costs seconds, a parse a tenth of one (tests/test_workflow.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def dry_run(folder: Path) -> dict:
    from snakemake.api import ConfigSettings, OutputSettings, ResourceSettings, SnakemakeApi

    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
                workflow = api.workflow(ResourceSettings(cores=1),
                                        ConfigSettings(configfiles=[folder / "override.yaml"]),
                                        snakefile=REPO / "Snakefile", workdir=folder)
                workflow.dag().execute_workflow(executor="dryrun")
    except Exception as err:  # what the snakemake CLI would print before exiting non-zero
        return {"dir": str(folder), "ok": False, "message": f"{type(err).__name__}: {err}\n{captured.getvalue()}"}
    return {"dir": str(folder), "ok": True, "message": captured.getvalue()}


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(json.dumps(dry_run(Path(name))), flush=True)
