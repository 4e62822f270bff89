"""Language-model stages on tiny models: tokenizer, SFT, parsing, pairs, DPO, local loading."""

import re

import numpy as np
import pandas as pd
import pytest

from alloypref.completion.parsing import parse_generation, parse_samples
from alloypref.design_space import completion_text
from alloypref.lm.pairs import build_pairs, scored_samples
from alloypref.lm.registry import (
    ModelError,
    ModelSettings,
    TrainSettings,
    check_local_folder,
    load_trained,
)
from alloypref.lm.sampling import generate_texts
from alloypref.lm.tokenizer import TAGS, build_formula_tokenizer

from .helpers import PROMPT, TINY, sft_frame


@pytest.fixture(scope="module")
def tokenizer():
    frame = sft_frame()
    return build_formula_tokenizer([PROMPT] + list(frame.completion), 300)


@pytest.mark.parametrize(
    "text", ["<BCC>Ti2Nb2Mo</BCC><B2>MnAl2Fe</B2><B2 Volume>61.65</B2 Volume>", "Nb67Mo33", "Al0.5Ni0.5", PROMPT]
)
def test_tokenizer_round_trip(tokenizer, text, tmp_path):
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text
    tokenizer.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again.decode(again(text)["input_ids"]) == text


def test_tokenizer_keeps_symbols_digits_and_tags_atomic(tokenizer):
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("<BCC>Ti2Nb2Mo</BCC><B2 Volume>51.45</B2 Volume>")["input_ids"])
    assert tokens == [
        "<BCC>",
        "Ti",
        "2",
        "Nb",
        "2",
        "Mo",
        "</BCC>",
        "<B2 Volume>",
        "5",
        "1",
        ".",
        "4",
        "5",
        "</B2 Volume>",
    ]
    # tags are ordinary tokens: skipping special tokens keeps them
    ids = tokenizer("<B2>NiAl</B2>")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<B2>NiAl</B2>"
    assert set(TAGS).isdisjoint(tokenizer.all_special_tokens)
    assert {tokenizer.pad_token, tokenizer.eos_token, tokenizer.bos_token, tokenizer.unk_token} == {
        "<pad>",
        "</s>",
        "<s>",
        "<unk>",
    }


