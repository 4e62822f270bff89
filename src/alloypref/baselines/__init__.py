"""Baselines: the random search of Appendix A.1.1 and an importer for external generations."""
