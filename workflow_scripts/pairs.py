"""Rule pairs: scored SFT samples -> chosen/rejected preference pairs."""

from _common import setup_logging, validated_config

from alloypref.config import calphad_settings
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.pairs import PAIRS_SCHEMA, build_pairs, scored_samples, trustworthy
from alloypref.lm.sampling import SAMPLES_SCHEMA
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
cfg = validated_config(snakemake)  # noqa: F821
samples = read_parquet(snakemake.input.samples, SAMPLES_SCHEMA)  # noqa: F821
rewards = read_parquet(snakemake.input.rewards, REWARDS_SCHEMA)  # noqa: F821
scored = scored_samples(samples, rewards, calphad_settings(cfg).reward.worst_reward)
pairs = build_pairs(
    scored, cfg["pairs"]["top_fraction"], cfg["pairs"]["k"], cfg["seed"], same_database=cfg["pairs"]["same_database"]
)
write_parquet(pairs, snakemake.output[0], PAIRS_SCHEMA)  # noqa: F821
log.info(
    "%d pairs from %d samples, %d of them trustworthy (top %.0f %%, k = %d, same database: %s)",
    len(pairs), len(samples), int(trustworthy(scored).sum()), 100 * cfg["pairs"]["top_fraction"], cfg["pairs"]["k"],
    cfg["pairs"]["same_database"],
)
