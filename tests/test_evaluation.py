"""Evaluation metrics on small hand-checkable sets."""

import numpy as np
import pandas as pd
import pytest

from alloypref.baselines.importer import ImportError_, import_generations
from alloypref.baselines.random_search import random_triples
from alloypref.composition import parse_formula
from alloypref.design_space import ElementRoles
from alloypref.evaluation import comparisons as cmp
from alloypref.evaluation.fingerprints import fingerprints, magpie_features
from alloypref.evaluation.metrics import (
    coverage,
    coverage_curve,
    known_compositions,
    reference_compositions,
    source_metrics,
    unique_at,
)

BCC = ["Nb67Mo33", "MoV", "Nb", "Ti2Nb2Mo"]
B2 = ["NiAl", "AlTiNi2", "TiNi"]


def rewards_frame(bcc, b2, volumes, reward=-1.0, all_rules=False):
    n = len(bcc)
    return pd.DataFrame(
        {
            "candidate_id": [f"c{i}" for i in range(n)],
            "bcc": bcc,
            "b2": b2,
            "b2_volume_percent": volumes,
            "master_composition": ["x" if f else "" for f in bcc],
            "status": ["ok" if f else "invalid" for f in bcc],
            "reward": reward if np.ndim(reward) else [reward] * n,
            "bcc_b2_exist": all_rules,
            "bcc_forms_first": all_rules,
            "b2_room_temp": all_rules,
            "others_exceed_10": not all_rules,
            "all_rules": all_rules,
            "database": "mc_ni",
            "coverage": 1.0,
            "low_coverage": False,
            "trusted": True,
            "trust_reason": "",
        }
    )


def test_fingerprints_match_matminer():
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    compositions = [parse_formula(f) for f in ["Nb67Mo33", "AlTiNi2", "MnAl2Fe", "W", "Ti2Nb2Mo"]]
    expected = np.array([ElementProperty.from_preset("magpie").featurize(Composition(c)) for c in compositions])
    assert np.allclose(magpie_features(compositions), expected, atol=1e-9, equal_nan=True)


def test_reference_covers_itself():
    reference = fingerprints(reference_compositions(BCC, B2))
    result = coverage(reference, reference, cutoff=1e-9)
    assert result["coverage_recall"] == 1.0 and result["coverage_precision"] == 1.0
    assert result["amcd_recall"] == pytest.approx(0.0, abs=1e-6)
    curve = coverage_curve(reference[:1], reference, cutoffs=[1e-9, 1e9])
    assert curve.coverage_recall.tolist() == [pytest.approx(1 / len(reference)), 1.0]


def test_unique_at_100_of_100_copies():
    copies = rewards_frame(["Nb67Mo33"] * 100, ["NiAl"] * 100, [30.0] * 100)
    assert unique_at(copies) == pytest.approx(0.01)
    # Nb2Mo and MoNb2 are one key; an unparsed row does not count
    mixed = rewards_frame(["Nb2Mo", "MoNb2", "MoV", ""], ["NiAl", "AlNi", "NiAl", ""], [30.0, 40.0, 30.0, 0.0])
    assert unique_at(mixed) == pytest.approx(2 / 3)


def test_canonical_keys_round_to_1e3():
    from alloypref.evaluation.metrics import canonical_key

    assert canonical_key("Nb2Mo") == canonical_key("MoNb2")
    assert canonical_key("Nb67Mo33") != canonical_key("Nb2Mo")  # 0.670 vs 0.667


def test_known_set_and_novelty():
    known = known_compositions(["Ni", "Al", "Ti"], curated=["NiAl"])
    assert set(known.origin) == {"curated", "pymatgen_experimental", "materials_project_transport_subset"}
    by_origin = known.groupby("origin")["formula"].apply(set)
    assert "TiNi3" in by_origin["materials_project_transport_subset"] and "AlNi3" in by_origin["pymatgen_experimental"]
    assert all(len(c) >= 2 for c in known[known.origin != "curated"].composition)  # no pure elements
    known_fp = fingerprints(list(known.composition))
    reference_fp = fingerprints(reference_compositions(BCC, B2))
    row, _ = source_metrics("t", rewards_frame(["NiAl"], ["NiAl"], [50.0]), reference_fp, known_fp)
    assert row["novelty"] == 0.0  # NiAl is known
    row, _ = source_metrics("t", rewards_frame(["W"], ["W"], [50.0]), reference_fp, known_fp)
    assert row["novelty"] == 1.0


