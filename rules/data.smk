# The embedded synthetic dataset (DAVIS / YouTube-VOS / COCO layouts), generated when data.synthetic
# is set. With real datasets this rule is never needed: the roots are checked in setup.smk.

from pipelines.data.synthetic.presets import FORMAT_VERSION as SYNTHETIC_FORMAT  # noqa: E402
from pipelines.experiment.roots import synthetic_folders  # noqa: E402

# data key -> the folder the generator writes it to, one key per folder (davis2016 reads the DAVIS folder)
_SYNTHETIC_OUTPUTS = {}
for _key, _folder in synthetic_folders().items():
    if _folder not in _SYNTHETIC_OUTPUTS.values():
        _SYNTHETIC_OUTPUTS[_key] = _folder


if SYNTHETIC:

    rule synthetic_data:
        output:
            **{key: directory(f"{SYNTHETIC_ROOT}/{folder}") for key, folder in _SYNTHETIC_OUTPUTS.items()},
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
