VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORES ?= 8
# a config file laid over config/config.yaml (snakemake --configfile), checked before snakemake reads it
CONFIG ?=
CONFIGFILE_ARGS = $(if $(CONFIG),--configfile "$(CONFIG)")
TEST_WORKERS ?= 2  # pytest-xdist processes: the smoke workflow (the longest test) runs beside the rest; 0: one process

.PHONY: install peers test test-slow test-slurm lint report smoke figures snapshot gpu-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	@command -v "$${CXX:-g++}" >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1 || \
		echo "note: no C++ compiler on PATH: train.compile / predict.compile / benchmark.compile run eager (inductor needs one; apt install g++)"

# other methods to time beside ours (methods.peers): pip keeps the pinned torch, which satisfies theirs
peers: $(STAMP)
	$(PY) -m pip install -q -e '.[peers]'
	$(PY) -c "import torch; print('torch', torch.__version__, 'kept')"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n $(TEST_WORKERS)

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# the workflow through a real one-node SLURM (pipelines/tools/local_slurm.sh; needs root and apt): the executor
# plugin is installed without touching the pinned torch
test-slurm: $(STAMP)
	$(PY) -m pip install -q -e '.[slurm]'
	$(PY) -m pytest -q -m slurm

# one line a job (pipelines/tools/quiet_snakemake.py; each job's log is under logs/); the last line names the page
report: $(STAMP)
	$(if $(CONFIG),$(PY) -m pipelines.common.config_file "$(CONFIG)")
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pipelines.tools.quiet_snakemake --cores $(CORES) report $(CONFIGFILE_ARGS)
	@echo "the report: $$(pwd)/report/build/index.html"

smoke: $(STAMP)
	$(PY) -m pipelines.common.config_file config/smoke.yaml
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pipelines.tools.quiet_snakemake --cores $(CORES) report --configfile config/smoke.yaml
	@echo "the report: $$(pwd)/report/build/index.html"

figures: $(STAMP)
	$(PY) -m report.build --results results --out report/build --overwrite

# after `make report` on the embedded default: its tables and first screen become the committed snapshot
# (docs/default-run) that the README's results are generated from
snapshot: $(STAMP)
	mkdir -p docs/default-run/results
	cp results/*.csv results/qualitative.npz docs/default-run/results/
	$(PY) -m report.screenshot report/build/index.html docs/default-run/first-screen.png
	$(PY) -m report.readme

gpu-check: $(STAMP)
	PYTHON=$(PY) bash pipelines/tools/gpu_check.sh

clean:
	rm -rf data runs predictions evaluations probes results/*.csv results/qualitative.npz report/build logs benchmarks
