"""The per-round trajectory figure draws intervals that miss their point estimate (percentile bootstrap)."""

import pandas as pd

from alloypref.evaluation.figures import round_trajectories


def test_an_interval_below_its_estimate_is_drawn_not_refused(tmp_path):
    # unique@100 of a resample with repeats lies below the sample's: the interval misses the value
    rounds = pd.DataFrame(
        [
            {
                "model": "tiny",
                "round": 0,
                "metric": "unique_at_100",
                "value": 0.77,
                "low": 0.70,
                "high": 0.77,
                "accepted": True,
            },
            {
                "model": "tiny",
                "round": 1,
                "metric": "unique_at_100",
                "value": 0.81,
                "low": 0.64,
                "high": 0.78,
                "accepted": True,
            },
            {
                "model": "tiny",
                "round": 1,
                "metric": "all_rules",
                "value": 0.2,
                "low": float("nan"),
                "high": float("nan"),
                "accepted": True,
            },
        ]
    )
    path = tmp_path / "rounds.png"
    round_trajectories(rounds, path)
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"
