"""SFT and sampling throughput: a plain HF + PEFT loop against the project's shared-prompt path.

A Llama-architecture model is built from its config with random weights (no download):
``--size tiny`` (CPU, seconds), ``1B`` (Llama-3.2-1B shape) or ``8B`` (Llama-3.1-8B shape), in bf16
on CUDA (fp32 on CPU), with the paper's LoRA (r 8, alpha 32, dropout 0.05 on q_proj/v_proj; the
same values as ``config/paper.yaml``). Every example is one synthetic prompt of ``--prompt-tokens``
random token ids (the paper's template is ~160 tokens with a Llama-3 tokenizer) followed by its own
completion of 24-36 random tokens (~30, a tagged BCC/B2/volume answer), right-padded.

Phases, each guarded (an out-of-memory error in one leaves the others' figures):

1. ``loss_check``: both losses on one batch at equal weights, dropout off; they must agree.
2. ``plain_sft``: what a HF + PEFT user writes: prompt + completion per row, labels -100 on the
   prompt, ``model(input_ids, attention_mask, labels).loss``, AdamW on the LoRA weights.
3. ``project_sft``: :func:`alloypref.lm.shared_prompt.losses.sft_loss` (prompt once per batch, completion-only
   chunked LM head), same optimizer, at each ``--project-batches`` size; an out-of-memory batch
   size ends the sweep.
4. ``plain_dpo`` / ``project_dpo``: one DPO step (beta 0.5) = policy forward + backward and a reference
   forward (adapter disabled) over chosen and rejected; plain: full rows, project: shared prompt.
   Reported as pairs/s.
5. ``plain_generate``: ``model.generate`` on a batch of identical prompts (sampling, temperature 1).
6. ``project_sample``: :func:`alloypref.lm.shared_prompt.sampler.sample_completions` (one prefill, shared cache).

Figures are printed as soon as measured (``figure <phase> <name> <value>``) and written as JSON to
``--json``. Examples/s count optimizer-step examples; tokens/s count prompt + completion tokens of
those examples; peak memory is ``torch.cuda.max_memory_allocated`` of the phase (GiB). The last line
is ``speedup <x>``: best project SFT examples/s over plain SFT examples/s. Before it, ``paper_estimate``
figures turn the rates into the wall time of the paper's SFT (54,648 examples x 5 epochs) and DPO
(125,000 pairs, 1 epoch) in hours and of 5,000 samples in minutes, for both paths.

Run: ``PYTHONPATH=src python benchmarks/gpu_throughput.py --size tiny`` (CPU) or
``benchmarks/gpu_run.sh`` on one GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback

import torch

from alloypref.lm.shared_prompt import attention as prefix_attention
from alloypref.lm.shared_prompt import causal_lm
from alloypref.lm.shared_prompt import logps as shared_logps
from alloypref.lm.shared_prompt import losses as shared_losses
from alloypref.lm.shared_prompt import sampler as prompt_sampler

#: The paper's LoRA (config/paper.yaml, models.*.lora).
LORA = {"r": 8, "alpha": 32, "dropout": 0.05, "target_modules": ("q_proj", "v_proj")}

SIZES = {
    "tiny": dict(
        vocab_size=512,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        tie_word_embeddings=True,
    ),
    "1B": dict(
        vocab_size=128256,
        hidden_size=2048,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=8192,
        tie_word_embeddings=True,
        rope_theta=500000.0,
    ),
    "8B": dict(
        vocab_size=128256,
        hidden_size=4096,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=14336,
        tie_word_embeddings=False,
        rope_theta=500000.0,
    ),
}
# per size: plain batch, project batches, generate batch, sampler batches (CPU sizes stay small)
DEFAULTS = {
    "tiny": dict(plain_batch=8, project_batches="8,16", generate_batch=16, sample_batches="32,64", dpo_pairs="4,8"),
    "1B": dict(
        plain_batch=32, project_batches="64,128,256", generate_batch=256, sample_batches="1024,2048", dpo_pairs="8,64"
    ),
    "8B": dict(
        plain_batch=32, project_batches="64,128,256", generate_batch=256, sample_batches="1024,2048", dpo_pairs="8,64"
    ),
}

#: The paper's workload (Sections 3-4, Appendix A): SFT examples x epochs, DPO pairs (1,250 chosen x k 100)
#: x 1 epoch, and samples per model and stage.
PAPER = {"sft_examples": 54_648, "sft_epochs": 5, "dpo_pairs": 125_000, "dpo_epochs": 1, "samples": 5_000}

FIGURES: dict = {}
JSON_PATH: list[str] = []  # where figures are rewritten after every measurement (a killed run keeps them)


def save() -> None:
    if JSON_PATH:
        with open(JSON_PATH[0], "w", encoding="utf-8") as handle:
            json.dump(FIGURES, handle, indent=1, default=str)


def figure(phase: str, name: str, value) -> None:
    FIGURES.setdefault(phase, {})[name] = value
    save()
    print(
        f"figure {phase} {name} {value:.6g}" if isinstance(value, float) else f"figure {phase} {name} {value}",
        flush=True,
    )


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_memory(device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")


def build_model(size: str, device, dtype):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(max_position_embeddings=2048, pad_token_id=0, bos_token_id=1, eos_token_id=2, **SIZES[size])
    config._attn_implementation = "sdpa"
    start = time.perf_counter()
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # built where it runs: no CPU initialisation of 8B weights
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model = get_peft_model(
        model,
        LoraConfig(
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules=list(LORA["target_modules"]),
            task_type="CAUSAL_LM",
        ),
    )
    # LoRA B starts at zero; a little noise makes the adapter (and its gradients) non-trivial
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.02)
    sync(device)
    figure("build", "seconds", time.perf_counter() - start)
    figure("build", "parameters_B", sum(p.numel() for p in model.parameters()) / 1e9)
    figure("build", "trainable_M", sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6)
    return model


class Batches:
    """One shared prompt and per-row completions of 24-36 tokens, seeded."""

    def __init__(self, vocab: int, prompt_tokens: int, device, seed: int = 0):
        self.generator = torch.Generator().manual_seed(seed)
        self.vocab, self.device = vocab, device
        self.prompt = torch.randint(3, vocab, (prompt_tokens,), generator=self.generator)

    def completions(self, batch: int):
        lengths = torch.randint(24, 37, (batch,), generator=self.generator)
        ids = torch.randint(3, self.vocab, (batch, int(lengths.max())), generator=self.generator)
        ids[:, -1] = 2  # rows of the longest length end in EOS, like a collated completion
        mask = (torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).long()
        ids = ids * mask  # pad id 0
        return self.prompt.to(self.device), ids.to(self.device), mask.to(self.device)

    @staticmethod
    def plain(prompt, ids, mask):
        """input_ids, attention_mask, labels of prompt + completion rows (right-padded)."""
        batch = ids.shape[0]
        input_ids = torch.cat([prompt.unsqueeze(0).expand(batch, -1), ids], dim=1)
        attention = torch.cat([torch.ones(batch, prompt.numel(), dtype=mask.dtype, device=mask.device), mask], dim=1)
        labels = input_ids.masked_fill(attention == 0, -100)
        labels[:, : prompt.numel()] = -100
        return input_ids, attention, labels


def plain_loss(model, prompt, ids, mask):
    input_ids, attention, labels = Batches.plain(prompt, ids, mask)
    return model(input_ids=input_ids, attention_mask=attention, labels=labels).loss


def project_loss(model, prompt, ids, mask):
    return shared_losses.sft_loss(model, prompt, ids, mask)


def with_setting(module, name: str, value: str, fn):
    """``fn`` run with the module setting ``module.<name>`` (``prefix_attention.KERNEL``: "sdpa" or "manual";
    ``prompt_sampler.SAMPLER``: "multinomial" or "race") set to ``value``, restored afterwards."""

    def run(*args):
        saved = getattr(module, name)
        setattr(module, name, value)
        try:
            return fn(*args)
        finally:
            setattr(module, name, saved)

    return run


def apply_liger(model) -> str:
    """Liger's fused RMSNorm, SwiGLU and RoPE kernels patched into this model instance (CUDA, if installed)."""
    from liger_kernel.transformers import apply_liger_kernel_to_llama

    apply_liger_kernel_to_llama(
        rope=True,
        rms_norm=True,
        swiglu=True,
        cross_entropy=False,
        fused_linear_cross_entropy=False,
        model=causal_lm.causal_lm_of(model),
    )
    import liger_kernel

    return getattr(liger_kernel, "__version__", "installed")