def test_source_metrics_counts_parse_failures_as_invalid_and_worst():
    frame = rewards_frame(["Nb", ""], ["NiAl", ""], [30.0, 0.0])
    frame.loc[1, "reward"] = -1121.0
    reference_fp = fingerprints(reference_compositions(BCC, B2))
    row, _ = source_metrics("t", frame, reference_fp, reference_fp[:1])
    assert row["parse_rate"] == 0.5 and "validity" not in row  # dropped: SMACT passes every metal
    assert row["mean_reward"] == pytest.approx((-1.0 - 1121.0) / 2)


def test_table1_row_on_a_hand_computed_example():
    """Five samples: two copies of Nb + NiAl, one W + TiNi, two unparsed (one of them malformed:
    ``Mo3Mo`` names a composition but is not written as the training data writes it).

    Reference set = the Nb + NiAl master only, known set = the W + TiNi master only, cutoffs 0.5
    (any two different compositions here are farther apart than that in Magpie space)."""
    frame = rewards_frame(
        ["Nb", "Nb", "W", "", ""],
        ["NiAl", "NiAl", "TiNi", "", ""],
        [50.0, 50.0, 30.0, 0.0, 0.0],
        reward=[-1.0, -1.0, -10.0, np.nan, np.nan],
    )
    frame["all_rules"] = [True, True, False, False, False]
    frame["status"] = ["ok", "ok", "ok", "invalid", "invalid"]
    frame.loc[3, ["bcc", "b2", "b2_volume_percent"]] = ["Mo3Mo", "NiAl", 40.0]  # as the scorer keeps it
    frame.loc[3, "reason"] = "malformed: formula 'Mo3Mo' repeats Mo (the training data writes each element once: 'Mo')"
    frame["database"] = ["mc_ni", "mc_ni", "cost507", "", ""]
    frame["coverage"] = [1.0, 1.0, 0.5, 0.0, 0.0]
    frame["low_coverage"] = [False, False, True, True, True]
    frame["trusted"] = [True, False, True, False, False]
    frame["trust_reason"] = ["", "Al-Ni: mc_ni fails detection fact(s) f1", "", "no database used", "no database used"]
    nb_nial = fingerprints([{"Nb": 0.5, "Ni": 0.25, "Al": 0.25}])
    w_tini = fingerprints([{"W": 0.7, "Ti": 0.15, "Ni": 0.15}])
    assert np.linalg.norm(nb_nial - w_tini) > 0.5
    row, parsed_fp = source_metrics("s", frame, nb_nial, w_tini, cutoff=0.5, novelty_cutoff=0.5, worst_reward=-1121.0)
    assert row["n"] == 5 and len(parsed_fp) == 3
    assert row["parse_rate"] == pytest.approx(3 / 5)
    assert row["coverage_recall"] == 1.0  # the one reference point is generated exactly
    assert row["coverage_precision"] == pytest.approx(2 / 3)  # 2 of 3 parsed samples near the reference
    assert row["coverage_precision_all"] == pytest.approx(2 / 5)  # 2 of 5 generated samples
    assert row["amcd_recall"] == pytest.approx(0.0, abs=1e-9)
    assert row["amcd_precision"] == pytest.approx(np.linalg.norm(nb_nial - w_tini) / 3)
    assert row["novelty"] == pytest.approx(2 / 3)  # W + TiNi is the known material
    assert row["unique_at_100"] == pytest.approx(2 / 3)
    assert row["mean_reward"] == pytest.approx((-1 - 1 - 10 - 1121 - 1121) / 5)
    assert row["all_rules"] == pytest.approx(2 / 5)
    assert row["mean_db_coverage"] == pytest.approx(2.5 / 3) and row["low_coverage_share"] == pytest.approx(1 / 3)
    # trusted: rows 0 and 2 (row 1 is untrusted; rows 3-4 have no database)
    assert row["untrusted_share"] == pytest.approx(1 / 3)
    assert row["n_trusted"] == 2
    assert row["mean_reward_trusted"] == pytest.approx((-1 - 10) / 2)
    assert row["all_rules_trusted"] == pytest.approx(1 / 2)


