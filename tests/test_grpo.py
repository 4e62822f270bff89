"""Online RL on the CALPHAD reward: reward components, the scorer behind them, a short GRPO run."""

import pandas as pd
import pytest

from alloypref.calphad.tables import Structure
from alloypref.design_space import completion_text
from alloypref.lm.grpo import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    TRAIN_SCORES_SCHEMA,
    CompletionScorer,
    GRPOSettings,
    component_reward_functions,
    reward_components,
    shaped_reward,
)
from alloypref.lm.pairs import trustworthy
from alloypref.reward import RewardSettings, compute_reward
from alloypref.scoring import ScoringSettings

from .helpers import GRID, PROMPT, TINY, FakeBackend, hand_phase_table, sft_frame, trust_evidence

ELEMENTS = ["Al", "Mo", "Nb", "Ni", "Ti", "V"]
# in-process solving, so the fake backend's calls can be counted
OPTIONS = ScoringSettings(GRID, RewardSettings(), min_coverage=0.5, timeout_s=1.0, isolate=False)
GOOD = completion_text("Nb", "NiAl", 30.0)


def summed(reward_funcs, settings, completions):
    values = {f.__name__: f(completions=completions) for f in reward_funcs}
    return [sum(settings.weights[name] * values[name][i] for name in COMPONENTS) for i in range(len(completions))]


def test_a_completion_that_does_not_parse_or_is_malformed_gets_the_worst_reward():
    settings = GRPOSettings(weights={**DEFAULT_WEIGHTS, "bcc_b2_exist": 9.0})
    backend = FakeBackend()
    scorer = CompletionScorer(backend, OPTIONS, ELEMENTS)
    completions = [
        GOOD,
        "<BCC>Nb</BCC><B2>NiAl",
        completion_text("Nb", "RuAl", 30.0),
        "Nb NiAl 30",
        completion_text("NbNb", "NiAl", 30.0),  # malformed: GOOD's composition, not as taught
    ]
    rewards = summed(component_reward_functions(scorer, settings), settings, completions)
    assert rewards[1:] == [settings.worst_reward] * 4
    assert rewards[0] >= 9 + 4 + 2 + 1  # the fake alloy meets every rule
    assert backend.calls == ["Al-Nb-Ni"]  # nothing that failed to parse reached the solver
    table = scorer.table()
    assert list(table.columns) == TRAIN_SCORES_SCHEMA.names
    assert table["status"].tolist() == ["ok", "invalid", "invalid", "invalid", "invalid"]
    assert table["reason"].iloc[4].startswith("malformed") and "'NbNb'" in table["reason"].iloc[4]


def ok_row(**changes):
    row = {
        "status": "ok",
        "low_coverage": False,
        "trusted": True,
        "bcc_b2_exist": True,
        "bcc_forms_first": True,
        "b2_room_temp": True,
        "others_exceed_10": False,
        "min_lattice_mismatch_A": 0.0,
    }
    return {**row, **changes}


def test_rewards_are_normalised_per_component():
    settings = GRPOSettings(mismatch_scale=0.2)
    best = reward_components(ok_row(), settings.mismatch_scale)
    assert best == dict.fromkeys(COMPONENTS, 1.0)
    # each rule costs its weight (8, 4, 2, 1 for Eq. 1's tiers 1000, 100, 10, 1)
    broken = {
        "bcc_b2_exist": ok_row(bcc_b2_exist=False, min_lattice_mismatch_A=0.0),
        "bcc_forms_first": ok_row(bcc_forms_first=False),
        "b2_room_temp": ok_row(b2_room_temp=False),
        "others_within_10": ok_row(others_exceed_10=True),
    }
    for rule, row in broken.items():
        components = reward_components(row, settings.mismatch_scale)
        assert components[rule] == 0.0
        if rule != "bcc_b2_exist":
            assert shaped_reward(row, settings) == pytest.approx(settings.best_reward - settings.weights[rule])
    # without coexisting BCC and B2 the mismatch is undefined: its component is 0 too
    assert reward_components(broken["bcc_b2_exist"], 0.2)["mismatch"] == 0.0
    # the mismatch scales linearly to 0 at mismatch_scale and stays there
    assert reward_components(ok_row(min_lattice_mismatch_A=0.1), 0.2)["mismatch"] == pytest.approx(0.5)
    assert reward_components(ok_row(min_lattice_mismatch_A=3.0), 0.2)["mismatch"] == 0.0
    assert reward_components({"status": "failed"}, 0.2) == dict.fromkeys(COMPONENTS, 0.0)
    # scored ok on a database that is not trusted for it, or that covers it too little: the worst
    # reward, as for DPO pairs
    assert reward_components(ok_row(trusted=False), 0.2) == dict.fromkeys(COMPONENTS, 0.0)
    assert reward_components(ok_row(low_coverage=True), 0.2) == dict.fromkeys(COMPONENTS, 0.0)


