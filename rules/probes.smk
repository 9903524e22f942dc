# Mechanism probes: the test-time interventions of probes.interventions (methods.interventions) on every
# trained checkpoint of the matrix, scored on probes.dataset, then results/probes.csv: each beside the
# unmodified model's own evaluation, with the claims' paired interval over seeds and sequences.


rule probe:
    input:
        data=lambda w: dataset_input(w.dataset),
        checkpoint=lambda w: checkpoint_of(w.variant, w.stage, w.seed),
        stamp=config_stamp("probes", "probe", section_hash(PROBES)),  # a changed list reruns the probes
    output:
        run_path("probes", "{dataset}", "per_object.csv"),
    params:
        root=lambda w: dataset_root(w.dataset),
        split=lambda w: dataset_split(w.dataset),
        config_hash=lambda w: run_hash(w.variant, w.stage, w.seed),
        interventions=" ".join(PROBE_INTERVENTIONS),
        compile=(config.get("predict") or {}).get("compile", False),  # read from the config; a change reruns
    log:
        run_path("logs/probe", "{dataset}.log"),
    benchmark:
        run_path("benchmarks/probe", "{dataset}.tsv")
    threads: job_slots("predict")
    resources:
        **job_resources("predict"),
        **job_placement("predict"),
    shell:
        "{PY} -m pipelines.probes run --config {EFFECTIVE_CONFIG} --checkpoint {input.checkpoint}"
        " --variant {wildcards.variant} --stage {wildcards.stage} --seed {wildcards.seed}"
        " --config-hash {params.config_hash} --data {params.root:q} --dataset {wildcards.dataset}"
        " --split {params.split} --device {resources.device}"
        " --threads {resources.torch_threads} --interventions {params.interventions} --out {output} > {log} 2>&1"


rule probes:
    input:
        probes=[run_file(v, s, n, f"{PROBE_DATASET}/per_object.csv", root="probes") for v, s, n in probed_runs()],
        reference=[run_file(v, s, n, f"{PROBE_DATASET}/per_object.csv", root="evaluations")
                   for v, s, n in probed_runs()],
        code=[str(REPO / "pipelines" / "probes.py"), str(REPO / "pipelines" / "tables" / "probes.py")],
    output:
        reported_table("probes"),
    params:
        bootstrap=config["evaluate"],
    log:
        "logs/probes/probes.log",
    benchmark:
        "benchmarks/probes/probes.tsv"
    threads: 1
    shell:
        "{PY} -m pipelines.probes table --probes {input.probes} --reference {input.reference}"
        " --config {EFFECTIVE_CONFIG} --out {output} > {log} 2>&1"
