"""Rule random_baseline: the unfiltered BCC grid and the B2 formers -> N random triples (A.1.1)."""

import json

from _common import setup_logging

from alloypref.baselines.random_search import random_triples
from alloypref.design_space import CANDIDATES_SCHEMA, ElementRoles
from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import TRIPLES_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
candidates = read_parquet(snakemake.input.candidates, CANDIDATES_SCHEMA)
with open(snakemake.input.enumeration, encoding="utf-8") as handle:
    elements = set(json.load(handle)["elements"])
roles = ElementRoles.from_config(snakemake.params.element_roles).subset(elements)
grid = list(candidates.loc[(candidates["kind"] == "bcc") & (candidates["source"] == "enumerated"), "formula"])
triples = random_triples(grid, roles, snakemake.params.n, snakemake.params.seed)
write_parquet(triples, snakemake.output[0], TRIPLES_SCHEMA)
log.info("%d random triples from a grid of %d BCC compositions", len(triples), len(grid))