@pytest.mark.parametrize(
    "text, status",
    [
        ("<BCC>TiV</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "ok"),
        (" <BCC>TiV</BCC>\n<B2>NiAl</B2> <B2 Volume>34.8</B2 Volume>", "ok"),
        ("<BCC>TiV</BCC><B2>NiAl</B2>", "unparseable"),
        ("<BCC>TiV</BCC><B2>NiAl</B2><B2 Volume>3.4.8</B2 Volume>", "unparseable"),
        ("<BCC>TiV</BCC><BCC>Nb</BCC><B2>NiAl</B2><B2 Volume>34</B2 Volume>", "unparseable"),
        ("<BCC>TiRu</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "unknown_element"),
        ("<BCC>Xq2</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "unknown_element"),
        ("<BCC>Ti-V</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "invalid_formula"),
        ("<BCC>TiV</BCC><B2>NiAl</B2><B2 Volume>134</B2 Volume>", "volume_out_of_range"),
        ("", "unparseable"),
        ("<BCC>Ti2Nb2Mo</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "ok"),
        ("<BCC>Mo2Ti2Nb</BCC><B2>AlNi</B2><B2 Volume>34.8</B2 Volume>", "ok"),  # element order is free
        ("<BCC>Nb67Mo33</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "ok"),
        ("<BCC>Mo3Mo</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "malformed"),
        ("<BCC>VVVV</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "malformed"),
        ("<BCC>V67V33</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "malformed"),
        ("<BCC>Mo2VV3</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "malformed"),
        ("<BCC>Nb</BCC><B2>Ni2Al2</B2><B2 Volume>34.8</B2 Volume>", "malformed"),  # not the smallest ratio
        ("<BCC>Nb1Mo1</BCC><B2>NiAl</B2><B2 Volume>34.8</B2 Volume>", "malformed"),  # a count of 1 written
        ("<BCC>Nb</BCC><B2>Al0.5Ni0.5</B2><B2 Volume>34.8</B2 Volume>", "malformed"),  # decimals
    ],
)
def test_parse_generation(text, status):
    assert parse_generation(text, ["Ti", "V", "Ni", "Al", "Nb", "Mo"])["status"] == status


@pytest.mark.parametrize(
    "formula, written",
    [("Mo3Mo", "'Mo'"), ("VVVV", "'V'"), ("V67V33", "'V'"), ("Mo2VV3", "'V67Mo33'"), ("Ni2Al2", "'AlNi'")],
)
def test_malformed_reason_names_the_formula_and_its_notation(formula, written):
    parsed = parse_generation(completion_text("Nb", formula, 30.0), ["V", "Ni", "Al", "Nb", "Mo"])
    assert parsed["status"] == "malformed"
    assert f"{formula!r}" in parsed["reason"] and written in parsed["reason"]
    assert parsed["b2"] == formula  # kept as written, never repaired


def test_every_training_formula_is_well_formed():
    from alloypref.shipped_design_space import load_shipped

    shipped = load_shipped("paper")
    formulas = pd.concat([shipped.bcc["formula"], shipped.b2["formula"]])
    elements = {symbol for formula in formulas for symbol in re.findall(r"[A-Z][a-z]?", formula)}
    statuses = {f: parse_generation(completion_text(f, "NiAl", 30.0), elements | {"Ni", "Al"}) for f in formulas}
    assert {f: p["reason"] for f, p in statuses.items() if p["status"] != "ok"} == {}


def scored(rewards, statuses=None, low=None, trusted=None):
    n = len(rewards)
    frame = pd.DataFrame(
        {
            "candidate_id": [f"c{i:03d}" for i in range(n)],
            "prompt": PROMPT,
            "text": [f"t{i}" for i in range(n)],
            "reward": rewards,
            "score_status": statuses or ["ok"] * n,
            "low_coverage": low or [False] * n,
            "trusted": trusted or [True] * n,
            "database": "mc_ni",
        }
    )
    return frame


def test_pairs_invariants():
    rng = np.random.default_rng(3)
    rewards = list(np.round(rng.normal(-100, 50, 40), 0))  # rounding makes ties
    frame = scored(rewards)
    pairs = build_pairs(frame, 0.25, 5, seed=1)
    assert (pairs.chosen_reward > pairs.rejected_reward).all()
    top = frame.sort_values(["reward", "candidate_id"], ascending=[False, True]).head(10)
    expected = sum(min(5, int((frame.reward < r).sum())) for r in top.reward)
    assert len(pairs) == expected
    assert not pairs.duplicated(["chosen_id", "rejected_id"]).any()
    assert pairs.equals(build_pairs(frame, 0.25, 5, seed=1))
    assert not pairs.equals(build_pairs(frame, 0.25, 5, seed=2))


@pytest.mark.slow
def test_paper_scale_pair_count():
    rewards = list(-np.arange(5000, dtype=float))  # all distinct
    pairs = build_pairs(scored(rewards), 0.25, 100, seed=0)
    assert len(pairs) == 125_000


def test_failed_invalid_low_coverage_and_untrusted_samples_are_on_neither_side():
    frame = scored(
        [-1.0, -1.0, -1.0, -5.0, -1121.0, -1121.0, -2.0, -3.0, -1121.0, 0.0, -4.0],
        statuses=["failed", "ok", "ok", "ok", "invalid", "ok", "ok", "ok", "unscored", "ok", "ok"],
        low=[False, True, False, False, False, False, False, False, False, False, False],
        trusted=[True] * 9 + [False, False],
    )
    pairs = build_pairs(frame, 0.5, 10, seed=0)
    # trustworthy: c002 (-1), c003 (-5), c005 (-1121), c006 (-2), c007 (-3); the top half (2) is chosen.
    # c009 (the best reward) and c010 are untrusted: neither chosen nor rejected.
    assert set(pairs.chosen_id) == {"c002", "c006"}
    assert set(pairs.rejected_id) == {"c003", "c005", "c006", "c007"}
    assert len(pairs) == 4 + 3  # c002 beats the other four, c006 beats three
    untrusted = {"c000", "c001", "c004", "c008", "c009", "c010"}
    assert not untrusted & (set(pairs.chosen_id) | set(pairs.rejected_id))


def test_pairs_stay_within_one_database_unless_told_otherwise():
    frame = scored([-1.0, -2.0, -3.0, -4.0]).assign(database=["mc_ni", "cost507", "mc_ni", "cost507"])
    same = build_pairs(frame, 0.5, 10, seed=0)
    assert (same.chosen_database == same.rejected_database).all()
    assert set(zip(same.chosen_id, same.rejected_id)) == {("c000", "c002"), ("c001", "c003")}
    mixed = build_pairs(frame, 0.5, 10, seed=0, same_database=False)
    assert len(mixed) == 3 + 2 and (mixed.chosen_database != mixed.rejected_database).any()


def test_unscored_samples_get_the_worst_reward():
    samples = pd.DataFrame({"candidate_id": ["a", "b"], "prompt": PROMPT, "text": ["x", "y"]})
    rewards = pd.DataFrame(
        {
            "candidate_id": ["a"],
            "reward": [-2.0],
            "status": ["ok"],
            "low_coverage": [False],
            "trusted": [True],
            "database": ["mc_ni"],
        }
    )
    joined = scored_samples(samples, rewards, -1121.0).set_index("candidate_id")
    assert joined.loc["b", "reward"] == -1121.0
    assert (bool(joined.loc["a", "trusted"]), bool(joined.loc["b", "trusted"])) == (True, False)


@pytest.fixture(scope="module")
def sft_model(tmp_path_factory):
    from alloypref.lm.sft import train_sft

    out = tmp_path_factory.mktemp("sft")
    history = train_sft(TINY, sft_frame(), out / "model", out / "work", seed=0, eval_fraction=0.0)
    return out / "model", history


@pytest.mark.xdist_group("test_lm.sft_model")
def test_tiny_sft_lowers_the_loss(sft_model):
    _, history = sft_model
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) >= 4
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2])


@pytest.mark.xdist_group("test_lm.sft_model")
def test_sampling_is_seeded_and_every_text_is_kept(sft_model):
    tokenizer, model = load_trained(TINY, sft_model[0])
    first = generate_texts(model, tokenizer, PROMPT, 10, batch_size=4, seed=5)
    again = generate_texts(model, tokenizer, PROMPT, 10, batch_size=4, seed=5)
    other = generate_texts(model, tokenizer, PROMPT, 10, batch_size=4, seed=6)
    assert first == again and first != other and len(first) == 10
    samples = parse_samples(first, "tiny", "sft", PROMPT, ["Al", "Mo", "Nb", "Ni", "Ti", "V"])
    assert len(samples) == 10 and samples.candidate_id.is_unique


def toy_preferences(n=16):
    """Always prefer Nb67Mo33 + NiAl over MoV + TiNi (both seen in SFT), at matching volumes."""
    return pd.DataFrame(
        {
            "prompt": PROMPT,
            "chosen": [completion_text("Nb67Mo33", "NiAl", 30 + i) for i in range(n)],
            "rejected": [completion_text("MoV", "TiNi", 30 + i) for i in range(n)],
        }
    )


DPO_SETTINGS = TrainSettings(epochs=3, learning_rate=1e-3, batch_size=8, logging_steps=1, max_length=64)


@pytest.mark.xdist_group("test_lm.sft_model")
def test_dpo_raises_the_chosen_over_rejected_margin(sft_model, tmp_path):
    from dataclasses import replace

    from alloypref.lm.dpo import make_dpo_trainer, preference_margin, reference_is_sft, train_dpo

    spec = replace(TINY, dpo=DPO_SETTINGS)
    pairs = toy_preferences()
    trainer = make_dpo_trainer(spec, sft_model[0], pairs, tmp_path / "work", seed=0, eval_fraction=0.0)
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    assert reference_is_sft(trainer)
    before = preference_margin(trainer.model, trainer.processing_class, pairs)
    trainer.train()
    after = preference_margin(trainer.model, trainer.processing_class, pairs)
    assert after > before + 1.0, (before, after)
    # what train_dpo writes is the trained policy: loaded back, it keeps the raised margin
    train_dpo(spec, sft_model[0], pairs, tmp_path / "dpo", tmp_path / "work2", seed=0, eval_fraction=0.0)
    tokenizer, model = load_trained(spec, tmp_path / "dpo")
    assert preference_margin(model, tokenizer, pairs) > before + 1.0


@pytest.mark.xdist_group("test_lm.sft_model")
def test_dpo_sft_weight_adds_the_sft_loss_and_keeps_the_chosen_completions_likely(sft_model, tmp_path):
    from dataclasses import replace

    from alloypref.lm.dpo import dpo_loss_arguments, make_dpo_trainer
    from alloypref.lm.sampling import prompt_ids

    assert dpo_loss_arguments(0.0) == {"loss_type": ["sigmoid"]}
    with pytest.raises(ValueError, match=r"models.<name>.dpo.sft_weight must be >= 0, got -1"):
        dpo_loss_arguments(-1.0)
    pairs = toy_preferences()

    def chosen_log_likelihood(sft_weight: float) -> tuple[list[str], float]:
        spec = replace(TINY, dpo=replace(DPO_SETTINGS, sft_weight=sft_weight))
        trainer = make_dpo_trainer(spec, sft_model[0], pairs, tmp_path / f"work{sft_weight}", seed=0, eval_fraction=0.0)
        weights = list(trainer.args.loss_weights or [1.0] * len(trainer.args.loss_type))
        trainer.train()
        model, tokenizer = trainer.model, trainer.processing_class
        model.eval()
        total = 0.0
        for row in pairs.itertuples(index=False):
            context = prompt_ids(tokenizer, row.prompt)
            target = tokenizer(row.chosen, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            ids = torch.tensor([context + target])
            with torch.no_grad():
                log_p = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            positions = torch.arange(len(context) - 1, ids.shape[1] - 1)
            total += float(log_p[positions, ids[0, positions + 1]].sum())
        return [*trainer.args.loss_type, *map(str, weights)], total / len(pairs)

    import torch

    plain_loss, plain = chosen_log_likelihood(0.0)
    rpo_loss, rpo = chosen_log_likelihood(1.0)
    assert plain_loss == ["sigmoid", "1.0"]
    assert rpo_loss == ["sigmoid", "sft", "1.0", "1.0"]
    # the SFT term pulls the chosen completions up: they end more likely than under plain DPO
    assert rpo > plain + 0.5, (plain, rpo)


def test_missing_local_model_fails_clearly():
    spec = ModelSettings("llama", "local", path="meta-llama/Llama-3.1-8B")
    with pytest.raises(ModelError, match="not a local folder.*No model hub"):
        check_local_folder(spec)
    with pytest.raises(ModelError, match="path"):
        ModelSettings.from_config("llama", {"source": "local"})


@pytest.fixture(scope="module")
def local_llama(tmp_path_factory, tokenizer):
    """A Hugging Face folder of a small Llama with a tokenizer that lacks pad and the tags."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("local-llama")
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(
        [PROMPT] * 3 + list(sft_frame().completion),
        trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<s>", "</s>"]),
    )
    plain = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    plain.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(plain), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    # seeded here: the weights must not depend on which tests drew from the global generator before
    with torch.random.fork_rng():
        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_local_folder_gets_missing_tokens_and_lora_dpo_raises_the_margin(local_llama, tmp_path):
    import torch

    from alloypref.lm.dpo import make_dpo_trainer, preference_margin, reference_is_sft
    from alloypref.lm.registry import load_local_model
    from alloypref.lm.sft import train_sft

    # a LoRA adapter moves fewer weights: a larger step makes the same toy preference visible
    dpo = TrainSettings(epochs=4, learning_rate=1e-2, batch_size=8, logging_steps=1, max_length=64)
    spec = ModelSettings("local", "local", path=str(local_llama), sft=TINY.sft, dpo=dpo)
    tokenizer, model = load_local_model(spec)
    assert tokenizer.pad_token == "<pad>"
    # the tags stay text: no embedding row a LoRA adapter would neither train nor save
    assert not any(tag in tokenizer.get_vocab() for tag in TAGS)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    # the added <pad> row is drawn the same at every load (an adapter does not save it)
    _, again_loaded = load_local_model(spec)
    assert torch.equal(model.get_input_embeddings().weight, again_loaded.get_input_embeddings().weight)
    train_sft(spec, sft_frame(2), tmp_path / "sft", tmp_path / "work", seed=0, eval_fraction=0.0)
    assert (tmp_path / "sft" / "adapter_config.json").is_file()
    pairs = toy_preferences()
    trainer = make_dpo_trainer(spec, tmp_path / "sft", pairs, tmp_path / "dpo-work", seed=0, eval_fraction=0.0)
    assert trainer.ref_model is None and "ref" in trainer.model.peft_config
    assert reference_is_sft(trainer)  # the copied SFT adapter, not the adapter-free base model
    lora = [p for n, p in trainer.model.named_parameters() if ".default." in n and "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora)  # the SFT adapter was trained, so base != SFT
    before = preference_margin(trainer.model, trainer.processing_class, pairs)
    trainer.train()
    after = preference_margin(trainer.model, trainer.processing_class, pairs)
    assert after > before + 1.0, (before, after)
    assert not reference_is_sft(trainer)  # the trained adapter moved away from its frozen SFT copy
    # a later round of iterative DPO starts from that policy with the SFT adapter as its reference
    trainer.model.save_pretrained(str(tmp_path / "round1"), selected_adapters=["default"])
    tokenizer.save_pretrained(str(tmp_path / "round1"))
    again = make_dpo_trainer(
        spec,
        tmp_path / "round1",
        pairs,
        tmp_path / "r2-work",
        seed=0,
        eval_fraction=0.0,
        reference_dir=tmp_path / "sft",
    )
    sft_trainer = make_dpo_trainer(spec, tmp_path / "sft", pairs, tmp_path / "sft-work", seed=0, eval_fraction=0.0)
    for name, param in again.model.named_parameters():
        if ".ref." in name:  # the reference adapter holds the SFT weights, not the round-1 policy's
            assert torch.equal(param, sft_trainer.model.get_parameter(name)), name
    assert not reference_is_sft(again)  # policy (round 1) and reference (SFT) differ


def test_lm_imports_without_calphad_pymatgen_or_bitsandbytes():
    """The GPU carry stays small and CPU runs never import CUDA-only packages."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import alloypref.lm.tokenizer, alloypref.lm.registry, alloypref.lm.sft, alloypref.lm.dpo\n"
        "import alloypref.lm.sampling, alloypref.lm.pairs, alloypref.lm.curves, alloypref.completion.parsing\n"
        "from alloypref.lm.registry import ModelSettings, build_tiny_model\n"
        "from alloypref.lm.tokenizer import build_formula_tokenizer\n"
        "tok = build_formula_tokenizer(['<BCC>Nb</BCC>'], 80)\n"
        "build_tiny_model(ModelSettings('t', 'tiny', load_in_8bit=True), tok, 0)\n"
        "bad = [m for m in ('pycalphad', 'pymatgen', 'bitsandbytes') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_dpo_without_pairs_names_why_and_the_keys_to_change(tmp_path):
    from alloypref.lm.dpo import train_dpo
    from alloypref.lm.pairs import PAIRS_SCHEMA

    empty = pd.DataFrame(columns=PAIRS_SCHEMA.names)
    with pytest.raises(ValueError, match=r"model tiny: no preference pairs.*trusted.*sampling\.n.*pairs\.top_fraction"):
        train_dpo(ModelSettings(name="tiny", source="tiny"), tmp_path, empty, tmp_path / "out", tmp_path / "work", 0)
    assert not (tmp_path / "out").exists()  # nothing half-written
