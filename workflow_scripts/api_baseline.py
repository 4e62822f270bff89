"""Rule api_baseline: exemplars from a scored source -> an API model's samples and a request report."""

import json
import logging
from types import SimpleNamespace

from _common import setup_logging
from _settings import calphad_settings, trust_evidence

from alloypref.baselines.api_client import redact_key_in_logs
from alloypref.baselines.api_config import ApiSettings
from alloypref.baselines.api_run import run_api_baseline
from alloypref.completion.parsing import SAMPLES_SCHEMA
from alloypref.design_space import FILTER_SCHEMA
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.progress import ProgressLog
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
for noisy in ("httpx", "httpx2"):  # one INFO line per HTTP request would drown the log; retries still show
    logging.getLogger(noisy).setLevel(logging.WARNING)
name = snakemake.wildcards.name  # noqa: F821
settings = ApiSettings.from_config(name, snakemake.params.settings)  # noqa: F821
redact_key_in_logs(settings)  # the job log never holds the key, whatever echoes it
with open(snakemake.input.enumeration, encoding="utf-8") as handle:  # noqa: F821
    elements = json.load(handle)["elements"]
known = None
if settings.known_lists:
    known = tuple(list(read_parquet(path, FILTER_SCHEMA)["formula"]) for path in snakemake.input.known)  # noqa: F821
score = None
if snakemake.params.calphad is not None:  # noqa: F821 - agent_calphad_judge: the reward is the judge
    from alloypref.backend_factory import make_backend
    from alloypref.scoring import ScoringSettings, score_one

    calphad = calphad_settings(SimpleNamespace(**snakemake.params.calphad))  # noqa: F821
    backend = make_backend(calphad)
    options = ScoringSettings.from_settings(calphad)
    evidence = trust_evidence(snakemake.input, calphad)  # noqa: F821 - the same trust as rule score

    def score(bcc, b2, volume):
        return score_one(bcc, b2, volume, backend, options, evidence)[0]


exemplars = read_parquet(snakemake.input.exemplars, REWARDS_SCHEMA)  # noqa: F821
progress = ProgressLog(settings.n, f"{name} ({settings.method})", log, unit="triples")
samples, report = run_api_baseline(
    settings,
    exemplars,
    elements,
    snakemake.params.requests,  # noqa: F821
    snakemake.params.seed,  # noqa: F821
    known,
    score,
    progress,
)
write_parquet(samples, snakemake.output.samples, SAMPLES_SCHEMA)  # noqa: F821
atomic_write_text(snakemake.output.report, json.dumps(report, indent=2))  # noqa: F821
log.info(
    "%s: %d samples %s; %d requests sent, %d from the log",
    name,
    len(samples),
    report["statuses"],
    report["requests_sent"],
    report["requests_from_log"],
)
