"""Rule database_report_card: the design space's phase facts on every configured database ->
report card, per-pair summary, an HTML table and an element x element heat map."""

import json

from _common import setup_logging
from _settings import calphad_settings

from alloypref.calphad.factory import make_backend
from alloypref.calphad.report_card import (
    PAIR_SUMMARY_SCHEMA,
    REPORT_CARD_SCHEMA,
    agreement_by_database,
    card_html,
    evaluate,
    facts_within,
    heat_map,
    load_facts,
    pair_summary,
    report_card_settings,
)
from alloypref.io import atomic_write_text, write_parquet
from alloypref.progress import ProgressLog

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
settings = report_card_settings(params.report_card)
with open(snakemake.input.enumeration) as handle:
    elements = json.load(handle)["elements"]
# no facts input: the package's own (params.facts_version holds their hash)
facts = facts_within(load_facts(snakemake.input.facts or None), elements)
backend = make_backend(calphad_settings(params))
if not hasattr(backend, "specs"):
    raise SystemExit(f"the report card needs the pycalphad backend (calphad.backend is {backend.name!r})")
log.info("%d facts within %s on databases %s", len(facts), elements, list(backend.specs))
progress = ProgressLog(len(facts) * len(backend.specs), "report card", log, unit="facts")
card = evaluate(facts, backend, settings, progress)
summary = pair_summary(card, settings.min_agreement, elements, backend.specs)
write_parquet(card, snakemake.output.card, REPORT_CARD_SCHEMA)
write_parquet(summary, snakemake.output.summary, PAIR_SUMMARY_SCHEMA)
heat_map(summary, elements, snakemake.output.figure)
atomic_write_text(snakemake.output.html, card_html(card))
rates = agreement_by_database(card)
for row in rates.itertuples():
    log.info("agreement %s: %d/%d = %.3f", row.database, row.n_agree, row.n_facts, row.agreement)
