"""Rule phase_inventory: which known competing phases (Laves, sigma, mu, B2 ...) each configured
database models -> a per-phase check table, a database x system status table and an HTML page."""

from _common import setup_logging
from _settings import calphad_settings

from alloypref.calphad.databases import load_database
from alloypref.calphad.phase_inventory import (
    INVENTORY_STATUS_SCHEMA,
    PHASE_CHECK_SCHEMA,
    inventory_html,
    inventory_tables,
    load_inventory,
    load_kind_map,
)
from alloypref.io import atomic_write_text, write_parquet

log = setup_logging(snakemake)  # injected by Snakemake
settings = calphad_settings(snakemake.params)
inventory = load_inventory()  # the package's (params.data: its hash)
kind_map = load_kind_map()
log.info("%d inventory rows (%d confirmed)", len(inventory), int(inventory["confirmed"].sum()))
databases = [(spec, load_database(spec, settings.cache_dir)) for spec in settings.databases]
checks, status = inventory_tables(databases, inventory, kind_map)
write_parquet(status, snakemake.output.status, INVENTORY_STATUS_SCHEMA)
write_parquet(checks, snakemake.output.phases, PHASE_CHECK_SCHEMA)
atomic_write_text(snakemake.output.html, inventory_html(status, checks))
for (database, state), count in status.groupby(["database", "status"]).size().items():
    log.info("%s: %d systems %s", database, count, state)
