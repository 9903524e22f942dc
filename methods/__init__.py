"""GVOS-SCM networks: one network class, ablations as config switches. No data or file paths here: the
only file methods/ reads is a weights file it is handed (``methods.checkpoint``, the backbone's
``model.weights``) and the machine's own description (``methods.precision``: /proc/cpuinfo)."""
