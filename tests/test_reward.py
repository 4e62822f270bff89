"""Eq. 1 on hand-made phase tables: each rule and its edges."""

import pytest

from alloypref.calphad.tables import Structure
from alloypref.reward import RewardSettings, compute_reward

from .helpers import hand_phase_table as rows

GRID = [373.15, 773.15, 1273.15, 1773.15, 2273.15]


BCC, B2, LIQ, OTH = Structure.BCC, Structure.B2, Structure.LIQUID, Structure.OTHER


def ideal():
    return {
        373.15: [(BCC, 0.6, 3.000), (B2, 0.4, 2.990)],
        773.15: [(BCC, 0.6, 3.010), (B2, 0.4, 3.005)],
        1273.15: [(BCC, 1.0, 3.02)],
        1773.15: [(BCC, 0.5, 3.03), (LIQ, 0.5, float("nan"))],
        2273.15: [(LIQ, 1.0, float("nan"))],
    }


def test_ideal_candidate_loses_only_its_mismatch():
    result = compute_reward(rows(ideal()))
    assert result.bcc_b2_exist and result.bcc_forms_first and result.b2_room_temp
    assert not result.others_exceed_10
    assert result.min_lattice_mismatch_A == pytest.approx(0.005)
    assert result.reward == pytest.approx(-0.005)
    assert result.all_rules


def test_mismatch_absolute_in_angstrom_and_relative_as_the_authors_scored_it():
    spec = {373.15: [(BCC, 0.6, 3.0), (B2, 0.4, 2.9)], 1273.15: [(BCC, 1.0, 3.0)], 2273.15: [(LIQ, 1.0, float("nan"))]}
    absolute = compute_reward(rows(spec), RewardSettings(mismatch="absolute"))
    relative = compute_reward(rows(spec), RewardSettings(mismatch="relative"))
    assert absolute.min_lattice_mismatch_A == pytest.approx(0.1)
    assert relative.min_lattice_mismatch_A == pytest.approx(2 * 0.1 / 5.9)  # 0.033898...
    assert absolute.reward == pytest.approx(-0.1) and relative.reward == pytest.approx(-0.2 / 5.9)
    assert compute_reward(rows(spec)).min_lattice_mismatch_A == pytest.approx(0.1)  # absolute by default
    with pytest.raises(ValueError, match="reward.mismatch"):
        RewardSettings(mismatch="percent")


def test_no_coexistence_costs_1000_and_the_cap():
    spec = {373.15: [(B2, 1.0, 2.9)], 1273.15: [(BCC, 1.0, 3.0)], 2273.15: [(LIQ, 1.0, float("nan"))]}
    result = compute_reward(rows(spec))
    assert not result.bcc_b2_exist
    assert result.bcc_forms_first and result.b2_room_temp
    assert result.min_lattice_mismatch_A == 10.0
    assert result.reward == pytest.approx(-1000 - 10)


def test_b2_forming_in_the_same_step_as_bcc_fails_rule_2():
    spec = ideal()
    spec[1273.15] = [(BCC, 0.5, 3.02), (B2, 0.5, 3.0)]
    spec[1773.15] = [(LIQ, 1.0, float("nan"))]
    result = compute_reward(rows(spec))
    assert result.bcc_b2_exist and not result.bcc_forms_first
    assert result.reward == pytest.approx(-100 - 0.005)


def test_b2_above_bcc_fails_rule_2():
    spec = ideal()
    spec[1773.15] = [(B2, 0.5, 3.0), (LIQ, 0.5, float("nan"))]
    assert not compute_reward(rows(spec)).bcc_forms_first


def test_b2_missing_at_lowest_temperature_fails_rule_3():
    spec = ideal()
    spec[373.15] = [(BCC, 1.0, 3.0)]
    result = compute_reward(rows(spec))
    assert result.bcc_b2_exist and not result.b2_room_temp
    assert result.reward == pytest.approx(-10 - 0.005)


def test_b2_below_presence_threshold_does_not_count():
    spec = ideal()
    spec[373.15] = [(BCC, 0.991, 3.0), (B2, 0.009, 2.99)]
    result = compute_reward(rows(spec))
    assert not result.b2_room_temp
    assert result.min_lattice_mismatch_A == pytest.approx(0.005)  # only the 773 K pair counts


