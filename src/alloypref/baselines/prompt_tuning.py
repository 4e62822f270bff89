"""Prompt tuning of the few-shot prompt with DSPy's MIPROv2 (Appendix A.1.3); DSPy is optional.

The program is one ``dspy.Predict`` whose instructions start as the few-shot prompt (Fig. 6); its
input is a request id (a UUID) and its output the tagged triple. MIPROv2 ("medium" preset, or
``tuning_trials`` trials) proposes instructions and demonstrations and keeps those whose answers score
highest on the metric: the number of distinct design-space elements in the triple (0 when it does not
parse), the paper's diversity target.

The tuned prompt (instructions and demonstrations as text) is saved as JSON keyed by a hash of what
made it (base prompt, endpoint, model, seed, trials), so a rerun does not tune again. Sampling from it
then goes through :class:`~alloypref.baselines.api_client.ChatClient` like every other method, each
request with its own UUID suffix (the paper's trick: the tuned prompt alone gave one triple at
temperature 1). DSPy's own tuning requests go through DSPy (LiteLLM), not the request log.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from alloypref.baselines.api_client import REDACTED, request_key
from alloypref.baselines.api_config import ApiSettings
from alloypref.baselines.prompts import uuid_suffix
from alloypref.completion.parsing import parse_generation
from alloypref.composition import FormulaError, parse_formula

log = logging.getLogger(__name__)

DSPY_MISSING = (
    "the prompt_tuned method needs DSPy, which is not installed: pip install 'alloypref[dspy]' "
    "(or remove the prompt_tuned entry from baselines.api)"
)


class DspyMissing(RuntimeError):
    pass


def require_dspy():
    try:
        import dspy
        import optuna  # noqa: F401 - MIPROv2's search; an extra of DSPy's
    except ImportError as exc:
        raise DspyMissing(DSPY_MISSING) from exc
    return dspy


def distinct_elements(text: str, elements: list[str]) -> int:
    """The tuning metric: distinct design-space elements in a tagged triple (0 unless it parses)."""
    parsed = parse_generation(text, elements)
    if parsed["status"] != "ok":
        return 0
    try:
        return len(set(parse_formula(parsed["bcc"])) | set(parse_formula(parsed["b2"])))
    except FormulaError:
        return 0


def tuned_prompt(settings: ApiSettings, base_prompt: str, elements: list[str], cache_dir: str | Path, seed: int) -> str:
    """The MIPROv2-tuned prompt text (from ``cache_dir`` when this exact tuning ran before)."""
    made_of = {
        "prompt": base_prompt,
        "base_url": settings.base_url,
        "model": settings.model,
        "seed": seed,
        "trials": settings.tuning_trials,
        "temperature": settings.temperature,
    }
    path = Path(cache_dir) / f"{settings.name}.tuned-{request_key(made_of)[:16]}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))["prompt"]
    dspy = require_dspy()
    lm = dspy.LM(
        f"openai/{settings.model}",
        api_base=settings.base_url,
        api_key=settings.api_key(),
        temperature=settings.temperature,
        num_retries=settings.max_retries,
        **({"max_tokens": settings.max_tokens} if settings.max_tokens is not None else {}),
    )
    dspy.configure(lm=lm)
    # "inputs -> outputs" plus instructions: the documented way to build a signature at run time
    signature = dspy.Signature("request_id -> generation", base_prompt)
    program = dspy.Predict(signature)
    # 50 request ids: MIPROv2 keeps 80 % for validation, which must cover its minibatch of 35
    trainset = [
        dspy.Example(request_id=uuid_suffix(seed, 1_000_000_000 + i)).with_inputs("request_id") for i in range(50)
    ]

    def metric(example, prediction, trace=None):
        return distinct_elements(prediction.generation, elements)

    options = {"auto": None, "num_candidates": 7} if settings.tuning_trials else {"auto": "medium"}
    optimizer = dspy.MIPROv2(metric=metric, seed=seed, **options)
    compile_options = {"num_trials": settings.tuning_trials} if settings.tuning_trials else {}
    compiled = optimizer.compile(program, trainset=trainset, **compile_options)
    demos = [getattr(demo, "generation", "") for demo in getattr(compiled, "demos", [])]
    demo_text = "\n\n".join(d for d in demos if d)
    prompt = compiled.signature.instructions + (f"\n\nExamples:\n\n{demo_text}" if demo_text else "")
    if settings.api_key_env:  # the tuned text is model output: a server may have echoed the key into it
        prompt = prompt.replace(settings.api_key(), REDACTED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"made_of": made_of, "prompt": prompt}, indent=2), encoding="utf-8")
    log.info("%s: tuned prompt saved to %s", settings.name, path)
    return prompt
