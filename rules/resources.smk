# How jobs start and share the machine: the training launcher (torchrun for several GPUs), the threads
# and CPUs a job takes, one job per GPU on one machine, and what a SLURM cluster must offer before the
# first submission.

import math

from pipelines.common.runtime import job_gpus, visible_gpus  # noqa: E402

RES = config["resources"]


def resources_of(kind):
    return RES.get(kind) or {}


def job_device(kind):
    return resources_of(kind).get("device", "auto")


# ---- how a training job starts
if TRAIN_PROCESSES <= 1:
    TRAIN_COMMAND = f"{PY} -m pipelines.train"
else:  # one process per GPU under torchrun on the job's node, the batch split over the ranks
    TRAIN_COMMAND = (f"{PY} -m torch.distributed.run --standalone --nproc_per_node {TRAIN_PROCESSES}"
                     " --module pipelines.train")


# ---- how jobs share the CPUs
def _cpu_scale():
    """On one machine, a job of n threads takes n * (--cores / CPUs) of snakemake's cores, so the jobs
    running at once use the machine's CPUs whatever --cores says (jobs x threads = CPUs); clusters
    and dry runs are left as they are."""
    try:
        cores = workflow.cores
    except WorkflowError:
        return 1.0
    cpus = os.cpu_count() or 1
    if not workflow.local_exec or not cores or cores <= cpus:
        return 1.0
    return cores / cpus


CPU_SCALE = _cpu_scale()


def job_threads(kind):
    """Threads of one job of this kind: what its command is told to use."""
    return int(resources_of(kind).get("threads", 1))


def job_slots(kind):
    """What a job of this kind takes of snakemake's --cores (see _cpu_scale)."""
    return max(1, math.ceil(job_threads(kind) * CPU_SCALE))


def exclusive_slots(kind):
    """All of snakemake's --cores on one machine: a timing job runs with no other job beside it (also
    before or after the trainings, in whichever order the scheduler picks); its own share elsewhere.

    A job that a cluster executor submitted parses this file again inside its allocation (exec mode
    remote) with --cores all: it must ask for what the planning process asked the cluster for (its own
    share; the planner has no --cores), or srun refuses the step ("More processors requested than
    permitted")."""
    try:
        cores = workflow.cores
    except WorkflowError:
        cores = None
    if workflow.remote_exec or not workflow.local_exec or not cores:
        return job_slots(kind)
    return max(job_slots(kind), int(cores))


# ---- a cluster: what must hold before the first job is submitted (the executor is known only once the
# run starts, not while this file is parsed)
def _check_cluster():
    from pipelines.common.cluster import accounting_storage, status_command_problem

    plugin = workflow.executor_plugin
    executor = getattr(plugin, "name", None)
    if executor != "slurm":
        return
    command = getattr(workflow.executor_settings, "status_command", None)
    problem = status_command_problem(executor, command, accounting_storage())
    if problem is not None:
        raise WorkflowError(f"cluster error: {problem}")


onstart:
    _check_cluster()


# ---- how jobs share the GPUs: on one machine, one job per card (the jobs on a card would time each other)
LOCAL_GPUS = visible_gpus() if workflow.local_exec and not workflow.remote_exec else 0


def _cap_gpu_jobs():
    """Without a gpu limit given (--resources gpu=N, profiles/local), a local run may start as many GPU
    jobs at once as the machine has GPUs."""
    if LOCAL_GPUS and "gpu" not in workflow.global_resources and hasattr(workflow, "register_resource"):
        workflow.register_resource("gpu", LOCAL_GPUS)


_cap_gpu_jobs()


def job_resources(kind):
    res = resources_of(kind)
    return dict(gpu=job_gpus(res.get("gpu", 0), job_device(kind), LOCAL_GPUS), mem_mb=res.get("mem_mb", 4000),
                runtime=res.get("runtime", 60))


def job_placement(kind):
    """Where and how wide a job runs: torch threads, DataLoader workers, device. Resources, not params:
    they change no result of training, prediction or evaluation, so editing them never reruns a finished
    job (the benchmarks, whose result they are, keep threads and device in their params)."""
    res = resources_of(kind)
    return dict(torch_threads=job_threads(kind), workers=int(res.get("workers", 0)), device=str(job_device(kind)))