def test_win_draw_loss_and_rules():
    sft = rewards_frame(["Nb"] * 4, ["NiAl"] * 4, [30.0] * 4, reward=[-10.0, -5.0, -1.0, -1.0])
    dpo = rewards_frame(["Nb"] * 4, ["NiAl"] * 4, [30.0] * 4, reward=[-1.0, -5.0, -2.0, -1.0], all_rules=True)
    wdl = cmp.win_draw_loss(sft, dpo, n_boot=200).set_index("outcome")
    # all 16 pairs, not the 4 index pairs: DPO -1 beats -10 and -5, draws both -1s; -5 beats -10,
    # draws -5, loses to both -1s; -2 beats -10 and -5, loses to both -1s; the last -1 as the first
    shares = (wdl.loc["win", "share"], wdl.loc["draw", "share"], wdl.loc["loss", "share"])
    assert shares == pytest.approx((7 / 16, 5 / 16, 4 / 16))
    assert wdl.loc["win - loss", "share"] == pytest.approx(3 / 16)
    assert (wdl["n"] == 16).all()
    assert wdl.loc["win", "low"] <= 7 / 16 <= wdl.loc["win", "high"]
    rules = cmp.rule_satisfaction({"sft": sft, "dpo": dpo}, n_boot=200).set_index(["source", "rule"])
    assert rules.loc[("dpo", "all_rules"), "share"] == 1.0 and rules.loc[("sft", "all_rules"), "share"] == 0.0


def test_known_element_combination_is_counted():
    frame = rewards_frame(["Nb67Mo33", "MoNb", "Mo2Nb", "TiV"], ["NiAl"] * 4, [30.0] * 4)
    top = cmp.top_bcc_sets({"s": frame})
    assert top.iloc[0].bcc_elements == "{Mo, Nb}" and top.iloc[0].share == 0.75
    freq = cmp.element_frequency({"s": frame}).set_index("element")["share"]
    assert freq["Ni"] == 1.0 and freq["Ti"] == 0.25


def test_kl_of_a_model_against_itself_is_zero():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from alloypref.evaluation.kl import per_token_kl
    from alloypref.lm.tokenizer import build_formula_tokenizer

    tokenizer = build_formula_tokenizer(["Suggest <BCC>Nb67Mo33</BCC><B2>NiAl</B2><B2 Volume>45.10</B2 Volume>"], 120)
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    kl = per_token_kl(
        model, model, tokenizer, "Suggest ", ["<BCC>Nb67Mo33</BCC><B2>NiAl</B2><B2 Volume>45.10</B2 Volume>"]
    )
    assert np.allclose(kl.mean_kl, 0.0, atol=1e-6)
    groups = set(kl.group)
    assert {"Nb", "Mo", "Ni", "Al", "number"} <= groups
    torch.manual_seed(1)
    other = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    assert (per_token_kl(other, model, tokenizer, "Suggest ", ["<BCC>Nb</BCC>"]).mean_kl > 0).all()


class RecordingUniformModel:
    """Logits that make p = softmax(bias) at every position; records what it was fed."""

    def __init__(self, bias):
        self.bias, self.fed = bias, []

    def eval(self):
        return self

    def __call__(self, inputs):

        self.fed.append(inputs[0].tolist())
        logits = self.bias.expand(1, inputs.shape[1], -1).clone()
        return type("Out", (), {"logits": logits})


