"""Language-model stages: formula tokenizer, model registry and loading, SFT, sampling and parsing,
preference pairs and DPO.

Importing this package needs neither pycalphad nor pymatgen, and never imports CUDA-only packages
(bitsandbytes) unless a model is configured for 8-bit loading on a CUDA machine.
"""
