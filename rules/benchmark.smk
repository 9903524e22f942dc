# Speed and memory-versus-t from the one harness (pipelines.benchmark), randomly initialised weights
# (speed does not depend on training), and training iterations per second (pipelines.benchmark train).
# On one machine each takes all of --cores (exclusive_slots), so no other job shares the CPUs while it
# times. Its input is a config stamp (paths.smk): an edit of its settings, threads and device
# included, reruns it in the same invocation; nothing else does (no timestamp, no upstream rerun). The
# training benchmark also waits for the main datasets it trains on (ancient: their timestamps rerun nothing).


_BENCHMARK_HASH = section_hash({"benchmark": BENCHMARK, "model": config["model"], "defs": VARIANT_DEFS,
                                "threads": job_threads("benchmark"), "device": job_device("benchmark")})
_TRAIN_BENCHMARK_HASH = section_hash({"training": BENCHMARK["training"], "train": config["train"],
                                      "model": config["model"], "data": config["data"],
                                      "threads": job_threads("train"), "device": job_device("train")})


rule benchmark:
    input:
        stamp=config_stamp("results", "benchmark", _BENCHMARK_HASH),
    output:
        speed=reported_table("speed"),
        memory=reported_table("memory_vs_t"),
    params:
        config_hash=_BENCHMARK_HASH,
        threads=job_threads("benchmark"),
        device=job_device("benchmark"),
    log:
        "logs/benchmark/benchmark.log",
    benchmark:
        "benchmarks/benchmark/benchmark.tsv"
    threads: exclusive_slots("benchmark")
    resources:
        **job_resources("benchmark"),
    shell:
        "{PY} -m pipelines.benchmark --config {EFFECTIVE_CONFIG} --threads {params.threads} --device {params.device}"
        " --out results > {log} 2>&1"


rule train_benchmark:
    input:
        stamp=config_stamp("results", "train_benchmark", _TRAIN_BENCHMARK_HASH),
        # the datasets its stages train on: without them as inputs it could start before the data rule wrote them
        data=[root for schedule in BENCHMARK["training"]["stages"] for root in schedule_data_inputs(schedule)],
    output:
        reported_table("train_speed"),
    params:
        config_hash=_TRAIN_BENCHMARK_HASH,
        threads=job_threads("train"),
        device=job_device("train"),
    log:
        "logs/benchmark/train_benchmark.log",
    benchmark:
        "benchmarks/benchmark/train_benchmark.tsv"
    threads: exclusive_slots("train")
    resources:
        **job_resources("train"),
    shell:
        "{PY} -m pipelines.benchmark train --config {EFFECTIVE_CONFIG} --threads {params.threads}"
        " --device {params.device} --out results > {log} 2>&1"
