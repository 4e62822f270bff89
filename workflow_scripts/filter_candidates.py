"""Rule filter_candidates: one shard of candidates -> phase fractions at the filter temperatures, on
the database trusted for each (weakest-link trust from the phase inventory and the report card)."""

from _common import setup_logging
from _settings import calphad_settings

from alloypref.backend_factory import make_backend
from alloypref.calphad.trust import TrustEvidence, TrustSettings
from alloypref.design_space import CANDIDATES_SCHEMA, FILTER_SCHEMA, filter_single_phase
from alloypref.io import read_parquet, write_parquet
from alloypref.progress import ProgressLog

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
options = params.filter
candidates = read_parquet(snakemake.input.candidates, CANDIDATES_SCHEMA)
backend = make_backend(calphad_settings(params))
evidence = TrustEvidence.from_files(
    snakemake.input.phase_checks,
    snakemake.input.verdicts,
    options["temperatures_K"],
    TrustSettings.from_config(params.trust),
)
progress = ProgressLog(len(candidates), "single-phase filter", log, unit="candidates")
filtered = filter_single_phase(
    candidates, backend, options["temperatures_K"], options["threshold"], options["timeout_s"], progress, evidence
)
write_parquet(filtered, snakemake.output[0], FILTER_SCHEMA)
log.info(
    "kept %d of %d (%s; %d untrusted)",
    int(filtered["keep"].sum()),
    len(filtered),
    filtered["status"].value_counts().to_dict(),
    int(((filtered["status"] == "ok") & ~filtered["trusted"]).sum()),
)
