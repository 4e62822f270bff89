"""Rule enumerate_candidates: element roles -> every BCC and B2 candidate, and the counts."""

import json

from _common import setup_logging
from _settings import calphad_settings

from alloypref.backend_factory import make_backend
from alloypref.design_space import CANDIDATES_SCHEMA, candidates_table, read_seed_list, roles_from_config
from alloypref.io import atomic_write_text, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
design = params.design_space
roles = roles_from_config(params.element_roles, design["elements"], make_backend(calphad_settings(params)).elements())
table, counts = candidates_table(
    roles,
    design["max_bcc_elements"],
    read_seed_list(design["seed_lists"]["bcc"]),
    read_seed_list(design["seed_lists"]["b2"]),
)
counts["elements"] = sorted(roles.all_elements)
write_parquet(table, snakemake.output.candidates, CANDIDATES_SCHEMA)
atomic_write_text(snakemake.output.counts, json.dumps(counts, indent=2))
log.info("enumerated: %s", counts)
