VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORES ?= 8
# a config file laid over config/config.yaml (snakemake --configfile), checked before snakemake reads it
CONFIG ?=
CONFIGFILE_ARGS = $(if $(CONFIG),--configfile "$(CONFIG)")
TEST_WORKERS ?= 2  # pytest-xdist processes: the smoke workflow (the longest test) runs beside the rest; 0: one process

.PHONY: install peers peers-run test test-slow test-slurm lint report smoke figures snapshot gpu-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	@command -v "$${CXX:-g++}" >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1 || \
		echo "note: no C++ compiler on PATH: train.compile / predict.compile / benchmark.compile run eager (inductor needs one; apt install g++)"

# other methods to time beside ours (methods.peers): pip keeps the pinned torch, which satisfies theirs; the
# packages of pyproject's tool.gvos.peers-without-dependencies go in with --no-deps, sam2's sdist built against
# the installed torch (--no-build-isolation) and without its optional CUDA extension (SAM2_BUILD_CUDA=0)
PEERS_WITHOUT_DEPENDENCIES = $(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['gvos']['peers-without-dependencies']))"
peers: $(STAMP)
	$(PY) -m pip install -q -e '.[peers]'
	SAM2_BUILD_CUDA=0 $(PY) -m pip install -q --no-deps --no-build-isolation $$($(PEERS_WITHOUT_DEPENDENCIES))
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

# other methods timed beside ours (make peers first), as docs/peers-run holds them: both frame sizes at t = 1, 10,
# 100, the bounded ones and SAM 2.1 tiny (whose state is not) at t = 1000, one thread; then the snapshot's tables
# and its two figures for the README
PEERS_RUN ?= docs/peers-run
PEERS_TIMED = sam2.1_tiny,sam2.1_base_plus,sam2.1_tiny_equal_pixels,sam2.1_base_plus_equal_pixels,cutie_small,cutie_base,stcn,deaot_t,deaot_r50_l
PEERS_BOUNDED = cutie_small,cutie_base,deaot_t
PEERS_BENCH = $(PY) -m pipelines.benchmark --config config/config.yaml --repeats 3 --warmup 1 --threads 1
peers-run: peers
	$(PEERS_BENCH) --variants gvos_scm,stm_read --peers $(PEERS_TIMED) --size 240x432 --t 1,10,100 --out benchmarks/peers/240x432
	$(PEERS_BENCH) --variants gvos_scm,stm_read --peers $(PEERS_TIMED) --size 480x854 --t 1,10,100 --out benchmarks/peers/480x854
	$(PEERS_BENCH) --variants gvos_scm --peers $(PEERS_BOUNDED) --size 240x432 --t 1000 --out benchmarks/peers/240x432_t1000
	$(PEERS_BENCH) --variants gvos_scm --peers sam2.1_tiny --size 240x432 --t 1000 --out benchmarks/peers/240x432_t1000_sam2
	$(PY) -m report.peers_run --out $(PEERS_RUN) --runs benchmarks/peers/240x432 benchmarks/peers/480x854 \
		benchmarks/peers/240x432_t1000 benchmarks/peers/240x432_t1000_sam2

gpu-check: $(STAMP)
	PYTHON=$(PY) bash pipelines/tools/gpu_check.sh

clean:
	rm -rf data runs predictions evaluations probes results/*.csv results/qualitative.npz report/build logs benchmarks
