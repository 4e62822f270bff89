"""Rule cross_database: a seeded sample of one source's candidates scored on every database that can
compute them -> results/databases/cross_database/{source}.parquet."""

from _common import setup_logging
from _settings import calphad_settings, trust_evidence

from alloypref.backend_factory import make_backend
from alloypref.evaluation.cross_database import CROSS_DATABASE_SCHEMA, cross_score, sample_candidates
from alloypref.io import read_parquet, write_parquet
from alloypref.scoring import REWARDS_SCHEMA, ScoringSettings

log = setup_logging(snakemake)  # injected by Snakemake
settings = calphad_settings(snakemake.params)
sampling = snakemake.params.cross_database
options = ScoringSettings.from_settings(settings)
evidence = trust_evidence(snakemake.input, settings)
backend = make_backend(settings)
rewards = read_parquet(snakemake.input.rewards, REWARDS_SCHEMA)
sampled = sample_candidates(rewards, backend, sampling["sample_per_source"], sampling["seed"], evidence)
log.info("%d of %d candidates sampled (scored ok, >= 2 databases hold their elements)", len(sampled), len(rewards))
databases = [spec.name for spec in settings.databases]
table = cross_score(sampled, backend, databases, options, evidence)
write_parquet(table, snakemake.output[0], CROSS_DATABASE_SCHEMA)
log.info("cross-database rows by database and status: %s", table.groupby(["database", "status"]).size().to_dict())