def test_an_untrusted_completion_gets_the_worst_reward():
    settings = GRPOSettings()
    listed = ("Al-Nb", "Al-Ni", "Nb-Ni")
    trusting = trust_evidence({}, databases=("fakedb",), listed=listed)
    failing = trust_evidence({"fakedb": {"Al-Ni": ["det-AlNi"]}}, databases=("fakedb",), listed=listed)
    rewards = {}
    for name, evidence in (("trusting", trusting), ("failing", failing)):
        scorer = CompletionScorer(FakeBackend(), OPTIONS, ELEMENTS, trust_evidence=evidence)
        rewards[name] = summed(component_reward_functions(scorer, settings), settings, [GOOD])[0]
        row = scorer.table().iloc[0]
        assert row.status == "ok" and bool(row.trusted) == (name == "trusting")
    assert rewards["trusting"] > settings.worst_reward + 4.0
    assert rewards["failing"] == settings.worst_reward
    assert "det-AlNi" in row.trust_reason


def test_a_master_composition_is_solved_once_per_run():
    backend = FakeBackend()
    scorer = CompletionScorer(backend, OPTIONS, ELEMENTS)
    first = scorer.rows([GOOD, completion_text("Nb", "NiAl", 50.0)], step=0)
    again = scorer.rows([GOOD, completion_text("Nb", "AlNi", 30.0), completion_text("Mo", "NiAl", 30.0)], step=1)
    # Nb + AlNi at 30 % is GOOD's master written differently: no new call
    assert backend.calls == ["Al-Nb-Ni", "Al-Nb-Ni", "Al-Mo-Ni"]
    assert scorer.calls == 3
    assert again[1]["reward"] == first[0]["reward"] and again[1]["seconds"] == 0.0
    table = scorer.table()
    assert table["new_call"].tolist() == [True, True, False, True]
    assert table["step"].tolist() == [0, 0, 1, 1]


BCC, B2, LIQ, OTH = Structure.BCC, Structure.B2, Structure.LIQUID, Structure.OTHER
NAN = float("nan")

