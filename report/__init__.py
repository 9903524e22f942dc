"""Figures and tables of the report, rendered from results/*.csv and the paper's tables."""
