"""Shared-prompt SFT, DPO and sampling equal the plain paths; the GPU benchmark runs at --size tiny."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alloypref.design_space import completion_text, prompt_text
from alloypref.lm.registry import LoraSettings, ModelSettings, TinyModelSettings, TrainSettings

REPO = Path(__file__).resolve().parents[1]
PROMPT = prompt_text(["Al", "Mo", "Nb", "Ni", "Ti", "V"], "paper")
FORMULAS = [("Nb67Mo33", "NiAl"), ("Ti2Nb2Mo", "AlTiNi2"), ("MoV", "TiNi"), ("Nb", "NiAl"), ("NbTiV", "AlNi")]
# fp32 on CPU: shared-prompt and plain losses/gradients agree to this relative tolerance
RTOL = 1e-5


def triples(repeats: int = 2) -> pd.DataFrame:
    """SFT rows of one prompt and completions of different lengths (so batches are padded)."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(repeats):
        for bcc, b2 in FORMULAS:
            volume = round(float(rng.uniform(20, 70)), 2)
            rows.append({"prompt": PROMPT, "completion": completion_text(bcc, b2, volume)})
    return pd.DataFrame(rows)


def pairs_frame(n: int = 8) -> pd.DataFrame:
    texts = [completion_text(*FORMULAS[i % 5], 30 + 1.5 * i) for i in range(2 * n)]
    return pd.DataFrame({"prompt": [PROMPT] * n, "chosen": texts[:n], "rejected": texts[::-1][:n]})