#: Constructed phase tables (grid 373.15-1773.15 K) of Eq. 1's tiers, from the best to the worst; each
#: is named by the rules it fails. BCC and B2 coexist with a mismatch of 0.05 Å unless rule 1 fails.
TIERS = {
    "none": {
        373.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1273.15: [(BCC, 1.0, 3.00)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "4": {  # a sigma-like "other" phase of 20 % at 773.15 K
        373.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        773.15: [(BCC, 0.4, 3.00), (B2, 0.4, 2.95), (OTH, 0.2, NAN)],
        1273.15: [(BCC, 1.0, 3.00)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "3": {  # B2 gone at the lowest temperature
        373.15: [(BCC, 1.0, 3.00)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1273.15: [(BCC, 1.0, 3.00)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "3+4": {
        373.15: [(BCC, 0.7, 3.00), (OTH, 0.3, NAN)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1273.15: [(BCC, 1.0, 3.00)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "2": {  # B2 up to the highest BCC temperature
        373.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1273.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "2+3": {
        373.15: [(BCC, 1.0, 3.00)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1273.15: [(BCC, 0.6, 3.00), (B2, 0.4, 2.95)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "2+3+4": {
        373.15: [(BCC, 0.7, 3.00), (OTH, 0.3, NAN)],
        773.15: [(BCC, 0.6, 3.00), (B2, 0.4, 3.50)],  # and the worst mismatch (0.5 Å >= the scale)
        1273.15: [(BCC, 0.6, 3.00), (B2, 0.4, 3.50)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "1": {  # BCC above, B2 below: they never coexist
        373.15: [(B2, 1.0, 2.95)],
        773.15: [(B2, 1.0, 2.95)],
        1273.15: [(BCC, 1.0, 3.00)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
    "1+2+3+4": {
        373.15: [(OTH, 1.0, NAN)],
        773.15: [(OTH, 1.0, NAN)],
        1273.15: [(LIQ, 1.0, NAN)],
        1773.15: [(LIQ, 1.0, NAN)],
    },
}


def scored_row(table, **changes):
    """A creditable scored row of a phase table (Eq. 1's flags and mismatch as the scorer writes them)."""
    return {"status": "ok", "low_coverage": False, "trusted": True, **compute_reward(table).as_dict(), **changes}


def test_the_shaped_reward_orders_eq1_tiers_as_eq1_does():
    settings = GRPOSettings()
    rows = {name: scored_row(hand_phase_table(spec)) for name, spec in TIERS.items()}
    rule_flags = ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp")
    for name, row in rows.items():  # each table fails exactly the rules it is named for
        failed = {str(i + 1) for i, flag in enumerate(rule_flags) if not row[flag]} | (
            {"4"} if row["others_exceed_10"] else set()
        )
        assert failed == (set(name.split("+")) if name != "none" else set()), name
    eq1 = [rows[name]["reward"] for name in TIERS]
    shaped = [shaped_reward(rows[name], settings) for name in TIERS]
    assert eq1 == sorted(eq1, reverse=True) and len(set(eq1)) == len(eq1)  # TIERS is in Eq. 1's order
    assert shaped == sorted(shaped, reverse=True) and len(set(shaped)) == len(shaped)
    # the example: failing rule 1 only (Eq. 1: -1010) ranks below failing rules 2 and 3 (-110.05)
    assert shaped_reward(rows["1"], settings) < shaped_reward(rows["2+3"], settings)


def test_equal_weights_that_break_eq1s_hierarchy_are_refused():
    with pytest.raises(ValueError, match=r"grpo.weights: bcc_b2_exist \(1\) must exceed"):
        GRPOSettings(weights=dict.fromkeys(COMPONENTS, 1.0))
    with pytest.raises(ValueError, match=r"grpo.weights: others_within_10 \(1\) must exceed .*mismatch = 1\)"):
        GRPOSettings.from_config(
            {"weights": {"bcc_b2_exist": 16, "bcc_forms_first": 8, "b2_room_temp": 4, "mismatch": 1}}
        )


@pytest.mark.parametrize(
    "changes",
    [{"trusted": False}, {"low_coverage": True}, {"status": "invalid"}, {"status": "failed"}, {"trusted": None}],
    ids=["untrusted", "low_coverage", "invalid", "failed", "trust_unknown"],
)
def test_a_candidate_that_is_not_creditable_gets_no_credit_and_no_pair(changes):
    """The best tier's phase table, but untrusted (or not creditable otherwise): the worst reward,
    and left out of DPO pairs by the same rule."""
    settings = GRPOSettings()
    row = scored_row(hand_phase_table(TIERS["none"]), **changes)
    assert reward_components(row, settings.mismatch_scale) == dict.fromkeys(COMPONENTS, 0.0)
    assert shaped_reward(row, settings) == settings.worst_reward
    pairs_view = pd.DataFrame([{**row, "score_status": row["status"]}])
    assert not trustworthy(pairs_view).iloc[0]
    best = scored_row(hand_phase_table(TIERS["none"]))
    assert trustworthy(pd.DataFrame([{**best, "score_status": "ok"}])).iloc[0]
    assert shaped_reward(best, settings) > shaped_reward(scored_row(hand_phase_table(TIERS["1+2+3+4"])), settings)


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="grpo.algorithm"):
        GRPOSettings(algorithm="ppo")
    with pytest.raises(ValueError, match="grpo.weights"):
        GRPOSettings.from_config({"weights": {"rule5": 1.0}})
    with pytest.raises(ValueError, match="unknown keys"):
        GRPOSettings.from_config({"stepz": 3})


def test_grpo_trains_scores_its_completions_and_logs_every_component(tmp_path):
    from alloypref.lm.curves import curves_from_log_history
    from alloypref.lm.grpo import train_grpo
    from alloypref.lm.registry import load_trained
    from alloypref.lm.sft import train_sft

    train_sft(TINY, sft_frame(), tmp_path / "sft", tmp_path / "work", seed=0, eval_fraction=0.0)
    settings = GRPOSettings(steps=2, num_generations=4, max_completion_length=32, temperature=0.5)
    scorer = CompletionScorer(FakeBackend(), OPTIONS, ELEMENTS)
    history = train_grpo(TINY, tmp_path / "sft", PROMPT, settings, scorer, tmp_path / "grpo", tmp_path / "w", seed=0)
    metrics = set(curves_from_log_history(history)["metric"])
    assert {f"rewards/{name}/mean" for name in COMPONENTS} | {"kl", "completions/mean_length"} <= metrics
    assert {"calphad/all_rules", "calphad/unique_masters", "calphad/new_calls"} <= metrics
    table = scorer.table()
    # every distinct completion of both steps was scored, and the tags survived TRL's decoding
    # (skip_special_tokens=True: special tags would vanish and nothing would ever parse)
    assert table["text"].is_unique and 1 <= len(table) <= 8 and set(table["step"]) <= {0, 1}
    assert table["text"].str.contains("<BCC>", regex=False).any(), table["text"].tolist()
    tokenizer, model = load_trained(TINY, tmp_path / "grpo")
    assert model.num_parameters() > 0 and tokenizer.eos_token == "</s>"


def test_grpo_curves_record_the_share_of_groups_whose_completions_all_score_the_same(tmp_path):
    """frac_reward_zero_std: 1 at every generating step when no completion can earn credit (none is in
    the design space), 0 when every group's completions get different rewards."""
    from alloypref.lm.curves import curves_from_log_history
    from alloypref.lm.grpo import make_trainer, train_grpo
    from alloypref.lm.sft import train_sft

    train_sft(TINY, sft_frame(), tmp_path / "sft", tmp_path / "work", seed=0, eval_fraction=0.0)
    # 4 steps, each completion batch reused for 2: TRL logs the metric at the 2 generating steps
    settings = GRPOSettings(steps=4, num_iterations=2, num_generations=4, max_completion_length=32)

    def zero_std_share(history) -> list[float]:
        curves = curves_from_log_history(history)
        return curves.loc[curves["metric"] == "frac_reward_zero_std", "value"].tolist()

    outside = CompletionScorer(FakeBackend(), OPTIONS, ["W"])  # every formula names an element outside
    history = train_grpo(TINY, tmp_path / "sft", PROMPT, settings, outside, tmp_path / "g1", tmp_path / "w1", seed=0)
    assert (outside.table()["all_rules"] == False).all()  # noqa: E712 - a column of numpy booleans
    assert zero_std_share(history) == [1.0, 1.0]

    def by_position(completions, **kwargs):  # a different reward for every completion of a group
        return [float(i) for i in range(len(completions))]

    def nothing(completions, **kwargs):
        return [0.0] * len(completions)

    trainer = make_trainer(
        TINY, tmp_path / "sft", PROMPT, settings, [by_position] + [nothing] * 4, tmp_path / "w2", seed=0
    )
    trainer.train()
    assert zero_std_share(trainer.state.log_history) == [0.0, 0.0]


def test_grpo_for_a_model_that_is_not_configured_names_the_key():
    from alloypref.config import ConfigError, check_values

    with pytest.raises(ConfigError, match=r"grpo.models: \['llama'\]"):
        check_values({"models": {"tiny": {"source": "tiny"}}, "grpo": {"models": ["tiny", "llama"]}})


def test_training_completions_are_as_long_as_the_model_is_sampled_with_unless_set(tmp_path):
    """grpo.max_completion_length null: TRL's limit is the model's sampling.max_new_tokens, so a model
    whose triples are longer than a fixed default is not taught to write short ones; a set value wins."""
    from dataclasses import replace

    from alloypref.lm.grpo import make_trainer
    from alloypref.lm.sft import train_sft

    spec = replace(TINY, sampling=replace(TINY.sampling, max_new_tokens=57))
    train_sft(spec, sft_frame(), tmp_path / "sft", tmp_path / "work", seed=0, eval_fraction=0.0)
    rewards = [lambda completions, **kwargs: [0.0] * len(completions)] * len(COMPONENTS)
    follows = make_trainer(
        spec, tmp_path / "sft", PROMPT, GRPOSettings(steps=1, num_generations=2), rewards, tmp_path / "w1", 0
    )
    assert follows.args.max_completion_length == 57
    settings = GRPOSettings(steps=1, num_generations=2, max_completion_length=31)
    assert (
        make_trainer(spec, tmp_path / "sft", PROMPT, settings, rewards, tmp_path / "w2", 0).args.max_completion_length
        == 31
    )


def test_a_grpo_job_reads_its_completion_length_resolved_from_its_model_sampling_block():
    """The workflow's params carry the resolved length, so editing models.<name>.sampling.max_new_tokens
    reruns GRPO when grpo.max_completion_length is null, and does not when it is set."""
    from alloypref.lm.grpo import job_block

    assert job_block({"steps": 2}, {"max_new_tokens": 64, "n": 8})["max_completion_length"] == 64
    assert job_block({"steps": 2, "max_completion_length": None}, {})["max_completion_length"] == 40
    assert job_block({"max_completion_length": 32}, {"max_new_tokens": 64})["max_completion_length"] == 32
