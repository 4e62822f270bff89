"""Rule score: one shard of triples -> rewards and phase tables (resumes from its checkpoint)."""

from _common import setup_logging
from _settings import calphad_settings, trust_evidence

from alloypref.backend_factory import make_backend
from alloypref.scoring import ScoringSettings, score_file

log = setup_logging(snakemake)  # injected by Snakemake
settings = calphad_settings(snakemake.params)
options = ScoringSettings.from_settings(
    settings,
    checkpoint_every=snakemake.params.checkpoint_every,
    workers=snakemake.threads,  # one solver process per core the job was given
)
score_file(
    snakemake.input.triples,
    snakemake.output.rewards,
    snakemake.output.tables,
    make_backend(settings),
    options,
    key_extra=dict(snakemake.params.items()),  # noqa: F821 - the code version: a checkpoint of other code is discarded
    trust_evidence=trust_evidence(snakemake.input, settings),
)
