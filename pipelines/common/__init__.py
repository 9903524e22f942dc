"""Plumbing every layer may import: the command-line runner (``cli``), safe file and folder writes
(``files``), the config file and its schema (``config_file``), provenance and run hashes
(``provenance``), devices and threads (``runtime``), resumable state (``checkpoint``), the results
tables' keys (``results_tables``), cluster checks (``cluster``), torch.compile (``compiling``) and the
confidence intervals (``intervals``)."""
