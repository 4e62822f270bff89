"""Rule filter_candidates: one shard of candidates -> phase fractions at the filter temperatures."""

from _common import setup_logging, validated_config
from tqdm import tqdm

from alloypref.calphad.factory import make_backend
from alloypref.config import calphad_settings
from alloypref.design_space import CANDIDATES_SCHEMA, FILTER_SCHEMA, filter_single_phase
from alloypref.io import read_parquet, write_parquet

log = setup_logging(snakemake)  # noqa: F821 - injected by Snakemake
cfg = validated_config(snakemake)  # noqa: F821
options = cfg["design_space"]["filter"]
candidates = read_parquet(snakemake.input[0], CANDIDATES_SCHEMA)  # noqa: F821
backend = make_backend(calphad_settings(cfg))
with tqdm(total=len(candidates), desc="single-phase filter", unit="cand") as bar:
    filtered = filter_single_phase(
        candidates, backend, options["temperatures_K"], options["threshold"], options["timeout_s"], bar.update
    )
write_parquet(filtered, snakemake.output[0], FILTER_SCHEMA)  # noqa: F821
log.info("kept %d of %d (%s)", int(filtered["keep"].sum()), len(filtered), filtered["status"].value_counts().to_dict())
