"""Rule manifest: write results/manifest.json for this run."""

import json
from pathlib import Path

from _common import setup_logging

from alloypref.io import atomic_write_text
from alloypref.provenance import manifest

log = setup_logging(snakemake)  # injected by Snakemake
record = manifest(snakemake.params.config, Path(snakemake.scriptdir).parent)
atomic_write_text(snakemake.output[0], json.dumps(record, indent=2, default=str))
log.info("manifest: config %s, commit %s", record["config_sha256"][:12], record["git"]["commit"])
