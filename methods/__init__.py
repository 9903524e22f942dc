"""GVOS-SCM networks: one network class, ablations as config switches. No file I/O here."""
