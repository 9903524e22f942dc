"""The tables of results/ built from the steps' outputs: one run's scores (``scores``), every run's tables
(``results``), the claims (``claims``) and the mechanism probes (``probes``). The commands that write
them (score, collect, claims, probes) are thin command lines over these functions."""
