# Training: pretrain_only = `--stage pretrain` (static images), main_only = `--stage main` from
# scratch, full = `--stage full` initialised from the pretrain_only checkpoint of the same variant
# and seed (trained once, reused). Checkpoints are never rebuilt because a source file or a dataset
# folder got a newer timestamp (ancient inputs, no source files as inputs); a change of the config
# sections a run depends on changes params.config_hash, which reruns it (rerun trigger "params").


# A run folder keeps its resumable state between attempts (kill + rerun resumes). When the config of
# the run changed, that state belongs to another config: clear the folder first. The marker holds
# the workflow's hash of the sections the run depends on.
CLEAR_STALE_RUN = (
    "mkdir -p {params.out} && if [ -f {params.out}/.workflow_config_hash ] &&"
    " [ \"$(cat {params.out}/.workflow_config_hash)\" != {params.config_hash} ]; then"
    " find {params.out} -mindepth 1 -delete; fi && echo {params.config_hash} > {params.out}/.workflow_config_hash && "
)


def _train_resources():
    res = resources_of("train")
    return dict(gpu=res.get("gpu", 0), mem_mb=res.get("mem_mb", 4000), runtime=res.get("runtime", 120))


rule train_pretrain:
    input:
        coco=data_input("coco"),
    output:
        checkpoint="runs/{variant}/pretrain_only/seed{seed}/checkpoint.pt",
        loss="runs/{variant}/pretrain_only/seed{seed}/loss.csv",
    params:
        out=lambda w: run_dir(w.variant, "pretrain_only", w.seed),
        config_hash=lambda w: run_hash(w.variant, "pretrain_only", w.seed),
    log:
        "logs/train/{variant}/pretrain_only/seed{seed}.log",
    benchmark:
        "benchmarks/train/{variant}/pretrain_only/seed{seed}.tsv"
    threads: resources_of("train").get("threads", 2)
    resources:
        **_train_resources(),
    shell:
        CLEAR_STALE_RUN + "{PY} -m pipelines.train --config {EFFECTIVE_CONFIG} --variant {wildcards.variant} --stage pretrain"
        " --out {params.out} --seed {wildcards.seed} > {log} 2>&1"


rule train_main:
    input:
        data=main_data_inputs(),
    output:
        checkpoint="runs/{variant}/main_only/seed{seed}/checkpoint.pt",
        loss="runs/{variant}/main_only/seed{seed}/loss.csv",
    params:
        out=lambda w: run_dir(w.variant, "main_only", w.seed),
        config_hash=lambda w: run_hash(w.variant, "main_only", w.seed),
    log:
        "logs/train/{variant}/main_only/seed{seed}.log",
    benchmark:
        "benchmarks/train/{variant}/main_only/seed{seed}.tsv"
    threads: resources_of("train").get("threads", 2)
    resources:
        **_train_resources(),
    shell:
        CLEAR_STALE_RUN + "{PY} -m pipelines.train --config {EFFECTIVE_CONFIG} --variant {wildcards.variant} --stage main"
        " --out {params.out} --seed {wildcards.seed} > {log} 2>&1"


rule train_full:
    input:
        data=main_data_inputs(),
        init=ancient("runs/{variant}/pretrain_only/seed{seed}/checkpoint.pt"),
    output:
        checkpoint="runs/{variant}/full/seed{seed}/checkpoint.pt",
        loss="runs/{variant}/full/seed{seed}/loss.csv",
    params:
        out=lambda w: run_dir(w.variant, "full", w.seed),
        config_hash=lambda w: run_hash(w.variant, "full", w.seed),
    log:
        "logs/train/{variant}/full/seed{seed}.log",
    benchmark:
        "benchmarks/train/{variant}/full/seed{seed}.tsv"
    threads: resources_of("train").get("threads", 2)
    resources:
        **_train_resources(),
    shell:
        CLEAR_STALE_RUN + "{PY} -m pipelines.train --config {EFFECTIVE_CONFIG} --variant {wildcards.variant} --stage full"
        " --init {input.init} --out {params.out} --seed {wildcards.seed} > {log} 2>&1"
