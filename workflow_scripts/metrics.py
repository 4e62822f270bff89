"""Rule metrics: rewards of every source -> Table 1 (Parquet, Markdown, HTML) and coverage curves."""

import json

import pandas as pd
from _common import setup_logging
from _settings import reward_settings

from alloypref.design_space import FILTER_SCHEMA
from alloypref.evaluation.figures import coverage_curves
from alloypref.evaluation.fingerprints import fingerprints
from alloypref.evaluation.metrics import (
    METRICS_SCHEMA,
    TABLE1_COLUMNS,
    coverage_curve,
    known_compositions,
    markdown_table,
    reference_compositions,
    source_metrics,
)
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.scoring import REWARDS_SCHEMA
from alloypref.sources import source_label

log = setup_logging(snakemake)  # injected by Snakemake
settings = snakemake.params.evaluation
bcc = list(read_parquet(snakemake.input.bcc, FILTER_SCHEMA)["formula"])
b2 = list(read_parquet(snakemake.input.b2, FILTER_SCHEMA)["formula"])
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = json.load(handle)["elements"]
reference_fp = fingerprints(reference_compositions(bcc, b2, settings["reference_fraction"]))
known = known_compositions(elements, bcc + b2)
known_fp = fingerprints(list(known["composition"]))
log.info("reference: %d pairs; known set: %s", len(reference_fp), known["origin"].value_counts().to_dict())
worst = reward_settings(snakemake.params).worst_reward
rows, curves = [], []
for source, path in zip(snakemake.params.sources, snakemake.input.rewards):
    rewards = read_parquet(path, REWARDS_SCHEMA)
    row, generated_fp = source_metrics(
        source, rewards, reference_fp, known_fp, settings["coverage_cutoff"], settings["novelty_cutoff"], worst
    )
    rows.append(row)
    curves.append(coverage_curve(generated_fp, reference_fp, settings["cutoffs"]).assign(source=source))
table = pd.DataFrame(rows, columns=METRICS_SCHEMA.names)
write_parquet(table, snakemake.output.table, METRICS_SCHEMA)
markdown = markdown_table(table, TABLE1_COLUMNS)
atomic_write_text(snakemake.output.markdown, markdown)
atomic_write_text(snakemake.output.html, table.rename(columns=TABLE1_COLUMNS).to_html(index=False, float_format="%.3f"))
curve_table = pd.concat(curves, ignore_index=True)
write_parquet(curve_table, snakemake.output.curves)
coverage_curves(curve_table, snakemake.output.figure, {s: source_label(s) for s in snakemake.params.sources})
log.info("Table 1:\n%s", markdown)
