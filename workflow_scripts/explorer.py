"""Rule explorer: every source's rewards and phase tables -> results/explorer.html."""

from _common import setup_logging

from alloypref.evaluation.explorer import read_scored, write_explorer

log = setup_logging(snakemake)  # injected by Snakemake
limit = snakemake.params.max_candidates
scored = read_scored(snakemake.params.sources, snakemake.input.rewards, snakemake.input.tables, limit)
written = write_explorer(scored, snakemake.output[0], limit, mismatch=snakemake.params.mismatch)
log.info(
    "explorer: %d of %d candidates embedded (limit %d), %.0f kB",
    written["shown"],
    written["total"],
    written["limit"],
    written["bytes"] / 1000,
)
