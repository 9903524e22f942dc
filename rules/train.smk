# Training, one rule for the three experiment stages: pretrain_only = `--stage pretrain` (static
# images), main_only = `--stage main` from scratch, full = `--stage full` initialised from the
# pretrain_only checkpoint of the same variant and seed (trained once, reused). Checkpoints are never
# rebuilt because a source file or a dataset folder got a newer timestamp (ancient data inputs, no
# source files as inputs); a change of the config sections a run depends on changes params.config_hash,
# which reruns it (rerun trigger "params"), and a rerun pretraining reruns the full run after it.
# Threads, workers and device are resources, not params: editing them reruns nothing. The run folder keeps its resumable state between attempts (kill +
# rerun resumes); pipelines.train replaces a run folder of another config (--overwrite: the workflow
# owns runs/).


def _train_inputs(w):
    inputs = {"data": stage_data_inputs(TRAIN_STAGE[w.stage])}
    if w.stage == "full":  # not ancient: a pretraining that reruns reruns the full run after it
        inputs["init"] = f"{run_dir(w.variant, 'pretrain_only', w.seed)}/checkpoint.pt"
    return inputs


def _init_arg(w):
    return f"--init {run_dir(w.variant, 'pretrain_only', w.seed)}/checkpoint.pt" if w.stage == "full" else ""


rule train:
    input:
        unpack(_train_inputs),
    output:
        checkpoint="runs/{variant}/{stage}/seed{seed}/checkpoint.pt",
        loss="runs/{variant}/{stage}/seed{seed}/loss.csv",
    wildcard_constraints:
        stage="pretrain_only|main_only|full",
    params:
        out=lambda w: run_dir(w.variant, w.stage, w.seed),
        stage=lambda w: TRAIN_STAGE[w.stage],
        init=_init_arg,
        config_hash=lambda w: run_hash(w.variant, w.stage, w.seed),
    log:
        "logs/train/{variant}/{stage}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{variant}/{stage}/seed{seed}.tsv"
    threads: job_slots("train")
    resources:
        **job_resources("train"),
        **job_placement("train"),
    shell:
        "{TRAIN_COMMAND} --config {EFFECTIVE_CONFIG} --variant {wildcards.variant} --stage {params.stage}"
        " {params.init} --out {params.out} --seed {wildcards.seed} --device {resources.device}"
        " --threads {resources.torch_threads} --workers {resources.workers} --overwrite > {log} 2>&1"

