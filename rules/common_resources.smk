# Resources of the jobs that ask for more than the defaults (no rules here). Sizes are the workflow's
# facts; the cluster's account and default partition are the profile's (profiles/slurm).


# The jobs of one model (sft, dpo_round, grpo, sample, fresh_samples, kl) follow that model's own
# device, config models.<name>.gpu: a GPU model's jobs ask for one GPU (locally, profiles/default
# caps the GPU jobs that run at once at one), its memory and time; a CPU model's jobs its threads'
# cores and the CPU sizes. On SLURM (profiles/slurm) a GPU model's jobs also name the GPU partition
# and type of config slurm: a rule can only replace the profile's default partition for all of its
# jobs, so the partition is set per job only in configs that have a GPU model, and the jobs of
# every model stay on the default partition otherwise.
def model_threads(wildcards):
    """torch CPU threads of a model's jobs (config models.<name>.threads)."""
    return config["models"][wildcards.model]["threads"]


def _on_gpu(wildcards):
    return bool(config["models"][wildcards.model].get("gpu"))


def model_job_resources(cpu_mem_mb, cpu_runtime, gpu_mem_mb, gpu_runtime):
    """Resources of a model's job by the model's device: ``gpu`` (count), ``mem_mb`` (MB),
    ``runtime`` (minutes), ``cpus_per_task`` (the model's threads) and, when some model of the
    config has gpu: true, the SLURM partition and GPU type (config slurm)."""
    resources = {
        "gpu": lambda wildcards: 1 if _on_gpu(wildcards) else 0,
        "mem_mb": lambda wildcards: gpu_mem_mb if _on_gpu(wildcards) else cpu_mem_mb,
        "runtime": lambda wildcards: gpu_runtime if _on_gpu(wildcards) else cpu_runtime,
        "cpus_per_task": model_threads,
    }
    if any(entry.get("gpu") for entry in config["models"].values()):
        slurm = config["slurm"]
        resources["slurm_partition"] = lambda wildcards: (
            slurm["gpu_partition"] if _on_gpu(wildcards) else slurm["cpu_partition"]
        )
        resources["gpu_model"] = lambda wildcards: slurm["gpu_model"] if _on_gpu(wildcards) else None
    return resources


# Scoring resources follow config scoring.workers, not the job's `threads`: a dry run (and a local
# run) caps threads at --cores, which would size a cluster job for one worker. The measured figures
# and their margins live in alloypref.measured_rates (README: cost model).
def score_cpus(wildcards):
    """Cores of a scoring job: one per solver worker (SLURM cpus_per_task)."""
    return config["scoring"]["workers"]


def score_mem_mb(wildcards):
    """Memory of a scoring job: its solver workers and the scorer process."""
    from alloypref.measured_rates import scoring_job_mem_mb

    return scoring_job_mem_mb(config["scoring"]["workers"], config["scoring"]["worker_mem_mb"])


def score_runtime(wildcards):
    """Minutes of a scoring job: its share of the source's cold CPU cost over its workers, with margin.

    A source whose size only its file knows (example, external CSVs) gets the largest configured
    source's size.
    """
    from alloypref.measured_rates import scoring_job_minutes
    from alloypref.sources import source_sizes

    sizes = source_sizes(config)
    n = sizes.get(wildcards.source) or max([size or 0 for size in sizes.values()] + [1])
    scoring = config["scoring"]
    return scoring_job_minutes(
        n, scoring["shards"], scoring["workers"], scoring["cpu_s_per_candidate"], config["calphad"]["timeout_s"]
    )