def profile_phase(model, batches, batch, new_tokens, device, path):
    """Top CUDA kernels of one project SFT step and of a few decode steps (torch.profiler), written to ``path``."""
    from torch.profiler import ProfilerActivity, profile

    lines = []
    prompt, ids, mask = batches.completions(batch)
    model.train()
    project_loss(model, prompt, ids, mask).backward()
    model.zero_grad(set_to_none=True)
    sync(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        project_loss(model, prompt, ids, mask).backward()
        sync(device)
    model.zero_grad(set_to_none=True)
    lines.append(f"== project SFT step, batch {batch}")
    lines.append(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25))
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        prompt_sampler.sample_completions(
            model, batches.prompt.to(device), n=batch * 4, batch_size=batch * 4, max_new_tokens=new_tokens, seed=0
        )
        sync(device)
    lines.append(f"== project sampling, batch {batch * 4}, {new_tokens} tokens")
    lines.append(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25))
    text = "\n".join(lines)
    print(text, flush=True)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 1.0


def dpo_loss(shared: bool):
    """DPO (beta 0.5) on pairs made of the batch's two halves: policy = adapter on, reference = adapter off."""

    def loss_fn(model, prompt, ids, mask):
        half = ids.shape[0] // 2
        pieces = (prompt, ids[:half], mask[:half], ids[half:], mask[half:])
        policy = shared_logps.pair_logps(model, *pieces, shared=shared)
        with torch.no_grad(), model.disable_adapter():
            reference = shared_logps.pair_logps(model, *pieces, shared=shared)
        return shared_losses.dpo_sigmoid_loss(*policy, *reference, beta=0.5).mean()

    return loss_fn


