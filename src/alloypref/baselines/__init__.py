"""Baselines: the random search of Appendix A.1.1, an importer for external generations, and language
models behind an OpenAI-compatible endpoint (A.1.2-A.1.4: prompting, prompt tuning, generator/evaluator agent)."""
