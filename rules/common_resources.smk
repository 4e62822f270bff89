# Resources of the jobs that ask for more than the defaults (no rules here).


def model_resources(wildcards):
    """GPU models ask for the one local GPU (profiles/default caps gpu=1) or a cluster GPU."""
    return 1 if config["models"][wildcards.model].get("gpu") else 0


def model_threads(wildcards):
    """torch CPU threads of a model's jobs (config models.<name>.threads)."""
    return config["models"][wildcards.model]["threads"]


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