def test_kl_context_carries_the_same_special_tokens_as_training_and_sampling():
    """A tokenizer that adds a BOS (as Llama's do): the KL context starts with it, exactly like the
    prompt the SFT trainer and the sampler encode; the per-position KL is the hand-computed one."""
    import torch
    from tokenizers import processors

    from alloypref.evaluation.kl import per_token_kl
    from alloypref.lm.sampling import prompt_ids
    from alloypref.lm.tokenizer import build_formula_tokenizer

    tokenizer = build_formula_tokenizer(["Suggest <BCC>Nb</BCC>"], 80)
    tokenizer._tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.bos_token_id)]
    )
    assert prompt_ids(tokenizer, "Suggest ")[0] == tokenizer.bos_token_id
    vocab = len(tokenizer)
    p = torch.zeros(vocab)
    p[:2] = torch.tensor([1.0, -1.0])  # two tokens differ, the rest share one logit
    dpo, sft = RecordingUniformModel(p), RecordingUniformModel(torch.zeros(vocab))
    kl = per_token_kl(dpo, sft, tokenizer, "Suggest ", ["<BCC>Nb</BCC>"])
    continuation = tokenizer("<BCC>Nb</BCC>", add_special_tokens=False)["input_ids"]
    assert dpo.fed[0] == prompt_ids(tokenizer, "Suggest ") + continuation + [tokenizer.eos_token_id]
    probs = torch.softmax(p, 0)
    expected = float((probs * (torch.log(probs) - torch.log(torch.full((vocab,), 1.0 / vocab)))).sum())
    assert np.allclose(kl.mean_kl, expected, atol=1e-6)
    assert kl["count"].sum() == len(continuation) + 1  # every continuation token and the EOS


def test_random_search_is_seeded_and_in_range():
    roles = ElementRoles(("Nb", "Mo"), ("Al", "Ti"), ("Ni",), ("V",))
    grid = ["Nb", "Mo", "NbMo"]
    a = random_triples(grid, roles, 50, seed=3)
    assert len(a) == 50 and a.equals(random_triples(grid, roles, 50, seed=3))
    assert a.bcc.isin(grid).all() and a.b2_volume_percent.between(20, 70).all()
    assert all(len(parse_formula(b2)) == 2 and set(parse_formula(b2).values()) == {0.5} for b2 in a.b2)


def test_importer_keeps_design_space_and_names_bad_lines(tmp_path):
    good = tmp_path / "gen.csv"
    good.write_text("composition\nNiAl\nNaCl\nNb2Mo\nnot a formula\n")
    kept, report = import_generations(good, ["Ni", "Al", "Nb", "Mo"], "cdvae")
    assert list(kept.bcc) == ["NiAl", "Nb2Mo"] and (kept.b2_volume_percent == 0).all()
    assert report["kept"] == 2 and report["dropped"] == {"outside the design space": 1, "unparseable": 1}
    triples = tmp_path / "api.csv"
    triples.write_text("bcc,b2,b2_volume_percent\nNb,NiAl,30\nNb,NiAl,130\n")
    kept, report = import_generations(triples, ["Ni", "Al", "Nb"], "api")
    assert len(kept) == 1 and report["dropped"] == {"unparseable": 1}
    broken = tmp_path / "broken.csv"
    broken.write_text("bcc,b2,b2_volume_percent\nNb,NiAl,30\nNb,NiAl\n")
    with pytest.raises(ImportError_, match="broken.csv, line 3"):
        import_generations(broken, ["Ni", "Al", "Nb"], "x")
    with pytest.raises(ImportError_, match="line 1"):
        (tmp_path / "h.csv").write_text("a,b\n1,2\n")
        import_generations(tmp_path / "h.csv", ["Ni"], "x")


def test_pair_shares_compare_every_pair():
    assert cmp.pair_shares(np.array([2.0, 0.0]), np.array([1.0, 0.0, 3.0])) == pytest.approx((2 / 6, 1 / 6, 3 / 6))
    assert all(np.isnan(cmp.pair_shares(np.array([]), np.array([1.0]))))


