# Prediction: DAVIS / YouTube-VOS palette PNGs for one run and one validation split. Learned variants
# read their checkpoint, whose identity (variant, stage, seed, run hash) must be the run's; baselines
# (copy_first_frame) run without one, stage "none".


def _predict_inputs(w):
    inputs = {"data": data_input(DATASET_ROOT_KEY[w.dataset])}
    if w.stage != BASELINE_STAGE:
        inputs["checkpoint"] = f"{run_dir(w.variant, w.stage, w.seed)}/checkpoint.pt"
    return inputs


def _predict_model_args(w):
    if w.stage == BASELINE_STAGE:
        return f"--variant {w.variant}"
    return (f"--checkpoint {run_dir(w.variant, w.stage, w.seed)}/checkpoint.pt --variant {w.variant}"
            f" --stage {TRAIN_STAGE[w.stage]} --seed {w.seed} --config-hash {run_hash(w.variant, w.stage, w.seed)}")


rule predict:
    input:
        unpack(_predict_inputs),
    output:
        directory("predictions/{variant}/{stage}/seed{seed}/{dataset}"),
    params:
        model_args=_predict_model_args,
        root=lambda w: dataset_root(w.dataset),
        split=lambda w: DATASET_SPLITS[w.dataset],
        config_hash=lambda w: run_hash(w.variant, w.stage, w.seed),
        compile="--compile" if (config.get("predict") or {}).get("compile") else "",
        amp=lambda w: "--amp " + ({True: "on", False: "off"}.get(TRAIN_CONFIG.amp, "auto")
                                  if w.stage != BASELINE_STAGE else "off"),
    log:
        "logs/predict/{variant}/{stage}/seed{seed}/{dataset}.log",
    benchmark:
        "benchmarks/predict/{variant}/{stage}/seed{seed}/{dataset}.tsv"
    threads: job_slots("predict")
    resources:
        **job_resources("predict"),
        **job_placement("predict"),
    shell:
        "{PY} -m pipelines.predict --config {EFFECTIVE_CONFIG} {params.model_args} --data {params.root:q}"
        " --dataset {wildcards.dataset} --split {params.split} --device {resources.device} {params.amp} {params.compile}"
        " --threads {resources.torch_threads} --out {output} > {log} 2>&1"
