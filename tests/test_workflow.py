"""The Snakemake workflow: schema validation and config checks fail before any job, and dry runs of
the shipped configs build the expected job graph. Runs snakemake in a temporary --directory so the
repository's own logs/ and .snakemake/ are untouched."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def snakemake(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
               "--cores", "1", "-n", "--quiet", "rules", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def job_counts(output: str) -> dict[str, int]:
    counts, in_stats = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            if counts:
                break
            in_stats = True
            continue
        parts = line.split()
        if in_stats and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def write_config(tmp_path: Path, overrides: dict) -> str:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(overrides))
    return str(path)


def test_default_dry_run_has_the_paper_matrix(tmp_path):
    run = snakemake(tmp_path)
    assert run.returncode == 0, run.stderr
    counts = job_counts(run.stdout + run.stderr)
    # (5 learned runs x 3 seeds + copy_first_frame) x 3 datasets; pretrain once per variant with a full stage
    assert counts["predict"] == (5 * 3 + 1) * 3 and counts["evaluate"] == (5 * 3 + 1) * 3
    # per seed: pretrain_only x3 (gvos_scm's own + the inits of stm_read, no_scm), main_only, full x3
    assert counts["train"] == (3 + 1 + 3) * 3
    for rule in ("synthetic_data", "benchmark", "collect", "render_report", "all"):
        assert counts[rule] == 1


def test_smoke_and_extended_dry_runs(tmp_path):
    smoke = snakemake(tmp_path, "--configfile", str(REPO / "config" / "smoke.yaml"))
    assert smoke.returncode == 0, smoke.stderr
    extended = snakemake(tmp_path, "--configfile", str(REPO / "config" / "extended.yaml"))
    assert extended.returncode == 0, extended.stderr
    counts = job_counts(extended.stdout + extended.stderr)
    assert counts["train"] == (5 + 1 + 5) * 3 and counts["predict"] == (7 * 3 + 1) * 3


BAD_CONFIGS = [
    ({"experiments": {"variants": {"gvos_scm": ["full"], "not_a_net": ["full"]}}},
     "unknown variant 'not_a_net'"),
    ({"data": {"synthetic": None}}, "no path given"),
    ({"train": {"main": {"iterations": -5}}}, "train.main.iterations: -5 is less than the minimum of 1"),
    ({"resources": {"train": {"gpu": 2, "device": "cpu"}}}, "resources.train.gpu: 2 GPUs asked for"),
]
"""(override, what the error names): a refusal of the schema or of a matrix check (each check is tested as a
function in tests/test_matrix.py) stops snakemake at parse time, before any job and any file."""


@pytest.fixture(scope="module")
def bad_config_dry_runs(tmp_path_factory) -> dict[int, dict]:
    """Every BAD_CONFIGS case dry-run in one interpreter (tests/workflow_dry_runs.py), each in its own
    --directory: ~0.1 s a parse instead of ~10 s of imports per snakemake process."""
    import json

    folders = []
    for index, (overrides, _) in enumerate(BAD_CONFIGS):
        folder = tmp_path_factory.mktemp(f"bad_config_{index}")
        write_config(folder, overrides)
        folders.append(str(folder))
    run = subprocess.run([sys.executable, str(REPO / "tests" / "workflow_dry_runs.py"), *folders],
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [r["dir"] for r in results] == folders, run.stderr[-3000:]
    return dict(enumerate(results))


@pytest.mark.parametrize("index", range(len(BAD_CONFIGS)), ids=[m[:40] for _, m in BAD_CONFIGS])
def test_bad_config_fails_before_any_job(bad_config_dry_runs, index):
    result, message = bad_config_dry_runs[index], BAD_CONFIGS[index][1]
    assert not result["ok"], result["message"][-2000:]
    assert message in result["message"], result["message"][-2000:]
    assert not (Path(result["dir"]) / "logs" / "config").exists()  # failed before the effective config was written


@pytest.mark.parametrize(("gpus", "launcher"), [
    (0, "python -m pipelines.train --config"),
    (1, "python -m pipelines.train --config"),
    (2, "python -m torch.distributed.run --standalone --nproc_per_node 2 --module pipelines.train --config"),
])
def test_training_with_several_gpus_is_launched_one_process_per_gpu(tmp_path, gpus, launcher):
    """resources.train.gpu > 1 starts torchrun on the job's node instead of one process that leaves the
    other GPUs idle; the same torchrun command runs 2 gloo ranks in test_train.py::test_ddp_two_cpu_processes_match_one_process (slow)."""
    overrides = {"resources": {"train": {"gpu": gpus, "device": "cuda" if gpus else "auto"}}}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
               "-n", "-p", "runs/gvos_scm/main_only/seed0/checkpoint.pt", "--configfile", write_config(tmp_path, overrides)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    shell = [line for line in (run.stdout + run.stderr).splitlines() if "pipelines.train" in line]
    assert shell and all(launcher in line for line in shell), shell


def load_merged(*names: str) -> dict:
    """config/config.yaml with the named files merged over it, as snakemake's --configfile does."""
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for name in names:
        update_config(config, yaml.safe_load((REPO / "config" / name).read_text()))
    return config


