"""Random search (Appendix A.1.1): BCC drawn from the unfiltered enumeration grid, B2 as a 1:1 pair
of an A-site and a B-site former, B2 volume uniform on [20, 70] %, as many triples as a model samples.

Output: a triples table (``candidate_id``, ``bcc``, ``b2``, ``b2_volume_percent``), seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alloypref.design_space import ElementRoles


def random_triples(
    bcc_grid: list[str], roles: ElementRoles, n: int, seed: int, low: float = 20.0, high: float = 70.0
) -> pd.DataFrame:
    if not bcc_grid:
        raise ValueError("random search needs a non-empty BCC enumeration grid")
    a_site = sorted(set(roles.b2_a_site) | set(roles.b2_either_site))
    b_site = sorted(set(roles.b2_b_site) | set(roles.b2_either_site))
    pairs = [(a, b) for a in a_site for b in b_site if a != b]
    if not pairs:
        raise ValueError("random search needs at least one A-site and one distinct B-site former")
    rng = np.random.default_rng(seed)
    bcc = rng.choice(np.asarray(bcc_grid, dtype=object), size=n)
    chosen = rng.integers(0, len(pairs), size=n)
    volumes = np.round(rng.uniform(low, high, size=n), 2)
    return pd.DataFrame(
        {
            "candidate_id": [f"random-{i:05d}" for i in range(n)],
            "bcc": bcc.astype(str),
            "b2": [pairs[i][0] + pairs[i][1] for i in chosen],
            "b2_volume_percent": volumes,
        }
    )
