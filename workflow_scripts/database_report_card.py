"""Rule database_report_card: the design space's phase facts on every configured database ->
report card, per-pair summary, per-subsystem verdicts, per-database summary, an HTML table and an
element x element heat map. Solved shards are kept under ``params.shard_dir`` (keyed by facts,
database file and settings), so a stopped card resumes."""

import json

from _common import setup_logging
from _settings import calphad_settings

from alloypref.backend_factory import make_backend
from alloypref.calphad.report_card import (
    DATABASE_SUMMARY_SCHEMA,
    PAIR_SUMMARY_SCHEMA,
    REPORT_CARD_SCHEMA,
    SUBSYSTEM_VERDICT_SCHEMA,
    card_html,
    database_summary,
    evaluate_sharded,
    facts_within,
    heat_map,
    load_facts,
    pair_summary,
    report_card_settings,
    subsystem_verdicts,
)
from alloypref.io import atomic_write_text, write_parquet
from alloypref.progress import ProgressLog

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
settings = report_card_settings(params.report_card)
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]
# no facts input: the package's own (params.facts_version holds their hash)
facts = facts_within(load_facts(snakemake.input.facts or None), elements)
backend = make_backend(calphad_settings(params))
if not hasattr(backend, "specs"):
    raise SystemExit(f"the report card needs the pycalphad backend (calphad.backend is {backend.name!r})")
log.info("%d facts within %s on databases %s", len(facts), elements, list(backend.specs))
progress = ProgressLog(len(facts) * len(backend.specs), "report card", log, unit="facts")
card = evaluate_sharded(facts, backend, settings, params.shard_dir, progress)
summary = pair_summary(card, settings.min_agreement, elements, backend.specs)
verdicts = subsystem_verdicts(card)
per_database = database_summary(card, verdicts)
write_parquet(card, snakemake.output.card, REPORT_CARD_SCHEMA)
write_parquet(summary, snakemake.output.summary, PAIR_SUMMARY_SCHEMA)
write_parquet(verdicts, snakemake.output.verdicts, SUBSYSTEM_VERDICT_SCHEMA)
write_parquet(per_database, snakemake.output.databases, DATABASE_SUMMARY_SCHEMA)
heat_map(summary, elements, snakemake.output.figure)
atomic_write_text(snakemake.output.html, card_html(card))
for row in per_database.itertuples():
    log.info(
        "%s: %d/%d facts agree; calibration %d/%d; detection facts failed %d/%d, untrusted %s",
        row.database,
        row.n_agree,
        row.n_facts,
        row.n_calibration_agree,
        row.n_calibration,
        row.n_detection_failed,
        row.n_detection,
        list(row.untrusted_subsystems),
    )
