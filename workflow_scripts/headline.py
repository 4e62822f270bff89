"""Rule headline: rewards and ledgers of every method and round, and the models' fresh batches -> the
headline table (95 % intervals), the per-round trajectories, and the figures of hits against calls and
of the rounds."""

import pandas as pd
from _common import setup_logging
from _settings import reward_settings

from alloypref.design_space import FILTER_SCHEMA
from alloypref.evaluation.drift import element_shares
from alloypref.evaluation.figures import hits_against_calls, round_trajectories
from alloypref.evaluation.fingerprints import fingerprints
from alloypref.evaluation.headline import (
    HEADLINE_SCHEMA,
    ROUNDS_SCHEMA,
    fresh_batch,
    interval_legend,
    ledger_rows_of,
    markdown,
    round_table,
    sample_rows_of,
    split_batches,
    wide,
)
from alloypref.evaluation.metrics import master_fractions, reference_compositions
from alloypref.evaluation.set_metrics import FRESH_SAMPLES_SCHEMA
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.ledger import LEDGER_SCHEMA
from alloypref.lm.iterative import RoundDecision
from alloypref.scoring import REWARDS_SCHEMA
from alloypref.sources import source_label

log = setup_logging(snakemake)  # injected by Snakemake
params, inputs = snakemake.params, snakemake.input
settings = params.evaluation
cutoffs = [settings["coverage_cutoff"], *settings["headline_cutoffs"]]
bcc = list(read_parquet(inputs.bcc, FILTER_SCHEMA)["formula"])
b2 = list(read_parquet(inputs.b2, FILTER_SCHEMA)["formula"])
reference_fp = fingerprints(reference_compositions(bcc, b2, settings["reference_fraction"]))
worst = reward_settings(params).worst_reward
rewards = {source: read_parquet(path, REWARDS_SCHEMA) for source, path in zip(params.sources, inputs.rewards)}
ledgers = {source: read_parquet(path, LEDGER_SCHEMA) for source, path in zip(params.ledger_sources, inputs.ledgers)}
keys = [(model, r) for model in params.models for r in params.rounds]  # expand's order
decisions = {key: RoundDecision.read(path) for key, path in zip(keys, inputs.decisions)}
fresh = {
    source: [fresh_batch(batch) for batch in split_batches(read_parquet(path, FRESH_SAMPLES_SCHEMA))]
    for source, path in zip(params.fresh_sources, inputs.fresh)
}
for model in params.models:  # the final DPO source: its policy's batches (the last round's decision)
    if fresh and params.rounds:
        fresh[f"{model}-dpo"] = fresh[f"{model}-{decisions[(model, params.rounds[-1])].policy}"]
rows = []
for source, table in rewards.items():
    model = source.rpartition("-")[0]
    sft = rewards.get(f"{model}-sft")  # a source of no model (random, external) has no SFT to drift from
    parsed = [m for m in master_fractions(table) if m is not None]
    parsed_fp = fingerprints(parsed) if parsed else reference_fp[:0]
    if source in ledgers:
        rows += ledger_rows_of(source, ledgers[source], settings["bootstrap"], params.seed)
    rows += sample_rows_of(
        source,
        table,
        worst,
        parsed_fp,
        reference_fp,
        cutoffs,
        element_shares(sft) if sft is not None else pd.Series(dtype=float),
        settings["bootstrap"],
        params.seed,
        fresh.get(source, ()),
    )
headline = pd.DataFrame(rows, columns=HEADLINE_SCHEMA.names)
write_parquet(headline, snakemake.output.table, HEADLINE_SCHEMA)
ledger_rows = headline[headline["source"].isin(params.ledger_sources)]
shown = wide(ledger_rows, labels=True)
legend = interval_legend(ledger_rows)
atomic_write_text(snakemake.output.markdown, markdown(shown) + "\n" + legend + "\n")
atomic_write_text(snakemake.output.html, shown.to_html(index=False) + f"<p>{legend}</p>")
accepted = {key: decision.accepted for key, decision in decisions.items()}
rounds = round_table(headline, ledgers, params.models, accepted)
write_parquet(rounds, snakemake.output.rounds, ROUNDS_SCHEMA)
hits_against_calls(ledgers, snakemake.output.hits_figure, {s: source_label(s) for s in ledgers})
round_trajectories(rounds, snakemake.output.rounds_figure)
log.info("headline metrics (95 %% intervals):\n%s\n%s", markdown(shown), legend)
