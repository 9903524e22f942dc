# Prediction: DAVIS / YouTube-VOS palette PNGs for one run and one validation split.
# Learned variants read their checkpoint; baselines (copy_first_frame) run without one, stage "none".


def _predict_inputs(w):
    inputs = {"data": data_input(_DATASET_ROOT_KEY[w.dataset])}
    if w.stage != BASELINE_STAGE:
        inputs["checkpoint"] = f"{run_dir(w.variant, w.stage, w.seed)}/checkpoint.pt"
    return inputs


def _predict_model_args(w):
    if w.stage == BASELINE_STAGE:
        return f"--variant {w.variant}"
    return f"--checkpoint {run_dir(w.variant, w.stage, w.seed)}/checkpoint.pt"


def _predict_hash(w):
    if w.stage == BASELINE_STAGE:
        return section_hash({"data": EFFECTIVE["data"], "variant": w.variant})
    return run_hash(w.variant, w.stage, w.seed)


rule predict:
    input:
        unpack(_predict_inputs),
    output:
        directory("predictions/{variant}/{stage}/seed{seed}/{dataset}"),
    params:
        model_args=_predict_model_args,
        root=lambda w: dataset_root(w.dataset),
        split=lambda w: DATASET_SPLITS[w.dataset],
        config_hash=_predict_hash,
    log:
        "logs/predict/{variant}/{stage}/seed{seed}/{dataset}.log",
    benchmark:
        "benchmarks/predict/{variant}/{stage}/seed{seed}/{dataset}.tsv"
    threads: resources_of("predict").get("threads", 1)
    resources:
        gpu=resources_of("predict").get("gpu", 0),
        mem_mb=resources_of("predict").get("mem_mb", 4000),
        runtime=resources_of("predict").get("runtime", 60),
    shell:
        "{PY} -m pipelines.predict --config {EFFECTIVE_CONFIG} {params.model_args} --data {params.root}"
        " --dataset {wildcards.dataset} --split {params.split} --threads {threads} --out {output} > {log} 2>&1"
