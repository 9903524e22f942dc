"""Training: the ``train:`` section (config), the clip batches of an iteration (data) and one
optimisation step with its state for resuming (trainer). The CLI is ``pipelines.train``; the training
benchmark (``pipelines.benchmark train``) times the same step."""