def test_win_draw_loss_interval_of_a_clear_win_lies_above_zero():
    sft = rewards_frame(["Nb"] * 40, ["NiAl"] * 40, [30.0] * 40, reward=[-100.0 - i for i in range(40)])
    dpo = rewards_frame(["Nb"] * 40, ["NiAl"] * 40, [30.0] * 40, reward=[-1.0 - i for i in range(40)])
    difference = cmp.win_draw_loss(sft, dpo, n_boot=200).set_index("outcome").loc["win - loss"]
    assert difference["share"] == 1.0 and difference["low"] > 0


def test_verdict_says_beats_only_when_the_interval_excludes_zero():
    assert cmp.verdict(0.01, 0.2, "DPO", "SFT").startswith("DPO beats SFT")
    assert cmp.verdict(-0.2, -0.01, "DPO", "SFT").startswith("DPO trails SFT")
    held = cmp.verdict(-0.05, 0.2, "DPO", "SFT")
    assert "not distinguishable" in held and "beats" not in held
    assert "not distinguishable" in cmp.verdict(float("nan"), float("nan"), "DPO", "SFT")


def test_kl_groups_a_letter_outside_the_design_space_as_a_stray_symbol():
    """A malformed sample's stray capital (``H`` in ``Nb6H``) is not hydrogen: with the design space's
    elements it is its own kind, not an element."""
    import torch

    from alloypref.evaluation.kl import per_token_kl
    from alloypref.lm.tokenizer import build_formula_tokenizer

    tokenizer = build_formula_tokenizer(["Suggest <BCC>Nb6H<BCC>Ti</BCC>"], 80)
    vocab = len(tokenizer)
    model = RecordingUniformModel(torch.zeros(vocab))
    text = ["<BCC>Nb6H<BCC>Ti</BCC>"]
    kinds = per_token_kl(model, model, tokenizer, "Suggest ", text, elements=["Nb", "Ti"]).set_index("group")
    assert kinds.loc["H", "token_kind"] == "stray_symbol"
    assert kinds.loc["Nb", "token_kind"] == "element" and kinds.loc["Ti", "token_kind"] == "element"
    unknown = per_token_kl(model, model, tokenizer, "Suggest ", text).set_index("group")
    assert unknown.loc["H", "token_kind"] == "element"  # without the design space every symbol counts


def test_kl_token_kinds_keep_the_pieces_of_a_split_tag_out_of_the_elements():
    """A pretrained tokenizer splits ``<B2 Volume>`` into pieces such as ``B``, ``2``, ``ĠVolume``;
    they are the tag, not boron, a number or vanadium."""
    from alloypref.evaluation.kl import token_kinds

    text = "<BCC>Cr2V</BCC><B2>NiAl</B2><B2 Volume>45.00</B2 Volume>"
    pieces = [
        "<",
        "B",
        "CC",
        ">",
        "Cr",
        "2",
        "V",
        "</",
        "B",
        "CC",
        "><",
        "B",
        "2",
        ">",
        "Ni",
        "Al",
        "</",
        "B",
        "2",
        "><",
        "B",
        "2",
        " Volume",
        ">",
        "45",
        ".",
        "00",
        "</",
        "B",
        "2",
        " Volume",
        ">",
    ]
    assert "".join(pieces) == text
    offsets, start = [], 0
    for piece in pieces:
        offsets.append((start, start + len(piece)))
        start += len(piece)
    kinds = dict(zip(range(len(pieces)), token_kinds(text, offsets)))
    assert [kinds[i] for i in range(4)] == ["tag"] * 4
    assert [kinds[i] for i in (4, 5, 6)] == ["Cr", "other", "V"]
    assert [kinds[i] for i in (14, 15)] == ["Ni", "Al"]
    assert [kinds[i] for i in (24, 25, 26)] == ["number"] * 3
    assert {kinds[i] for i in (7, 8, 9, 10, 11, 12, 13, 27, 28, 29, 30, 31)} == {"tag"}
