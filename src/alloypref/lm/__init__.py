"""Language-model stages: formula tokenizer, model registry and loading, SFT, sampling, preference pairs
and DPO, GRPO, and the shared-prompt path they train and sample with (:mod:`.shared_prompt`). Parsing
what a model wrote lives beside the completion grammar, in :mod:`alloypref.completion`.

Importing this package needs neither pycalphad nor pymatgen, and never imports CUDA-only packages
(bitsandbytes) unless a model is configured for 8-bit loading on a CUDA machine.
"""
