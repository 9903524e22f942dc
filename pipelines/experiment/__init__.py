"""The words of the experiment, each defined once: the datasets (``datasets``), where their folders are
(``roots``), the training stages (``stages``), a run's identity and folder (``runs``), the matrix of runs
and its checks (``matrix``), the statistics' defaults (``defaults``) and the paper's reported numbers
(``paper``). Every command, rule and library reads them from here.

Nothing is imported at package level: ``report`` reads ``paper`` without loading the readers."""
