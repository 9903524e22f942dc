# Training, one rule for the three stages (pipelines.experiment.stages): pretrain_only (static images),
# main_only (videos from scratch), full (videos, initialised from the pretrain_only checkpoint of the same
# variant and seed, trained once and reused). Checkpoints are never
# rebuilt because a source file or a dataset folder got a newer timestamp (ancient data inputs, no
# source files as inputs); a change of the config sections a run depends on changes params.config_hash,
# which reruns it (rerun trigger "params"), and a rerun pretraining reruns the full run after it.
# Threads, workers and device are resources, not params: editing them reruns nothing. The run folder keeps its resumable state between attempts (kill +
# rerun resumes); pipelines.train replaces a run folder of another config (--overwrite: the workflow
# owns runs/).


def _init_checkpoint(w):
    """The checkpoint a stage starts from (full: the same variant's and seed's pretrain_only), or None."""
    init_from = _stages.stage(w.stage).init_from
    return checkpoint_of(w.variant, init_from, w.seed) if init_from else None


def _train_inputs(w):
    inputs = {"data": stage_data_inputs(w.stage)}
    if _init_checkpoint(w):  # not ancient: a pretraining that reruns reruns the full run after it
        inputs["init"] = _init_checkpoint(w)
    return inputs


def _init_arg(w):
    return f"--init {_init_checkpoint(w)}" if _init_checkpoint(w) else ""


rule train:
    input:
        unpack(_train_inputs),
    output:
        checkpoint=run_path(RUNS, _runs.RunFolder.CHECKPOINT),
        loss=run_path(RUNS, _runs.RunFolder.LOSS),
    wildcard_constraints:
        stage=_stages.wildcard_pattern(with_baseline=False),
    params:
        out=lambda w: run_dir(w.variant, w.stage, w.seed),
        init=_init_arg,
        config_hash=lambda w: run_hash(w.variant, w.stage, w.seed),
    log:
        run_path("logs/train") + ".log",
    benchmark:
        run_path("benchmarks/train") + ".tsv"
    threads: job_slots("train")
    resources:
        **job_resources("train"),
        **job_placement("train"),
    shell:
        "{TRAIN_COMMAND} --config {EFFECTIVE_CONFIG} --variant {wildcards.variant} --stage {wildcards.stage}"
        " {params.init} --out {params.out} --seed {wildcards.seed} --device {resources.device}"
        " --threads {resources.torch_threads} --workers {resources.workers} --overwrite > {log} 2>&1"

