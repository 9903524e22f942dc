# Evaluation: each run's predictions scored with the suite's evaluator (pipelines.score), then the tidy
# tables (pipelines.collect: results/accuracy.csv, accuracy_summary.csv, per_sequence.csv, ...) and the
# claims (pipelines.claims).


rule evaluate:
    input:
        pred=run_path("predictions", "{dataset}"),
        gt=lambda w: dataset_input(w.dataset),
        stamp=config_stamp("evaluations", "evaluate", section_hash(config["evaluate"])),  # the per-run intervals
    output:
        summary=run_path("evaluations", "{dataset}", "global.csv"),
        per_object=run_path("evaluations", "{dataset}", "per_object.csv"),
    params:
        root=lambda w: dataset_root(w.dataset),
        split=lambda w: dataset_split(w.dataset),
        out=lambda w: run_file(w.variant, w.stage, w.seed, w.dataset, root="evaluations"),
        run_dir=lambda w: "" if w.stage == _stages.BASELINE_STAGE else f"--run-dir {run_dir(w.variant, w.stage, w.seed)}",
    log:
        run_path("logs/evaluate", "{dataset}.log"),
    benchmark:
        run_path("benchmarks/evaluate", "{dataset}.tsv")
    threads: job_slots("evaluate")
    resources:
        **job_resources("evaluate"),
        **job_placement("evaluate"),
    shell:
        "{PY} -m pipelines.score --config {EFFECTIVE_CONFIG} --dataset {wildcards.dataset}"
        " --gt {params.root:q} --pred {input.pred} --split {params.split} --variant {wildcards.variant}"
        " --stage {wildcards.stage} --seed {wildcards.seed} {params.run_dir} --workers {resources.torch_threads} --out {params.out}"
        " > {log} 2>&1"


# the synthetic data's per-video attributes (real data sets carry none the suite reads)
ATTRIBUTE_DATASETS = [d for d in DATASETS if SYNTHETIC and _datasets.get(d).has_attributes]


rule collect:
    input:
        summaries=evaluation_files("global.csv"),
        per_object=evaluation_files("per_object.csv"),
        losses=loss_files(),
        data=[dataset_input(d) for d in ATTRIBUTE_DATASETS],  # their attributes.csv
        code=[str(REPO / "pipelines" / "collect.py"), str(REPO / "pipelines" / "tables" / "results.py")],
        default_config=DEFAULT_CONFIGFILE,  # runs.csv: the keys that differ from it
    output:
        accuracy="results/accuracy.csv",
        summary=reported_table("accuracy_summary"),
        per_sequence="results/per_sequence.csv",
        training_loss="results/training_loss.csv",
        validation="results/validation.csv",
        per_attribute=reported_table("per_attribute"),
        runs=reported_table("runs"),
    params:
        bootstrap=config["evaluate"],
        attributes=" ".join(shlex.quote(f"{d}={dataset_root(d)}/attributes.csv") for d in ATTRIBUTE_DATASETS),
    log:
        "logs/collect/collect.log",
    benchmark:
        "benchmarks/collect/collect.tsv"
    threads: 1
    shell:
        "{PY} -m pipelines.collect tables --config {EFFECTIVE_CONFIG} --out results"
        " --evaluations {input.summaries} --losses {input.losses} --attributes {params.attributes} > {log} 2>&1"


rule claims:
    input:
        per_sequence="results/per_sequence.csv",
        speed="results/speed.csv",
        memory="results/memory_vs_t.csv",
        code=[str(REPO / "pipelines" / "claims.py"), str(REPO / "pipelines" / "tables" / "claims.py")],
    output:
        reported_table("claims"),
    params:
        bootstrap=config["evaluate"],
    log:
        "logs/claims/claims.log",
    benchmark:
        "benchmarks/claims/claims.tsv"
    threads: 1
    shell:
        "{PY} -m pipelines.claims --results results --config {EFFECTIVE_CONFIG} --out {output}"
        " > {log} 2>&1"
