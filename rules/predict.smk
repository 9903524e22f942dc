# Prediction: DAVIS / YouTube-VOS palette PNGs for one run and one validation split. Learned variants
# read their checkpoint, whose identity (variant, stage, seed, run hash) must be the run's; baselines
# (copy_first_frame) run without one, stage "none".


def _predict_inputs(w):
    inputs = {"data": dataset_input(w.dataset)}
    if w.stage != _stages.BASELINE_STAGE:
        inputs["checkpoint"] = checkpoint_of(w.variant, w.stage, w.seed)
    return inputs


def _predict_model_args(w):
    if w.stage == _stages.BASELINE_STAGE:
        return f"--variant {w.variant}"
    return (f"--checkpoint {checkpoint_of(w.variant, w.stage, w.seed)} --variant {w.variant}"
            f" --stage {w.stage} --seed {w.seed} --config-hash {run_hash(w.variant, w.stage, w.seed)}")


rule predict:
    input:
        unpack(_predict_inputs),
    output:
        directory(run_path("predictions", "{dataset}")),
    params:
        model_args=_predict_model_args,
        root=lambda w: dataset_root(w.dataset),
        split=lambda w: dataset_split(w.dataset),
        config_hash=lambda w: run_hash(w.variant, w.stage, w.seed),
        compile=(config.get("predict") or {}).get("compile", False),  # read from the config; a change reruns
    log:
        run_path("logs/predict", "{dataset}.log"),
    benchmark:
        run_path("benchmarks/predict", "{dataset}.tsv")
    threads: job_slots("predict")
    resources:
        **job_resources("predict"),
        **job_placement("predict"),
    shell:
        "{PY} -m pipelines.predict --config {EFFECTIVE_CONFIG} {params.model_args} --data {params.root:q}"
        " --dataset {wildcards.dataset} --split {params.split} --device {resources.device}"
        " --threads {resources.torch_threads} --out {output} > {log} 2>&1"
