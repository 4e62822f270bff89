"""Rule shipped_design_space: the curated lists shipped with the package -> this run's design-space
artifacts (the same files the curation rules write), after checking the settings they were made with."""

import json

from _common import setup_logging

from alloypref.design_space import CANDIDATES_SCHEMA, FILTER_SCHEMA
from alloypref.io import atomic_write_text, write_parquet
from alloypref.shipped_design_space import load_shipped, materialize, settings_differences

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
shipped = load_shipped(params.name)
# the DAG build checked the config; a job run by hand with other params is refused here too
differences = settings_differences(shipped.provenance["settings"], params.settings)
if differences:
    raise ValueError(f"shipped design space {params.name!r} was curated with other settings: {differences[:3]}")
artifacts = materialize(shipped, params.min_coverage)
output = snakemake.output
write_parquet(artifacts["candidates"], output.candidates, CANDIDATES_SCHEMA)
for key in ("filtered", "bcc", "b2"):
    write_parquet(artifacts["curation" if key == "filtered" else key], output[key], FILTER_SCHEMA)
atomic_write_text(output.counts, json.dumps(artifacts["enumeration_counts"], indent=2))
atomic_write_text(output.curation_counts, json.dumps(artifacts["curation_counts"], indent=2))
log.info(
    "shipped design space %r (commit %s): %s",
    params.name,
    shipped.provenance["git"]["commit"],
    artifacts["curation_counts"],
)