@pytest.mark.parametrize(
    "others, violated",
    [([0.05, 0.05], False), ([0.10], False), ([0.06, 0.05], True), ([0.1000001], True)],
)
def test_other_solid_phases_exactly_ten_percent_passes(others, violated):
    spec = ideal()
    rest = 1.0 - sum(others)
    spec[773.15] = [(BCC, rest / 2, 3.01), (B2, rest / 2, 3.005)] + [(OTH, f, float("nan")) for f in others]
    result = compute_reward(rows(spec))
    assert result.others_exceed_10 is violated
    assert result.reward == pytest.approx(-(1.0 if violated else 0.0) - 0.005)


def test_liquid_is_not_an_other_phase():
    spec = ideal()
    spec[1773.15] = [(BCC, 0.2, 3.03), (LIQ, 0.8, float("nan"))]
    assert not compute_reward(rows(spec)).others_exceed_10


def test_mismatch_is_minimum_over_all_bcc_b2_set_pairs():
    spec = ideal()
    spec[773.15] = [(BCC, 0.3, 3.2), (BCC, 0.3, 3.003), (B2, 0.2, 3.0), (B2, 0.2, 2.9)]
    assert compute_reward(rows(spec)).min_lattice_mismatch_A == pytest.approx(0.003)
    spec[373.15] = [(BCC, 0.6, 3.0), (B2, 0.4, 3.0)]
    assert compute_reward(rows(spec)).min_lattice_mismatch_A == pytest.approx(0.0)


def test_worst_reward_is_a_stated_number():
    spec = {373.15: [(OTH, 1.0, float("nan"))], 2273.15: [(LIQ, 1.0, float("nan"))]}
    cfg = RewardSettings()
    result = compute_reward(rows(spec), cfg)
    assert result.reward == pytest.approx(cfg.worst_reward) == pytest.approx(-1121.0)


def test_weights_are_configurable():
    spec = {373.15: [(B2, 1.0, 2.9)], 1273.15: [(BCC, 1.0, 3.0)]}
    cfg = RewardSettings(weight_bcc_b2_exist=5.0, mismatch_cap=1.0)
    assert compute_reward(rows(spec), cfg).reward == pytest.approx(-6.0)


def test_empty_table_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        compute_reward(rows({}))


def test_service_temperature_needs_coexistence_at_or_above_it():
    """ideal(): BCC and B2 coexist at 373.15 K (mismatch 0.010 Å) and 773.15 K (0.005 Å) only."""
    table = rows(ideal())
    assert compute_reward(table, RewardSettings(service_temperature_K=None)).all_rules  # the paper's rule
    at_773 = compute_reward(table, RewardSettings(service_temperature_K=773.15))  # reached exactly
    assert at_773.bcc_b2_exist and at_773.min_lattice_mismatch_A == pytest.approx(0.005)
    above = compute_reward(table, RewardSettings(service_temperature_K=1000.0))
    assert not above.bcc_b2_exist and not above.all_rules
    assert above.bcc_forms_first and above.b2_room_temp  # the other rules do not move
    assert above.min_lattice_mismatch_A == 10.0 and above.reward == pytest.approx(-1000 - 10)


def test_service_temperature_takes_the_mismatch_over_the_service_range():
    spec = ideal()
    spec[373.15] = [(BCC, 0.6, 3.000), (B2, 0.4, 3.000)]  # a perfect match, but only at 373.15 K
    assert compute_reward(rows(spec)).min_lattice_mismatch_A == pytest.approx(0.0)
    result = compute_reward(rows(spec), RewardSettings(service_temperature_K=700.0))
    assert result.bcc_b2_exist and result.min_lattice_mismatch_A == pytest.approx(0.005)  # 773.15 K's


@pytest.mark.parametrize("value", [0, -5.0, float("inf"), "hot", True])
def test_service_temperature_must_be_a_positive_temperature(value):
    with pytest.raises(ValueError, match="reward.service_temperature_K"):
        RewardSettings(service_temperature_K=value)
