# Resources of the jobs that ask for more than the defaults (no rules here).


def model_resources(wildcards):
    """GPU models ask for the one local GPU (profiles/default caps gpu=1) or a cluster GPU."""
    return 1 if config["models"][wildcards.model].get("gpu") else 0


def model_threads(wildcards):
    """torch CPU threads of a model's jobs (config models.<name>.threads)."""
    return config["models"][wildcards.model]["threads"]


# Margins of the scoring jobs' resources over the measured figures (README: cost model): memory 25 %
# over the per-worker peak (config scoring.worker_mem_mb holds the measured value) plus the
# scorer's own process; time twice the measured CPU cost (shards balanced by estimated cost differ
# by up to a third; a shared node runs slower), plus one candidate running to its time limit.
SCORE_MEM_MARGIN = 1.25
SCORER_PROCESS_MB = 1000
SCORE_TIME_MARGIN = 2.0
SCORE_MIN_RUNTIME = 10


# Scoring resources follow config scoring.workers, not the job's `threads`: a dry run (and a local
# run) caps threads at --cores, which would size a cluster job for one worker.
def score_cpus(wildcards):
    """Cores of a scoring job: one per solver worker (SLURM cpus_per_task)."""
    return config["scoring"]["workers"]


def score_mem_mb(wildcards):
    """Memory of a scoring job: its solver workers and the scorer process."""
    workers = config["scoring"]["workers"]
    return int(SCORER_PROCESS_MB + SCORE_MEM_MARGIN * workers * config["scoring"]["worker_mem_mb"])


def score_runtime(wildcards):
    """Minutes of a scoring job: its share of the source's cold CPU cost over its workers, with margin.

    A source whose size only its file knows (example, external CSVs) gets the largest configured
    source's size.
    """
    import math

    from alloypref.sources import source_sizes

    sizes = source_sizes(config)
    n = sizes.get(wildcards.source) or max([size or 0 for size in sizes.values()] + [1])
    per_shard = math.ceil(n / config["scoring"]["shards"])
    cpu_s = per_shard * config["scoring"]["cpu_s_per_candidate"]
    minutes = SCORE_TIME_MARGIN * cpu_s / config["scoring"]["workers"] / 60 + config["calphad"]["timeout_s"] / 60
    return max(SCORE_MIN_RUNTIME, math.ceil(minutes))
