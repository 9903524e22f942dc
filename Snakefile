# GVOS-SCM reproduction suite: from nothing to the paper's figures and tables.
#   snakemake --cores 8 report                                 (embedded CPU default, synthetic data)
#   snakemake --cores 2 --configfile config/smoke.yaml report  (tiny, minutes)
#   snakemake --profile profiles/slurm --configfile config/paper.yaml report
#   snakemake --cores 1 figures        (re-render report/build from results/*.csv only: PNG, PDF, SVG, LaTeX)
# Rule graph: synthetic_data -> train (stage pretrain_only / main_only / full) -> predict -> evaluate ->
#             collect -> report; train + evaluate -> probe -> probes -> report; train + predict + collect ->
#             qualitative (Fig. 5, Figs. 8-10) -> report; benchmark -> report.
#             Config checks (schema, variants, dataset folders, model and train keys, probes) run in
#             rules/setup.smk (pipelines.experiment.matrix) before any job starts.

import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("8.0")


# next to this file, so that `--directory` elsewhere still finds the default config
DEFAULT_CONFIGFILE = os.path.join(workflow.basedir, "config", "config.yaml")
sys.path.insert(0, workflow.basedir)
from pipelines.common.config_file import load_config as _load_config  # noqa: E402
from pipelines.common.files import DataError as _DataError  # noqa: E402

# snakemake's own message for a file that is not YAML does not name it; a --configfile asking for YTE
# templating (__use_yte__) had its expressions evaluated by snakemake before this file runs: the run stops
# here, and `make report CONFIG=FILE` refuses such a file before snakemake reads it (docs: README)
for _path in [DEFAULT_CONFIGFILE, *(workflow.config_settings.configfiles or [])]:
    try:
        _load_config(_path)
    except _DataError as err:
        raise WorkflowError(f"config error: {err}") from None


configfile: DEFAULT_CONFIGFILE


validate(config, "config/schema.yaml")


report: "report/workflow.rst"


include: "rules/setup.smk"
include: "rules/paths.smk"
include: "rules/resources.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/predict.smk"
include: "rules/evaluate.smk"
include: "rules/probes.smk"
include: "rules/qualitative.smk"
include: "rules/benchmark.smk"
include: "rules/report.smk"


localrules: all, collect, claims, probes, rule_times, report, render_report, figures, config_stamp


rule all:
    default_target: True
    input:
        rules.report.input,