@pytest.mark.parametrize("extra", [[], ["smoke.yaml"], ["extended.yaml"], ["paper.yaml"],
                                   ["first_round_length.yaml"]])
def test_shipped_configs_pass_the_schema(extra):
    from snakemake.utils import validate

    config = load_merged(*extra)
    validate(config, str(REPO / "config" / "schema.yaml"))
    assert config["resources"]["train"]["threads"] >= 1 and config["evaluate"]["bootstrap_samples"] >= 100


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c["experiments"].update(seeds=["zero"]),
        lambda c: c["data"].update(synthetic={"preset": "huge", "seed": 0}),
        lambda c: c.update(bogus_section=1),
        lambda c: c["experiments"]["variants"].update(gvos_scm=["finetune"]),
        lambda c: c["benchmark"].update(size="480 by 854"),
    ],
)
def test_schema_rejects_bad_configs(change):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = load_merged()
    change(config)
    with pytest.raises(WorkflowError):
        validate(config, str(REPO / "config" / "schema.yaml"))


def test_schema_error_stops_the_workflow(tmp_path):
    run = snakemake(tmp_path, "--configfile", write_config(tmp_path, {"experiments": {"seeds": ["zero"]}}))
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "override.yaml: experiments.seeds.0: 'zero' is not of type 'integer'" in out


def test_unknown_model_key_fails_before_any_job(tmp_path):
    run = snakemake(tmp_path, "--configfile", write_config(tmp_path, {"model": {"kye_dim": 3}}))
    assert run.returncode != 0
    assert "kye_dim" in run.stdout + run.stderr


def test_real_dataset_paths_that_exist_pass(tmp_path, smoke_data):
    roots = {"DAVIS": smoke_data / "DAVIS", "YTVOS": smoke_data / "YouTubeVOS", "COCO": smoke_data / "COCO"}
    overrides = {"data": {"synthetic": None, "davis": str(roots["DAVIS"]), "youtubevos": str(roots["YTVOS"]),
                          "coco": str(roots["COCO"])}}  # the synthetic roots have the holdout split
    run = snakemake(tmp_path, "--configfile", write_config(tmp_path, overrides))
    assert run.returncode == 0, run.stderr
    counts = job_counts(run.stdout + run.stderr)
    assert "synthetic_data" not in counts and counts["predict"] == (5 * 3 + 1) * 3
    effective = next((tmp_path / "logs" / "config").glob("effective-*.yaml"))
    assert yaml.safe_load(effective.read_text())["data"]["davis"] == str(roots["DAVIS"])


