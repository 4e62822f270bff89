"""Rule score: one shard of triples -> rewards and phase tables (resumes from its checkpoint)."""

from _common import setup_logging, validated_config

from alloypref.calphad.factory import make_backend
from alloypref.config import calphad_settings
from alloypref.scoring import ScoringOptions, score_file

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
cfg = validated_config(snakemake)  # noqa: F821
settings = calphad_settings(cfg)
options = ScoringOptions(
    temperatures_K=settings.temperatures_K,
    reward=settings.reward,
    min_coverage=settings.min_coverage,
    timeout_s=settings.timeout_s,
    checkpoint_every=cfg["scoring"]["checkpoint_every"],
)
score_file(
    snakemake.input[0],  # noqa: F821
    snakemake.output.rewards,  # noqa: F821
    snakemake.output.tables,  # noqa: F821
    make_backend(settings),
    options,
    key_extra=dict(snakemake.params.items()),  # noqa: F821 - the code version: a checkpoint of other code is discarded
)
