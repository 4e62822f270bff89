"""Model registry: what each configured model is, and how it is built or loaded.

Three sources:

* ``tiny`` — the embedded default: a Llama-architecture model built from a ``LlamaConfig`` and
  trained from scratch (full weights) with the formula tokenizer of :mod:`alloypref.lm.tokenizer`.
* ``local`` — a Hugging Face model folder on disk (LLaMA-3.1-8B, Gemma-2-9B, OLMo-2-7B in the
  paper). It is fine-tuned with LoRA; missing special tokens and the tags are added and the
  embeddings resized. No model hub is reachable, so anything that is not a local folder is refused.
* ``gguf`` — a pretrained model pinned in :mod:`alloypref.lm.gguf_model` (``models.<name>.pretrained``),
  materialised by rule base_model as a local folder; from there on it is a ``local`` model whose
  ``path`` the workflow fills in.

bitsandbytes (8-bit loading), bf16 and CUDA are used only when configured *and* available; a CPU
run never imports bitsandbytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alloypref.config_schema import schema_default


class ModelError(ValueError):
    """A model that cannot be built or loaded; the message names the model and the reason."""


@dataclass(frozen=True)
class TinyModelSettings:
    """Size of the embedded Llama model (parameters scale ~ layers * hidden^2)."""

    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 384
    max_position_embeddings: int = 512
    vocab_size: int = 512  # BPE vocabulary to train (the model's embedding follows the tokenizer)


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


@dataclass(frozen=True)
class TrainSettings:
    """One training stage (SFT or DPO). Learning rate is per step; lengths in tokens."""

    epochs: float = 1.0
    learning_rate: float = 1e-3
    batch_size: int = 32
    gradient_accumulation_steps: int = 1
    max_length: int = 256
    warmup_steps: float = 0  # steps, or a fraction of all steps when below 1
    logging_steps: int = 5
    beta: float = 0.5  # DPO only
    # DPO only: weight of the SFT term (chosen completions' NLL, nats per token); 0 is plain DPO
    sft_weight: float = float(schema_default("models.*.dpo.sft_weight"))


@dataclass(frozen=True)
class SamplingSettings:
    n: int = 128
    temperature: float = 1.0
    top_p: float = 1.0
    batch_size: int = 64
    max_new_tokens: int = 40
    backend: str = schema_default("models.*.sampling.backend")  # "hf" (transformers) or "vllm" (where installed)


def sampling_n(config: Mapping[str, Any], model: str) -> int:
    """Samples a model draws per stage (``models.<model>.sampling.n``, else the default above)."""
    return config["models"][model].get("sampling", {}).get("n", SamplingSettings().n)


@dataclass(frozen=True)
class ModelSettings:
    """One entry of ``models:`` in config; ``name`` is the ``{model}`` wildcard."""

    name: str
    source: str  # "tiny", "local" or "gguf"
    path: str | None = schema_default("models.*.path")
    pretrained: str | None = None  # gguf: the name of the pinned model (alloypref.lm.gguf_model.PINNED)
    # the prompt goes to the model as the user turn of the tokenizer's own chat template
    chat_template: bool = bool(schema_default("models.*.chat_template"))
    tiny: TinyModelSettings = field(default_factory=TinyModelSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    load_in_8bit: bool = bool(schema_default("models.*.load_in_8bit"))
    bf16: bool = bool(schema_default("models.*.bf16"))
    trust_remote_code: bool = bool(schema_default("models.*.trust_remote_code"))
    threads: int = int(schema_default("models.*.threads"))
    # encode the prompt once per batch in SFT, DPO and sampling (exact)
    shared_prompt: bool = bool(schema_default("models.*.shared_prompt"))
    sft: TrainSettings = field(default_factory=TrainSettings)
    # as from_config gives a model without a dpo block (it once defaulted to 5e-5 and 16 here only)
    dpo: TrainSettings = field(default_factory=TrainSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)

    @property
    def uses_lora(self) -> bool:
        return self.source in ("local", "gguf")

    @classmethod
    def from_config(cls, name: str, entry: dict[str, Any]) -> ModelSettings:
        def sub(kind, key):
            return kind(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in entry.get(key, {}).items()})

        if entry["source"] == "local" and not entry.get("path"):
            raise ModelError(f"config key models.{name}.path: a local model needs the path of its folder")
        if entry["source"] == "gguf" and not entry.get("path"):
            raise ModelError(
                f"model {name!r}: a gguf model is loaded from the folder rule base_model materialises "
                "(results/base_models/<pretrained>); the workflow passes it as the model's path"
            )
        return cls(
            name=name,
            source=entry["source"],
            path=entry.get("path", cls.path),
            pretrained=entry.get("pretrained"),
            chat_template=bool(entry.get("chat_template", cls.chat_template)),
            tiny=sub(TinyModelSettings, "tiny"),
            lora=sub(LoraSettings, "lora"),
            load_in_8bit=bool(entry.get("load_in_8bit", cls.load_in_8bit)),
            bf16=bool(entry.get("bf16", cls.bf16)),
            trust_remote_code=bool(entry.get("trust_remote_code", cls.trust_remote_code)),
            threads=int(entry.get("threads", cls.threads)),
            shared_prompt=bool(entry.get("shared_prompt", cls.shared_prompt)),
            sft=sub(TrainSettings, "sft"),
            dpo=sub(TrainSettings, "dpo"),
            sampling=sub(SamplingSettings, "sampling"),
        )


def model_prompt(spec: ModelSettings, tokenizer, prompt: str) -> str:
    """The prompt text as ``spec``'s model reads it in every stage (SFT, DPO, GRPO, sampling, KL): the
    instruction itself, or, with ``chat_template``, the instruction as the user turn of the tokenizer's
    own chat template followed by the opening of the assistant's turn (the completion follows it)."""
    if not spec.chat_template:
        return prompt
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(f"model {spec.name!r}: chat_template is set but its tokenizer has no chat template")
    messages = [{"role": "user", "content": prompt}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def use_bf16(spec: ModelSettings) -> bool:
    """bf16 only when configured and a CUDA device supports it."""
    if not spec.bf16 or not cuda_available():
        return False
    import torch

    return torch.cuda.is_bf16_supported()


def check_local_folder(spec: ModelSettings) -> Path:
    """The model folder, or a clear error: no hub is reachable, so ids are not downloadable."""
    path = Path(spec.path or "")
    if not path.is_dir():
        raise ModelError(
            f"model {spec.name!r}: {spec.path!r} is not a local folder. No model hub is reachable from this "
            "pipeline; download the model elsewhere and set models.<name>.path to its folder."
        )
    if not (path / "config.json").is_file():
        raise ModelError(f"model {spec.name!r}: {path} has no config.json; is it a Hugging Face model folder?")
    return path


def build_tiny_model(spec: ModelSettings, tokenizer, seed: int):
    """A freshly initialised Llama-architecture model sized by ``spec.tiny`` (fp32)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    arch = spec.tiny
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.hidden_size,
        num_hidden_layers=arch.num_hidden_layers,
        num_attention_heads=arch.num_attention_heads,
        num_key_value_heads=arch.num_attention_heads,
        intermediate_size=arch.intermediate_size,
        max_position_embeddings=arch.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def _quantization_config(spec: ModelSettings):
    if not spec.load_in_8bit:
        return None
    if not cuda_available():
        import logging

        logging.getLogger(__name__).warning(
            "model %s: load_in_8bit is set but CUDA is not available; loading full precision", spec.name
        )
        return None
    from transformers import BitsAndBytesConfig  # imports bitsandbytes lazily, on CUDA only

    return BitsAndBytesConfig(load_in_8bit=True)


def load_local_model(spec: ModelSettings, path: Path | None = None):
    """Load tokenizer and model from a local folder (never a hub), adding missing special tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from alloypref.lm.tokenizer import ensure_special_tokens

    folder = Path(path) if path is not None else check_local_folder(spec)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=spec.trust_remote_code)
    quantization = _quantization_config(spec)
    kwargs: dict[str, Any] = {"local_files_only": True, "trust_remote_code": spec.trust_remote_code}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = "auto"
    if use_bf16(spec):
        kwargs["dtype"] = torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if ensure_special_tokens(tokenizer):
        # Mean resizing draws the new rows at random: a fixed seed gives every load of the base
        # model (policy, reference, each stage) the same rows.
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    tokenizer.padding_side = "left"
    for target in (model.config, model.generation_config):
        target.pad_token_id = tokenizer.pad_token_id
        target.bos_token_id = tokenizer.bos_token_id
        target.eos_token_id = tokenizer.eos_token_id
    if quantization is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    return tokenizer, model


def lora_config(spec: ModelSettings):
    from peft import LoraConfig

    return LoraConfig(
        r=spec.lora.r,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=list(spec.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def load_trained(spec: ModelSettings, folder: Path, trainable: bool = False):
    """Tokenizer and model saved by a training stage (full weights, or base + LoRA adapter)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"model {spec.name!r}: trained model folder {folder} does not exist")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if (folder / "adapter_config.json").is_file():
        from peft import PeftModel

        _, base = load_local_model(spec)
        base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        model = PeftModel.from_pretrained(base, folder, is_trainable=trainable)
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    return tokenizer, model


def save_policy(trainer, spec: ModelSettings, output_dir: Path) -> None:
    """Save a preference-tuned policy where :func:`load_trained` reads it: the full model (tiny) or
    only the trained ``default`` adapter (LoRA; the ``ref`` adapter is the frozen reference), with
    the tokenizer. A kill mid-save leaves no half model."""
    from alloypref.io import atomic_directory

    with atomic_directory(Path(output_dir)) as saving:
        if spec.uses_lora:
            trainer.model.save_pretrained(str(saving), selected_adapters=["default"])
        else:
            trainer.save_model(str(saving))
        trainer.processing_class.save_pretrained(str(saving))