def test_paper_config_names_the_protocol():
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert paper["data"]["synthetic"] is None
    assert (paper["model"]["backbone"], paper["model"]["backbone_stage"]) == ("resnet50", "layer3")
    assert (paper["model"]["key_dim"], paper["model"]["value_dim"]) == (128, 512)
    for stage in ("pretrain", "main"):
        assert paper["train"][stage]["lr"] == pytest.approx(1e-5)
        assert paper["train"][stage]["batch_size"] == 4 and paper["train"][stage]["crop"] == [384, 384]
    assert paper["train"]["main"]["max_skip"] == {"start": 0, "step": 5, "every": 20, "unit": "epochs",
                                                  "maximum": 25}


def test_configfile_merges_and_a_replacement_matrix_replaces(tmp_path):
    """--configfile merges into config/config.yaml (variants can be added, not removed);
    --replace-workflow-config with a complete file runs only its own matrix (README)."""
    smoke = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    smoke["experiments"]["variants"] = {"gvos_scm": ["main_only"]}
    path = tmp_path / "only_main.yaml"
    path.write_text(yaml.safe_dump(smoke))
    merged = job_counts(snakemake(tmp_path, "--configfile", str(path)).stdout)
    assert merged["train"] == 1 + 2 + 2  # the default's stm_read and no_scm (pretrain + full) stay
    run = snakemake(tmp_path, "--configfile", str(path), "--replace-workflow-config")
    assert run.returncode == 0, run.stderr
    replaced = job_counts(run.stdout + run.stderr)
    assert replaced["train"] == 1 and replaced["predict"] == (1 + 1) * 3


def test_jobs_share_the_machines_cpus_whatever_cores_says(tmp_path):
    """--cores 8 on a machine with fewer CPUs: each job takes CPUs x (8 / CPUs) of snakemake's cores, so no
    more jobs run at once than the CPUs hold (jobs x threads = CPUs); the CLIs still get their own threads."""
    cpus = os.cpu_count() or 1
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "8",
               "-n", "--printshellcmds", "--configfile", str(REPO / "config" / "smoke.yaml")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    threads = [int(m) for m in re.findall(r"threads: (\d+)", run.stdout)]
    if cpus < 8:
        assert threads and min(threads) >= math.ceil(8 / cpus)
    assert "--threads 1" in run.stdout


def test_the_training_benchmark_waits_for_the_data_it_trains_on(tmp_path):
    """Asked for alone in an empty folder, results/train_speed.csv schedules the synthetic data first:
    without the dataset as an input the benchmark could start before the data rule (seen in CI)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "1",
               "-n", "results/train_speed.csv", "--configfile", str(REPO / "config" / "smoke.yaml")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    counts = job_counts(run.stdout + run.stderr)
    assert counts.get("train_benchmark") == 1 and counts.get("synthetic_data") == 1, counts


def test_paper_config_survives_snakemakes_merge_with_the_default():
    """`--configfile config/paper.yaml` without --replace-workflow-config merges
    config.yaml under it; paper.yaml states every recipe key, so the merged recipe is paper.yaml's own."""
    import dataclasses

    from methods.config import ModelConfig
    from pipelines.training.config import MainStageConfig, StageConfig, TrainConfig

    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    merged = load_merged("paper.yaml")
    for section, cls in (("model", ModelConfig), ("train", TrainConfig)):
        assert set(paper[section]) == {f.name for f in dataclasses.fields(cls)}, section
    for stage, cls in (("pretrain", StageConfig), ("main", MainStageConfig)):
        assert set(paper["train"][stage]) == {f.name for f in dataclasses.fields(cls)}, stage
    assert merged == paper  # no key of config.yaml leaks into the paper's protocol
    main = TrainConfig.from_dict(merged["train"]).main
    assert (main.lr, main.lr_schedule, main.warmup, main.holdout) == (1.0e-5, "constant", 0, 0)
