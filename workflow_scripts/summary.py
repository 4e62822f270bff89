"""Rule summary: every table of the run -> results/summary.md."""

from pathlib import Path

from _common import setup_logging

from alloypref.evaluation.summary import render_summary
from alloypref.io import atomic_write_text

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
text = render_summary(
    Path(snakemake.input.table).read_text(),  # noqa: F821
    snakemake.params.models,  # noqa: F821
    snakemake.params.sources,  # noqa: F821
    Path("results/metrics"),
    Path(snakemake.input.manifest),  # noqa: F821
)
atomic_write_text(snakemake.output[0], text)  # noqa: F821
log.info("summary written to %s", snakemake.output[0])  # noqa: F821
