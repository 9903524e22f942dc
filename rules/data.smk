# The embedded synthetic dataset (DAVIS / YouTube-VOS / COCO layouts), generated when data.synthetic
# is set. With real datasets this rule is never needed: the roots are checked in common.smk.


if SYNTHETIC:

    rule synthetic_data:
        output:
            davis=directory(f"{SYNTHETIC_ROOT}/DAVIS"),
            youtubevos=directory(f"{SYNTHETIC_ROOT}/YouTubeVOS"),
            coco=directory(f"{SYNTHETIC_ROOT}/COCO"),
        params:
            preset=SYNTHETIC["preset"],
            seed=SYNTHETIC["seed"],
            # rerun trigger: a change of data.synthetic regenerates; a source file's timestamp does not
            config_hash=section_hash({**SYNTHETIC, "format": SYNTHETIC_FORMAT}),
        log:
            "logs/synthetic_data/synthetic_data.log",
        benchmark:
            "benchmarks/synthetic_data/synthetic_data.tsv"
        threads: job_slots("data")
        resources:
            **job_resources("data"),
        shell:
            "{PY} -m pipelines.data.synthetic --out {SYNTHETIC_ROOT} --preset {params.preset}"
            " --seed {params.seed} > {log} 2>&1"
