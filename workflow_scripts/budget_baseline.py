"""Rule budget_baseline: a pool of samples or random triples and the DPO pipeline's ledger -> the
shortest prefix of the pool with as many unique CALPHAD calls as that pipeline spent."""

from _common import setup_logging

from alloypref.io import read_parquet, write_parquet
from alloypref.ledger import LEDGER_SCHEMA, budget_prefix, total_calls, triple_keys

log = setup_logging(snakemake)  # injected by Snakemake
pool = read_parquet(snakemake.input.pool)
budget = total_calls(read_parquet(snakemake.input.ledger, LEDGER_SCHEMA))
triples = budget_prefix(pool, budget)
calls = triple_keys(triples).dropna().nunique()
write_parquet(triples, snakemake.output[0])
if calls < budget:
    log.warning("pool of %d holds only %d unique candidates, short of the budget %d", len(pool), calls, budget)
log.info("%d of %d pool rows give %d calls (budget %d)", len(triples), len(pool), calls, budget)
