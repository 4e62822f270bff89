"""CALPHAD backends, databases, phase tables and lattice estimates."""
