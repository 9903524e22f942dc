# The paper's qualitative figures as data (pipelines.qualitative): Fig. 5's SCM gates, read from the trained
# SCM runs of the first seed on DAVIS-2017 val (inference only), and the frames of Figs. 8-10 from that
# seed's predictions, each chosen by the rule the module states from results/per_sequence.csv.

QUALITATIVE_SEED = SEEDS[0]
QUALITATIVE_DATASET = _datasets.CLAIMS_DATASET
_QUALITATIVE = QUALITATIVE_DATASET in DATASETS


def _scm_runs():
    """(variant, stage) of the matrix's trained runs whose network has an SCM."""
    if not _QUALITATIVE:
        return []
    return [(v, s) for v, stages in VARIANT_STAGES.items() for s in stages
            if _variants.model_config(v, config["model"], VARIANT_DEFS).scm]


def _grid_runs():
    full = _stages.FULL.name
    return [(v, full) for v, stages in VARIANT_STAGES.items() if full in stages] if _QUALITATIVE else []


rule qualitative:
    input:
        per_sequence="results/per_sequence.csv",
        data=[dataset_input(QUALITATIVE_DATASET)] if _QUALITATIVE else [],
        checkpoints=[checkpoint_of(v, s, QUALITATIVE_SEED) for v, s in _scm_runs()],
        predictions=[run_file(v, s, QUALITATIVE_SEED, QUALITATIVE_DATASET, root="predictions") for v, s in _grid_runs()],
        code=str(REPO / "pipelines" / "qualitative.py"),
    output:
        gates=reported_table("scm_gates"),
        frames="results/qualitative.npz",
    params:
        data=f"--data {shlex.quote(str(dataset_root(QUALITATIVE_DATASET)))}" if _QUALITATIVE else "",
        attributes=(f"--attributes {shlex.quote(str(dataset_root(QUALITATIVE_DATASET)) + '/attributes.csv')}"
                    if _QUALITATIVE and SYNTHETIC else ""),
        runs=" ".join(f"--run {v}/{s}={checkpoint_of(v, s, QUALITATIVE_SEED)}:{run_hash(v, s, QUALITATIVE_SEED)}"
                      for v, s in _scm_runs()),
        grid=" ".join(f"{v}/{s}" for v, s in _grid_runs()),
    log:
        "logs/qualitative/qualitative.log",
    benchmark:
        "benchmarks/qualitative/qualitative.tsv"
    threads: job_slots("predict")
    resources:
        **job_resources("predict"),
        **job_placement("predict"),
    shell:
        "{PY} -m pipelines.qualitative {params.data} {params.attributes} --per-sequence {input.per_sequence}"
        " {params.runs} --predictions predictions --grid-runs {params.grid} --seed {QUALITATIVE_SEED}"
        " --device {resources.device} --threads {resources.torch_threads}"
        " --gates {output.gates} --frames {output.frames} > {log} 2>&1"
