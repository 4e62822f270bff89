"""Rule pairs: scored SFT samples -> chosen/rejected preference pairs."""

from _common import setup_logging
from _settings import reward_config

from alloypref.io import read_parquet, write_parquet
from alloypref.lm.pairs import PAIRS_SCHEMA, build_pairs, scored_samples, trustworthy
from alloypref.lm.sampling import SAMPLES_SCHEMA
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
samples = read_parquet(snakemake.input.samples, SAMPLES_SCHEMA)
rewards = read_parquet(snakemake.input.rewards, REWARDS_SCHEMA)
scored = scored_samples(samples, rewards, reward_config(params).worst_reward)
pairs = build_pairs(
    scored, params.pairs["top_fraction"], params.pairs["k"], params.seed, same_database=params.pairs["same_database"]
)
write_parquet(pairs, snakemake.output[0], PAIRS_SCHEMA)
log.info(
    "%d pairs from %d samples, %d of them trustworthy (top %.0f %%, k = %d, same database: %s)",
    len(pairs),
    len(samples),
    int(trustworthy(scored).sum()),
    100 * params.pairs["top_fraction"],
    params.pairs["k"],
    params.pairs["same_database"],
)
