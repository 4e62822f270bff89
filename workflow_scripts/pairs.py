"""Rule pairs: the scored samples of round r's starting policy -> chosen/rejected preference pairs."""

from _common import setup_logging
from _settings import reward_settings

from alloypref.completion.parsing import SAMPLES_SCHEMA
from alloypref.io import read_parquet, write_parquet
from alloypref.lm.iterative import RoundDecision, current_policy, pick
from alloypref.lm.pairs import PAIRS_SCHEMA, build_pairs, scored_samples, trustworthy
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
params, inputs = snakemake.params, snakemake.input
previous = RoundDecision.read(inputs.decision) if "decision" in inputs.keys() else None
policy = current_policy(previous)
samples = read_parquet(pick(dict(inputs.items()), f"samples_{policy}", "samples"), SAMPLES_SCHEMA)
rewards = read_parquet(pick(dict(inputs.items()), f"rewards_{policy}", "rewards"), REWARDS_SCHEMA)
scored = scored_samples(samples, rewards, reward_settings(params).worst_reward)
pairs = build_pairs(
    scored, params.pairs["top_fraction"], params.pairs["k"], params.seed, same_database=params.pairs["same_database"]
)
write_parquet(pairs, snakemake.output[0], PAIRS_SCHEMA)
log.info(
    "round %s: %d pairs from %d samples of %s, %d of them trustworthy (top %.0f %%, k = %d, same database: %s)",
    snakemake.wildcards.round,
    len(pairs),
    len(samples),
    policy,
    int(trustworthy(scored).sum()),
    100 * params.pairs["top_fraction"],
    params.pairs["k"],
    params.pairs["same_database"],
)
