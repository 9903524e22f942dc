"""Pieces of the speed / memory-versus-t harness; ``pipelines.benchmark`` is the entry point."""
