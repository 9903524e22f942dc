"""Side tools, not steps of the workflow: the recipe-lever comparison (``levers``), the prepared GPU check
(``gpu_check``, ``gpu_check.sh``), training speed of two checkouts (``compare_checkouts``), the evaluator
timed against the official one (``evaluator_bench``), compiled-versus-eager pairs (``compile_paired``),
a profile of one training step (``profile_training_step``) and a one-node SLURM (``local_slurm.sh``)."""
