"""Shared-prompt training and sampling: the prompt is encoded once per batch, not once per row.

Every SFT example and every DPO pair of this pipeline carries the same instruction prompt (~160 tokens
for the paper's template) and a short completion (~30 tokens), so a plain batch spends most of its
compute re-encoding identical prompts. Here:

* the prompt runs through the decoder once, at batch size 1, keeping its keys/values per layer
  (with their autograd history, so LoRA weights at the prompt positions get the same gradients as in
  the plain path: the batch's contributions are summed by autograd instead of by the optimizer);
* the completions of the whole batch then run through the decoder with an attention function that
  attends to the prompt's keys/values (batch 1, never copied over the batch) and to the completion's
  own keys causally, with one softmax over both, which is the same arithmetic as full attention over
  prompt + completion;
* the language-model head and the cross-entropy run only on the positions that predict completion
  tokens, in chunks, each recomputed in the backward pass, so the (tokens x vocabulary) logits of a
  128k vocabulary are never held for the whole batch.

Sampling reuses the same pieces: one prefill of the prompt, then a decode loop in which every row
attends to the one prompt cache; rows stop at EOS.

Modules, each building on the ones before it:

* :mod:`.attention` — the attention function over a batch-1 prefix, registered with transformers;
* :mod:`.causal_lm` — the causal LM inside a (PEFT) model, which models are supported, switches;
* :mod:`.prompt_cache` — the prompt encoded once, completions decoded against it;
* :mod:`.token_stats` — the chunked LM head: per-token log p(label) and statistics;
* :mod:`.logps` — per-token log-probabilities of a batch of completions (shared and plain);
* :mod:`.losses` — SFT and DPO (sigmoid) losses on top of them;
* :mod:`.fused_forward` — TRL's fused log-prob forward routed through the shared prompt;
* :mod:`.sampler` — sampling completions from one prompt cache.

Supported models are decoder-only Hugging Face causal LMs whose attention layers call the
``AttentionInterface`` (Llama, Mistral, Qwen2, OLMo-2, Gemma-2 below its sliding window). The package
needs only torch and transformers (PEFT models are unwrapped by duck typing).
"""
