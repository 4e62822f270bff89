"""A tokenizer made for alloy formulas that also encodes the prompt's prose.

A BPE model whose pre-tokenizer keeps element symbols (``Nb``), single digits, the decimal point
and the tags atomic, so ``Ti2Nb2Mo`` is always ``Ti 2 Nb 2 Mo`` and numbers are read digit by digit.
Prose words stay whole pieces that BPE merges as usual. ``<pad>``, ``<s>``, ``</s>`` and ``<unk>``
are special tokens; the tags ``<BCC>`` … ``</B2 Volume>`` are ordinary added tokens (not special),
so decoding with ``skip_special_tokens=True`` keeps them. The result is saved and reloaded as a
normal Hugging Face tokenizer (``AutoTokenizer.from_pretrained``).
"""

from __future__ import annotations

from collections.abc import Iterable

from alloypref.completion.grammar import TAGS

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

# Order matters: prose words (a capital or small letter and at least two small letters) before
# element symbols, so "Alloy" stays a word while "MnAl2Fe" splits into Mn, Al, 2, Fe.
PRE_TOKEN_PATTERN = r"[A-Za-z][a-z]{2,}|[A-Z][a-z]?|[a-z]+|[0-9]|\s+|[^A-Za-z0-9\s]"


def build_formula_tokenizer(corpus: Iterable[str], vocab_size: int = 512):
    """Train the formula BPE on ``corpus`` and wrap it as a ``PreTrainedTokenizerFast``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(PRE_TOKEN_PATTERN), behavior="isolated")
    tokenizer.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        # every printable ASCII character, so no formula a model writes becomes <unk>
        initial_alphabet=[chr(c) for c in range(32, 127)] + ["\n"],
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    # Tags are added after training so the trainer cannot renumber them; they are not special.
    tokenizer.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAGS])
    # Generation pads prompts on the left.
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, padding_side="left", **SPECIAL_TOKENS)


def ensure_special_tokens(tokenizer) -> int:
    """Add the pad/bos/eos/unk specials a pretrained tokenizer lacks; returns how many were added
    (the caller resizes the model's embeddings).

    The tags are not added: a pretrained model reads ``<BCC>`` as the text it is (``<``, ``B``,
    ``CC``, ``>``), as the paper's models did. An added tag would get an embedding row that LoRA
    does not train and a LoRA adapter does not save, so the model could barely learn to write it.
    """
    missing = {key: value for key, value in SPECIAL_TOKENS.items() if getattr(tokenizer, key, None) is None}
    return tokenizer.add_special_tokens(missing) if missing else 0
