"""Rule cross_database_summary: every source's cross-database table -> agreement and DPO-gain tables
(Parquet), Markdown for the summary and HTML for the report."""

from _common import setup_logging
from _settings import reward_settings

from alloypref.evaluation.cross_database import (
    AGREEMENT_SCHEMA,
    CROSS_DATABASE_SCHEMA,
    DPO_GAIN_SCHEMA,
    agreement,
    dpo_gain,
    markdown,
)
from alloypref.io import atomic_write_text, read_parquet, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
cross = {source: read_parquet(path, CROSS_DATABASE_SCHEMA) for source, path in zip(params.sources, snakemake.input)}
agreement_table = agreement(cross, params.databases)
gain_table = dpo_gain(cross, params.models, reward_settings(params).worst_reward)
write_parquet(agreement_table, snakemake.output.agreement, AGREEMENT_SCHEMA)
write_parquet(gain_table, snakemake.output.dpo_gain, DPO_GAIN_SCHEMA)
text = markdown(agreement_table, gain_table)
atomic_write_text(snakemake.output.markdown, text)
html = (
    "<h3>Rule-flag agreement and reward correlation between databases</h3>"
    + agreement_table.to_html(index=False, float_format="%.3f", na_rep="–")
    + "<h3>DPO - SFT gain on the chosen and on the other database</h3>"
    + gain_table.to_html(index=False, float_format="%.3f", na_rep="–")
)
atomic_write_text(snakemake.output.html, html)
log.info("cross-database agreement:\n%s", text)
