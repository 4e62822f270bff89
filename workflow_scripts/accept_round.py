"""Rule accept_round: round r's scored samples -> its decision (accepted or not, and the policy the
next round continues from), with the uniqueness and element drift it was judged on."""

from _common import setup_logging

from alloypref.evaluation.drift import element_shares, total_variation
from alloypref.evaluation.metrics import unique_at
from alloypref.io import read_parquet
from alloypref.lm.iterative import RoundDecision, decide
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
inputs = snakemake.input
round_number = int(snakemake.wildcards.round)
previous = RoundDecision.read(inputs.decision) if "decision" in inputs.keys() else None
rewards = read_parquet(inputs.rewards, REWARDS_SCHEMA)
sft = read_parquet(inputs.sft, REWARDS_SCHEMA)
drift = total_variation(element_shares(rewards), element_shares(sft))
decision = decide(round_number, unique_at(rewards), drift, snakemake.params.min_unique, previous)
decision.write(snakemake.output[0])
log.info(
    "round %d of %s %s: unique@100 %.3f (floor %.3f), element TV vs SFT %.3f; next round starts from %s",
    round_number,
    snakemake.wildcards.model,
    "accepted" if decision.accepted else "REJECTED",
    decision.unique_at_100,
    decision.min_unique,
    decision.element_tv,
    decision.policy,
)
