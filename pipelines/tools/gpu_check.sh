#!/usr/bin/env bash
# The prepared check of the GPU path (pipelines/tools/gpu_check.py says what it runs), after `make install`:
#   bash pipelines/tools/gpu_check.sh                        # one GPU, under 8 minutes: results/gpu_check/
#   bash pipelines/tools/gpu_check.sh --device cpu --tiny    # the same steps on the CPU at toy sizes
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
if [ ! -x "$PY" ]; then
    echo "error: $PY not found: run make install first (or set PYTHON)" >&2
    exit 2
fi
exec "$PY" -m pipelines.tools.gpu_check "$@"