def train_phase(name, model, loss_fn, batches, batch, steps, warmup, device):
    """Time ``steps`` optimizer steps (after ``warmup``); returns examples/s (DPO: rows = 2 x pairs)."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    model.train()
    data = [batches.completions(batch) for _ in range(warmup + steps)]
    reset_memory(device)
    losses = []
    for index, (prompt, ids, mask) in enumerate(data):
        if index == warmup:
            sync(device)
            start = time.perf_counter()
        loss = loss_fn(model, prompt, ids, mask)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    sync(device)
    seconds = time.perf_counter() - start
    tokens = sum(prompt.numel() * ids.shape[0] + int(mask.sum()) for prompt, ids, mask in data[warmup:])
    tag = f"{name}_b{batch}"
    figure(tag, "batch", batch)
    figure(tag, "examples_per_s", batch * steps / seconds)
    figure(tag, "tokens_per_s", tokens / seconds)
    figure(tag, "s_per_step", seconds / steps)
    figure(tag, "peak_GiB", peak_gib(device))
    figure(tag, "last_loss", float(losses[-1]))
    del optimizer
    return batch * steps / seconds


def loss_check(model, batches, batch, device):
    model.eval()
    prompt, ids, mask = batches.completions(batch)
    with torch.no_grad():
        plain = float(plain_loss(model, prompt, ids, mask))
        project = float(project_loss(model, prompt, ids, mask))
    figure("loss_check", "plain", plain)
    figure("loss_check", "project", project)
    figure("loss_check", "relative_difference", abs(plain - project) / abs(plain))
    model.train()


def generate_phase(model, batches, batch, new_tokens, device):
    model.eval()
    prompt = batches.prompt.to(device)
    input_ids = prompt.unsqueeze(0).expand(batch, -1).contiguous()
    attention = torch.ones_like(input_ids)
    kwargs = dict(
        do_sample=True,
        temperature=1.0,
        top_p=1.0,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        pad_token_id=0,
        eos_token_id=2,
    )
    with torch.no_grad():
        model.generate(
            input_ids=input_ids[:2],
            attention_mask=attention[:2],
            **{**kwargs, "max_new_tokens": 2, "min_new_tokens": 2},
        )
        reset_memory(device)
        sync(device)
        start = time.perf_counter()
        output = model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        sync(device)
    seconds = time.perf_counter() - start
    tag = f"plain_generate_b{batch}"
    figure(tag, "samples_per_s", batch / seconds)
    figure(tag, "new_tokens_per_s", (output.shape[1] - prompt.numel()) * batch / seconds)
    figure(tag, "peak_GiB", peak_gib(device))
    return batch / seconds


def sample_phase(model, batches, batch, new_tokens, device):
    prompt = batches.prompt.to(device)
    prompt_sampler.sample_completions(model, prompt, n=2, batch_size=2, max_new_tokens=2, seed=1)
    reset_memory(device)
    sync(device)
    start = time.perf_counter()
    # min length as in the plain phase: EOS (id 2) is not a stop here, so every row writes new_tokens
    rows = prompt_sampler.sample_completions(
        model, prompt, n=batch, batch_size=batch, max_new_tokens=new_tokens, temperature=1.0, eos_token_id=None, seed=0
    )
    sync(device)
    seconds = time.perf_counter() - start
    tag = f"project_sample_{prompt_sampler.SAMPLER}_b{batch}"
    figure(tag, "samples_per_s", batch / seconds)
    figure(tag, "new_tokens_per_s", sum(len(r) for r in rows) / seconds)
    figure(tag, "peak_GiB", peak_gib(device))
    return batch / seconds


def guarded(label, fn, *args):
    """Run one phase; an error (out-of-memory or other) is printed and recorded, not raised."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - one phase's failure must not lose the others' figures
        kind = "oom" if is_oom(exc) else type(exc).__name__
        FIGURES.setdefault("errors", {})[label] = f"{kind}: {str(exc)[:300]}"
        print(f"error {label} {kind}: {str(exc)[:300]}", flush=True)
        save()
        if not is_oom(exc):
            traceback.print_exc()
        return None
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def estimate_paper_times() -> None:
    """Wall time of the paper's SFT and DPO (hours) and of one sampling round (minutes) at the measured rates.

    SFT: examples x epochs / examples/s; DPO: pairs x epochs / pairs/s; sampling: samples / samples/s.
    Training-loop overheads (data loading, logging, evaluation) are not included.
    """
    rates = {
        "sft": ("plain_sft", "project_sft", "examples_per_s", PAPER["sft_examples"] * PAPER["sft_epochs"]),
        "dpo": ("plain_dpo", "project_dpo", "pairs_per_s", PAPER["dpo_pairs"] * PAPER["dpo_epochs"]),
    }
    for stage, (plain, project, key, work) in rates.items():
        for path, phase in (("plain", plain), ("project", project)):
            rate = FIGURES.get(phase, {}).get(key)
            if rate:
                figure("paper_estimate", f"{stage}_{path}_hours", work / rate / 3600)
    for path, phase in (("plain", "plain_generate"), ("project", "project_sample")):
        rate = FIGURES.get(phase, {}).get("samples_per_s")
        if rate:
            figure("paper_estimate", f"sampling_{path}_minutes", PAPER["samples"] / rate / 60)


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps per batch size")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=160)
    parser.add_argument("--new-tokens", type=int, default=40, help="tokens sampled per completion")
    parser.add_argument("--plain-batch", type=int)
    parser.add_argument("--project-batches", help="comma-separated batch sizes, ascending")
    parser.add_argument("--dpo-pairs", help="plain,project DPO batch sizes in pairs")
    parser.add_argument("--generate-batch", type=int)
    parser.add_argument("--sample-batches", help="comma-separated batch sizes for the project's sampler")
    parser.add_argument(
        "--dtype", choices=("auto", "bf16", "fp32"), default="auto", help="auto: bf16 on CUDA, fp32 on CPU"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (CPU runs only)")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to skip: loss_check,plain_sft,project_sft,dpo,plain_generate,project_sample",
    )
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument(
        "--kernels",
        default="sdpa,manual",
        help="shared-prefix attention kernels: the first runs the batch sweep, the others the largest batch that fit",
    )
    parser.add_argument("--samplers", default="multinomial,race", help="token-drawing rules: the first runs the sweep")
    parser.add_argument("--liger", action="store_true", help="also time the project path with Liger kernels")
    parser.add_argument("--profile", help="write torch.profiler tables of one SFT step and of sampling here")
    args = parser.parse_args(argv)
    defaults = DEFAULTS[args.size]
    plain_batch = args.plain_batch or defaults["plain_batch"]
    project_batches = ints(args.project_batches or defaults["project_batches"])
    generate_batch = args.generate_batch or defaults["generate_batch"]
    sample_batches = ints(args.sample_batches or defaults["sample_batches"])
    skip = set(args.skip.split(","))
    if args.json:
        JSON_PATH.append(args.json)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}.get(
        args.dtype, torch.bfloat16 if device.type == "cuda" else torch.float32
    )
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    FIGURES["setup"] = {
        "size": args.size,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "dtype": str(dtype),
        "torch": torch.__version__,
        "prompt_tokens": args.prompt_tokens,
        "completion_tokens": "24-36",
        "lora": {**LORA, "target_modules": list(LORA["target_modules"])},
    }
    print("setup", json.dumps(FIGURES["setup"]), flush=True)
    model = build_model(args.size, device, dtype)
    batches = Batches(SIZES[args.size]["vocab_size"], args.prompt_tokens, device)

    if "loss_check" not in skip:
        guarded("loss_check", loss_check, model, batches, min(8, plain_batch), device)
    plain = None
    if "plain_sft" not in skip:
        batch = plain_batch
        while batch >= 1 and plain is None:
            plain = guarded(
                f"plain_sft_b{batch}",
                train_phase,
                "plain_sft",
                model,
                plain_loss,
                batches,
                batch,
                args.steps,
                args.warmup,
                device,
            )
            if (
                plain is None
                and f"plain_sft_b{batch}" in FIGURES.get("errors", {})
                and FIGURES["errors"][f"plain_sft_b{batch}"].startswith("oom")
            ):
                batch //= 2  # fall back to a batch that fits
            else:
                break
        if plain is not None:
            figure("plain_sft", "examples_per_s", plain)
    best = None
    kernels = [k for k in args.kernels.split(",") if k]
    if "project_sft" not in skip:
        best_batch = None
        for batch in project_batches:
            result = guarded(
                f"project_sft_{kernels[0]}_b{batch}",
                train_phase,
                f"project_sft_{kernels[0]}",
                model,
                with_setting(prefix_attention, "KERNEL", kernels[0], project_loss),
                batches,
                batch,
                args.steps,
                args.warmup,
                device,
            )
            if result is None:
                break
            if best is None or result > best:
                best, best_batch = result, batch
        for kernel in kernels[1:]:
            if best_batch is None:
                break
            result = guarded(
                f"project_sft_{kernel}_b{best_batch}",
                train_phase,
                f"project_sft_{kernel}",
                model,
                with_setting(prefix_attention, "KERNEL", kernel, project_loss),
                batches,
                best_batch,
                args.steps,
                args.warmup,
                device,
            )
            if result is not None and result > best:
                best = result
        if args.liger and best_batch is not None and device.type == "cuda":
            version = guarded("liger_patch", apply_liger, model)
            if version is not None:
                figure("liger", "version", version)
                result = guarded(
                    f"project_sft_liger_b{best_batch}",
                    train_phase,
                    f"project_sft_{kernels[0]}_liger",
                    model,
                    with_setting(prefix_attention, "KERNEL", kernels[0], project_loss),
                    batches,
                    best_batch,
                    args.steps,
                    args.warmup,
                    device,
                )
                if result is not None and result > best:
                    best = result
        if best is not None:
            figure("project_sft", "examples_per_s", best)
    if "dpo" not in skip:
        plain_pairs, project_pairs = ints(args.dpo_pairs or defaults["dpo_pairs"])
        for label, shared, pairs in (("plain_dpo", False, plain_pairs), ("project_dpo", True, project_pairs)):
            rows = guarded(
                f"{label}_b{pairs}",
                train_phase,
                label,
                model,
                dpo_loss(shared),
                batches,
                2 * pairs,
                args.steps,
                args.warmup,
                device,
            )
            if rows is not None:
                figure(label, "pairs_per_s", rows / 2)
    if "plain_generate" not in skip:
        result = guarded(
            f"plain_generate_b{generate_batch}", generate_phase, model, batches, generate_batch, args.new_tokens, device
        )
        if result is None and generate_batch > 1:
            result = guarded(
                f"plain_generate_b{generate_batch // 2}",
                generate_phase,
                model,
                batches,
                generate_batch // 2,
                args.new_tokens,
                device,
            )
        if result is not None:
            figure("plain_generate", "samples_per_s", result)
    if "project_sample" not in skip:
        sample_best = None
        samplers = [k for k in args.samplers.split(",") if k]
        for batch in sample_batches:
            result = guarded(
                f"project_sample_{samplers[0]}_b{batch}",
                with_setting(prompt_sampler, "SAMPLER", samplers[0], sample_phase),
                model,
                batches,
                batch,
                args.new_tokens,
                device,
            )
            if result is None:
                break
            sample_best = max(sample_best or 0.0, result)
        for sampler in samplers[1:]:
            guarded(
                f"project_sample_{sampler}_b{sample_batches[0]}",
                with_setting(prompt_sampler, "SAMPLER", sampler, sample_phase),
                model,
                batches,
                sample_batches[0],
                args.new_tokens,
                device,
            )
        if sample_best is not None:
            figure("project_sample", "samples_per_s", sample_best)
    if args.profile:
        guarded("profile", profile_phase, model, batches, 256, args.new_tokens, device, args.profile)
    estimate_paper_times()
    speedup = best / plain if best and plain else math.nan
    FIGURES["speedup"] = speedup
    save()
    print(f"speedup {speedup:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
