"""Workflow steps of the GVOS-SCM suite; each submodule runs as ``python -m pipelines.X``."""
