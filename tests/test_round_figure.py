"""Figures draw 95 % intervals whole, also those that do not hold their point estimate."""

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


def test_intervals_are_drawn_whole_from_low_to_high():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alloypref.evaluation.figures import draw_intervals

    fig, ax = plt.subplots()
    # the second interval lies wholly above its value (0.5): it must still run from 0.6 to 0.9
    draw_intervals(ax, [0, 1, 2], [0.1, 0.6, float("nan")], [0.3, 0.9, float("nan")])
    segments = ax.collections[0].get_segments()
    assert [s.tolist() for s in segments] == [[[0, 0.1], [0, 0.3]], [[1, 0.6], [1, 0.9]]]
    plt.close(fig)
