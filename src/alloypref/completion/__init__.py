"""Completion text: the grammar a (BCC, B2, B2 volume %) triple is written in, with the training data's
formula notation and the rule for a well-formed formula (:mod:`.grammar`), and the parsing of what a
model or an API wrote into a triple and a status (:mod:`.parsing`).

Training data, tokenizers, sampling, baselines and evaluation all read these two modules; neither
imports a language-model library.
"""