TRAIN = TrainSettings(epochs=1, learning_rate=1e-3, batch_size=6, logging_steps=1, max_length=400)
NO_DROPOUT = LoraSettings(r=4, alpha=8, dropout=0.0, target_modules=("q_proj", "v_proj"))


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    """A Hugging Face folder of a small Llama (grouped-query attention) whose tokenizer lacks pad and tags."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("small-llama")
    raw = Tokenizer(models.BPE(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [PROMPT] * 3 + list(triples(4).completion)
    raw.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<s>", "</s>"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def local_spec(folder, shared: bool, **changes) -> ModelSettings:
    return ModelSettings(
        "small", "local", path=str(folder), lora=NO_DROPOUT, sft=TRAIN, dpo=TRAIN, shared_prompt=shared, **changes
    )


TINY = ModelSettings(
    "tiny",
    "tiny",
    tiny=TinyModelSettings(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=300
    ),
    sft=TRAIN,
    dpo=TRAIN,
    shared_prompt=False,
)


class PromptPasses:
    """Counts decoder passes over a batch-1 input (the shared prompt) and over batched inputs."""

    def __init__(self, *models):
        from alloypref.lm.shared_prompt.causal_lm import causal_lm_of

        self.single = self.batched = 0
        self.handles = [
            causal_lm_of(m).get_input_embeddings().register_forward_hook(self.hook) for m in models if m is not None
        ]

    def hook(self, module, inputs, output):
        if inputs[0].shape[0] == 1:
            self.single += 1
        else:
            self.batched += 1


def relative(a, b) -> float:

    return float((a - b).norm() / b.norm().clamp(min=1e-30))


def loss_and_gradients(trainer, batch):
    """compute_loss of one collated batch and the gradients of every trainable parameter."""
    import torch

    model = trainer.model
    model.train()
    model.zero_grad(set_to_none=True)
    loss = trainer.compute_loss(model, {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in batch.items()})
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}
    return float(loss.detach()), grads


def compare_paths(trainer):
    """(plain loss, shared loss, max relative gradient difference, prompt passes of the shared run)."""
    from alloypref.lm.shared_prompt.fused_forward import enable_shared_prompt

    batch = next(iter(trainer.get_train_dataloader()))
    plain_loss, plain_grads = loss_and_gradients(trainer, batch)
    assert enable_shared_prompt(trainer.model)
    if getattr(trainer, "ref_model", None) is not None:
        assert enable_shared_prompt(trainer.ref_model)
    passes = PromptPasses(trainer.model, getattr(trainer, "ref_model", None))
    shared_loss, shared_grads = loss_and_gradients(trainer, batch)
    assert set(shared_grads) == set(plain_grads) and plain_grads
    worst = max(relative(shared_grads[n], plain_grads[n]) for n in plain_grads)
    return plain_loss, shared_loss, worst, passes, batch


@pytest.mark.parametrize("source", ["local", "tiny", "local-checkpointed"])
def test_shared_prompt_sft_equals_plain_loss_and_gradients(source, llama_folder, tmp_path):
    """ "local-checkpointed": activation checkpointing on, as 8-bit loading switches it on (reentrant)."""
    from alloypref.lm.sft import make_sft_trainer

    spec = local_spec(llama_folder, shared=False) if source.startswith("local") else TINY
    trainer = make_sft_trainer(spec, triples(), tmp_path / "work", seed=0, eval_fraction=0.0)
    if source == "local-checkpointed":
        trainer.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
        trainer.model.enable_input_require_grads()
    plain, shared, worst, passes, batch = compare_paths(trainer)
    completion_lengths = (batch["labels"] != -100).sum(dim=1)
    assert len(set(completion_lengths.tolist())) > 1  # variable completion lengths, right padding
    assert (batch["attention_mask"] == 0).any()
    assert passes.single == 1 and passes.batched >= 1  # the prompt ran once, at batch size 1
    assert abs(shared - plain) <= RTOL * abs(plain)
    assert worst <= RTOL
    if source.startswith("local"):
        assert any("lora_A" in n for n in trainer.model.state_dict())


@pytest.fixture(scope="module")
def sft_adapter(llama_folder, tmp_path_factory):
    from alloypref.lm.sft import train_sft

    out = tmp_path_factory.mktemp("sft-adapter")
    train_sft(local_spec(llama_folder, shared=True), triples(), out / "model", out / "work", seed=0, eval_fraction=0.0)
    return out / "model"


@pytest.fixture(scope="module")
def tiny_sft(tmp_path_factory):
    from alloypref.lm.sft import train_sft

    out = tmp_path_factory.mktemp("tiny-sft")
    train_sft(TINY, triples(), out / "model", out / "work", seed=0, eval_fraction=0.0)
    return out / "model"


@pytest.mark.parametrize("source", ["local", "tiny"])
def test_shared_prompt_dpo_equals_plain_loss_and_gradients(source, llama_folder, sft_adapter, tiny_sft, tmp_path):
    from alloypref.lm.dpo import make_dpo_trainer

    spec, folder = (local_spec(llama_folder, shared=False), sft_adapter) if source == "local" else (TINY, tiny_sft)
    trainer = make_dpo_trainer(spec, folder, pairs_frame(), tmp_path / "work", seed=0, eval_fraction=0.0)
    # make the policy differ from its reference so the loss and its gradient are not at the trivial point
    import torch

    with torch.no_grad():
        for name, param in trainer.model.named_parameters():
            if param.requires_grad and "lora_A" not in name:
                param.add_(0.05 * torch.randn_like(param))
    plain, shared, worst, passes, _ = compare_paths(trainer)
    # policy pass + reference pass, each one batch-1 prompt run for chosen and rejected together
    assert passes.single == 2
    assert abs(shared - plain) <= RTOL * abs(plain) and abs(plain - math.log(2)) > 1e-4
    assert worst <= RTOL


def test_split_falls_back_when_prompts_differ_or_are_left_padded():
    import torch

    from alloypref.lm.shared_prompt.fused_forward import split_shared_prompt

    ids = torch.tensor([[5, 6, 7, 8, 9, 0], [5, 6, 7, 10, 0, 0]])
    attention = (ids != 0).long()
    labels_mask = torch.tensor([[0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 0, 0]])
    prompt, completion, mask = split_shared_prompt(ids, attention, labels_mask)
    assert (
        prompt.tolist() == [5, 6, 7] and completion.tolist() == [[8, 9], [10, 0]] and mask.tolist() == [[1, 1], [1, 0]]
    )
    other = ids.clone()
    other[1, 1] = 4  # a different prompt in row 2
    assert split_shared_prompt(other, attention, labels_mask) is None
    left = torch.tensor([[0, 5, 6, 8], [5, 6, 9, 10]])  # prompts of different lengths / left padding
    assert split_shared_prompt(left, (left != 0).long(), torch.tensor([[0, 0, 0, 1], [0, 0, 1, 1]])) is None


def test_different_prompts_take_the_plain_path(llama_folder, tmp_path):
    from alloypref.lm.sft import make_sft_trainer

    frame = triples()
    frame.loc[::2, "prompt"] = prompt_text(["Al", "Co", "Cr", "Fe", "Ni"], "paper")
    trainer = make_sft_trainer(
        local_spec(llama_folder, shared=True), frame, tmp_path / "work", seed=0, eval_fraction=0.0
    )
    batch = next(iter(trainer.get_train_dataloader()))
    passes = PromptPasses(trainer.model)
    loss, _ = loss_and_gradients(trainer, batch)
    assert passes.single == 0 and passes.batched == 1 and math.isfinite(loss)


@pytest.fixture(scope="module")
def small_lora_model(llama_folder):
    import torch
    from peft import get_peft_model

    from alloypref.lm.registry import load_local_model, lora_config

    spec = local_spec(llama_folder, shared=True)
    tokenizer, model = load_local_model(spec)
    model = get_peft_model(model, lora_config(spec))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    return tokenizer, model.eval()


def test_sampler_decodes_like_generate_and_stops_rows_at_eos(small_lora_model):
    import torch

    from alloypref.lm.shared_prompt.sampler import sample_completions

    tokenizer, model = small_lora_model
    prompt = torch.tensor(tokenizer(PROMPT)["input_ids"])
    greedy = sample_completions(model, prompt, n=3, batch_size=2, max_new_tokens=8, temperature=0)
    reference = model.generate(
        input_ids=prompt.unsqueeze(0),
        attention_mask=torch.ones(1, prompt.numel(), dtype=torch.long),
        do_sample=False,
        max_new_tokens=8,
        eos_token_id=None,
    )[0, prompt.numel() :].tolist()
    assert greedy == [reference] * 3
    stop = reference[3]
    cut = sample_completions(model, prompt, n=2, batch_size=2, max_new_tokens=8, temperature=0, eos_token_id=stop)
    assert cut == [reference[: reference.index(stop)]] * 2
    first = sample_completions(model, prompt, n=6, batch_size=4, max_new_tokens=6, seed=3)
    assert first == sample_completions(model, prompt, n=6, batch_size=4, max_new_tokens=6, seed=3)
    assert first != sample_completions(model, prompt, n=6, batch_size=4, max_new_tokens=6, seed=4)


def test_generate_texts_uses_the_shared_sampler_and_reports_rate(small_lora_model):
    from alloypref.lm.sampling import generate_texts

    tokenizer, model = small_lora_model
    passes = PromptPasses(model)
    stats = {}
    texts = generate_texts(model, tokenizer, PROMPT, 10, batch_size=4, max_new_tokens=5, seed=1, stats=stats)
    for handle in passes.handles:
        handle.remove()
    assert len(texts) == 10 and passes.single >= 1
    assert stats["backend"] == "shared_prompt" and stats["samples_per_s"] > 0
    assert texts == generate_texts(model, tokenizer, PROMPT, 10, batch_size=4, max_new_tokens=5, seed=1)


def test_vllm_backend_is_refused_clearly_where_not_installed(small_lora_model):
    from alloypref.lm.sampling import SamplingBackendError, generate_texts_vllm, vllm_available

    if vllm_available():
        pytest.skip("vLLM is installed here")
    with pytest.raises(SamplingBackendError, match="vLLM is not installed"):
        generate_texts_vllm("some-folder", PROMPT, 2)


def test_benchmark_runs_on_cpu_at_tiny_size(tmp_path):
    out = tmp_path / "figures.json"
    command = [
        sys.executable, str(REPO / "benchmarks" / "gpu_throughput.py"), "--size", "tiny", "--steps", "2", "--warmup", "1",
        "--plain-batch", "4", "--project-batches", "4,8", "--dpo-pairs", "2,4", "--generate-batch", "4", "--sample-batches", "8",
        "--new-tokens", "6", "--json", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("speedup ") and float(last.split()[1]) > 0
    figures = json.loads(out.read_text())
    assert "errors" not in figures
    assert figures["loss_check"]["relative_difference"] <= RTOL
    for phase in ("plain_sft", "project_sft", "plain_dpo", "project_dpo", "plain_generate", "project_sample"):
        assert next(iter(figures[phase].values())) > 0, phase


def test_benchmark_lora_matches_the_paper_config():
    import yaml

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_throughput
    finally:
        sys.path.pop(0)
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    for entry in paper["models"].values():
        lora = entry["lora"]
        assert (lora["r"], lora["alpha"], lora["dropout"], tuple(lora["target_modules"])) == tuple(
            gpu_throughput.LORA.values()
        )


def test_paper_configuration_runs_end_to_end_on_a_small_local_model(llama_folder, tmp_path, caplog):
    """config/paper.yaml's llama entry (LoRA r 8 / alpha 32 on q/v, bf16, 8-bit, shared prompt) on CPU:
    SFT -> sampling -> pairs -> DPO -> sampling, with only the folder and the stage sizes shrunk."""
    import logging

    from alloypref import config as config_module
    from alloypref.lm.dpo import train_dpo
    from alloypref.lm.pairs import build_pairs
    from alloypref.lm.registry import load_trained, use_bf16
    from alloypref.lm.sampling import generate_texts
    from alloypref.lm.sft import train_sft

    cfg = config_module.load(REPO / "config" / "paper.yaml", {})
    entry = dict(cfg["models"]["llama"])
    assert entry["load_in_8bit"] and entry["bf16"] and entry["gpu"] and entry["lora"]["r"] == 8
    small = {"epochs": 1, "batch_size": 4, "logging_steps": 1, "max_length": 400}
    entry.update(
        path=str(llama_folder),
        threads=1,
        sft={**entry["sft"], **small},
        dpo={**entry["dpo"], **small},
        sampling={**entry["sampling"], "n": 8, "batch_size": 8, "max_new_tokens": 12},
    )
    spec = ModelSettings.from_config("llama", entry)
    assert spec.shared_prompt and not use_bf16(spec)  # bf16 is switched off without CUDA
    caplog.set_level(logging.INFO)
    history = train_sft(spec, triples(2), tmp_path / "sft", tmp_path / "sft-work", seed=0, eval_fraction=0.0)
    assert "load_in_8bit is set but CUDA is not available" in caplog.text
    assert "shared-prompt SFT on" in caplog.text
    assert (tmp_path / "sft" / "adapter_config.json").is_file() and any("loss" in h for h in history)
    tokenizer, model = load_trained(spec, tmp_path / "sft")
    s = spec.sampling
    texts = generate_texts(
        model, tokenizer, PROMPT, s.n, s.temperature, s.top_p, s.batch_size, s.max_new_tokens, seed=0
    )
    assert len(texts) == s.n
    frame = pd.DataFrame(
        {
            "candidate_id": [f"c{i}" for i in range(s.n)],
            "prompt": PROMPT,
            "text": [completion_text(*FORMULAS[i % 5], 30 + i) for i in range(s.n)],
            "reward": [-float(i) for i in range(s.n)],
            "score_status": "ok",
            "low_coverage": False,
            "trusted": True,
            "database": "mc_ni",
        }
    )
    pairs = build_pairs(frame, 0.25, 4, seed=0)
    history = train_dpo(
        spec, tmp_path / "sft", pairs, tmp_path / "dpo", tmp_path / "dpo-work", seed=0, eval_fraction=0.0
    )
    assert "shared-prompt DPO on" in caplog.text and any("rewards/margins" in h for h in history)
    tokenizer, model = load_trained(spec, tmp_path / "dpo")
    assert len(generate_texts(model, tokenizer, PROMPT, 2, batch_size=2, max_new_tokens=6, seed=0)) == 2


def test_benchmark_imports_only_torch_transformers_peft_and_the_project():
    """The GPU machine has torch, transformers and peft only (no trl, no CALPHAD stack)."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import gpu_throughput, peft; "
        "print(sorted(m for m in ('trl', 'datasets', 'pycalphad', 'pymatgen', 'pandas', 'pyarrow', 'bitsandbytes') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "config_class",
    [
        "LlamaConfig",
        "MistralConfig",
        "Qwen2Config",
        "Qwen3Config",
        "OlmoConfig",
        "Olmo2Config",
        "GemmaConfig",
        "Gemma2Config",
    ],
)
def test_every_supported_architecture_is_exact(config_class):
    """Per-token log-probs and greedy decoding of each supported family equal the library's own forward
    (Gemma-2 included: attention and final-logit soft-capping)."""
    import torch
    import transformers

    from alloypref.lm.shared_prompt.causal_lm import supports_shared_prompt
    from alloypref.lm.shared_prompt.logps import completion_logps, plain_completion_logps
    from alloypref.lm.shared_prompt.sampler import sample_completions

    config = getattr(transformers, config_class)(
        vocab_size=300,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        head_dim=16,
    )
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config).float().eval()
    assert supports_shared_prompt(model)
    prompt = torch.randint(5, 300, (17,))
    completions = torch.randint(5, 300, (5, 9))
    mask = (torch.arange(9)[None] < torch.tensor([9, 3, 5, 1, 7])[:, None]).long()
    with torch.no_grad():
        shared = completion_logps(model, prompt, completions, mask)
        plain = plain_completion_logps(model, prompt, completions, mask)
        reference = model.generate(
            input_ids=prompt[None],
            attention_mask=torch.ones(1, 17, dtype=torch.long),
            do_sample=False,
            max_new_tokens=5,
            eos_token_id=None,
            pad_token_id=0,
        )[0, 17:].tolist()
    assert torch.allclose(shared, plain, rtol=1e-5, atol=1e-5) and bool((shared[mask == 0] == 0).all())
    assert sample_completions(model, prompt, n=2, batch_size=2, max_new_tokens=5, temperature=0) == [reference] * 2
