"""One ``api`` baseline from settings to a samples table (``alloypref.completion.parsing.SAMPLES_SCHEMA``).

* ``one_shot`` / ``few_shot`` / ``prompt_tuned``: ``n`` requests of the same prompt (sample keys
  ``sample00000`` ...; ``prompt_tuned`` and ``uuid_suffix: true`` append a seeded UUID per request);
  every answer is kept and parsed, whatever its status (unparseable and malformed answers count against the parse
  rate as a model's do);
* ``agent_llm_judge`` / ``agent_calphad_judge``: the accepted triples of :mod:`alloypref.baselines.agent`.

Rows: ``candidate_id`` ``{name}-{method}-{index:05d}``, ``model`` the source name, ``stage`` the method.
The report (JSON) has the counts a bill is made of: requests sent this run and answered from the log,
LLM and CALPHAD calls of the method; it never holds the API key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from alloypref.baselines import prompts
from alloypref.baselines.agent import AgentCounts, calphad_judge, llm_judge, run_agent
from alloypref.baselines.api_client import ChatClient
from alloypref.baselines.api_config import AGENT_METHODS, ApiSettings
from alloypref.completion.parsing import parse_samples

log = logging.getLogger(__name__)


def base_prompt(
    settings: ApiSettings, exemplar_rewards: pd.DataFrame, elements: list[str], seed: int, known: tuple | None
) -> str:
    """The Fig. 5 (one-shot) or Fig. 6 (every other method) prompt for this source."""
    if settings.method == "one_shot":
        return prompts.one_shot_prompt(elements, prompts.one_shot_exemplar(exemplar_rewards, seed), known)
    good, bad = prompts.few_shot_exemplars(exemplar_rewards, settings.n_good, settings.n_bad)
    return prompts.few_shot_prompt(elements, good, bad, known)


def run_api_baseline(
    settings: ApiSettings,
    exemplar_rewards: pd.DataFrame,
    elements: Iterable[str],
    log_path: str | Path,
    seed: int,
    known: tuple | None = None,
    score: Callable[[str, str, float], dict] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """(samples table, report). ``score`` is the CALPHAD scorer an ``agent_calphad_judge`` needs."""
    elements = list(elements)
    client = ChatClient(settings, log_path, seed)
    prompt = base_prompt(settings, exemplar_rewards, elements, seed, known)
    counts = AgentCounts()
    if settings.method == "prompt_tuned":
        from alloypref.baselines.prompt_tuning import tuned_prompt

        prompt = tuned_prompt(settings, prompt, elements, Path(log_path).parent, seed)
    if settings.method in AGENT_METHODS:
        if AGENT_METHODS[settings.method] == "calphad_judge":
            if score is None:
                raise ValueError(f"{settings.name}: agent_calphad_judge needs a CALPHAD scorer")
            judge = calphad_judge(score)
        else:
            judge = llm_judge(client, elements, settings.judge_model, settings.judge_temperature)
        texts, counts = run_agent(
            client, prompt, elements, judge, settings.n, settings.max_generations, settings.max_loops, progress
        )
        if len(texts) < settings.n:
            log.warning(
                "%s: only %d of %d triples accepted in %d loops", settings.name, len(texts), settings.n, counts.loops
            )
        request_prompts = [prompt] * len(texts)
    else:
        request_prompts = [
            prompt + ("\n" + prompts.uuid_suffix(seed, i) if settings.use_uuid else "") for i in range(settings.n)
        ]
        jobs = [([{"role": "user", "content": p}], f"sample{i:05d}") for i, p in enumerate(request_prompts)]
        texts = client.map(jobs, progress)
        counts.generator_calls = len(texts)
    samples = parse_samples(texts, settings.name, settings.method, prompt, elements)
    samples["prompt"] = request_prompts
    report = {
        "source": settings.name,
        "method": settings.method,
        "base_url": settings.base_url,
        "model": settings.model,
        "n_requested": settings.n,
        "samples": len(samples),
        "statuses": samples["status"].value_counts().to_dict(),
        "requests_sent": client.sent,
        "requests_from_log": client.from_log,
        **counts.as_dict(),
    }
    return samples, report
