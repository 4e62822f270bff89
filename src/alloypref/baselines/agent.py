"""The generator/evaluator agent of Appendix A.1.4 (Fig. 7), on any OpenAI-compatible endpoint.

A loop starts from the few-shot prompt; the generator's triple is parsed (the samples' parser), and
a triple that parses is sent to the evaluator. An unparseable triple gets the parser's reason as its
feedback without asking the evaluator (it has nothing to judge). A rejected triple's feedback goes back to
the generator, which regenerates in the same conversation; after ``max_generations`` rejected
generations the loop is scrapped and a new one starts. Loops run until ``n`` triples are accepted
(or ``max_loops`` loops have run); loop k's requests carry sample keys ``loop{k}/gen{g}`` so a resumed
run replays every loop from the request log.

Evaluators:

* ``llm_judge`` — the endpoint's model (or ``judge_model``) answers ``Valid`` or ``Invalid: reason``
  to the prompt ``judge.txt`` (at ``judge_temperature``, 0 unless set);
* ``calphad_judge`` — the CALPHAD reward itself: accepted when BCC and B2 coexist at some
  temperature, BCC forms first on cooling and B2 persists at the lowest temperature (the three
  gating rules of Eq. 1); the failed rules are the feedback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from alloypref.baselines.api_client import ChatClient
from alloypref.baselines.prompts import judge_prompt, regenerate_prompt
from alloypref.completion.parsing import parse_generation

# (text, parsed triple, sample key) -> (accepted, feedback)
Judge = Callable[[str, dict, str], tuple[bool, str]]


@dataclass
class AgentCounts:
    """What the agent spent: loops run and scrapped, generator and judge LLM calls, CALPHAD calls."""

    loops: int = 0
    scrapped: int = 0
    generator_calls: int = 0
    judge_llm_calls: int = 0
    calphad_calls: int = 0
    accepted: int = 0

    @property
    def llm_calls(self) -> int:
        return self.generator_calls + self.judge_llm_calls

    def as_dict(self) -> dict:
        return {**self.__dict__, "llm_calls": self.llm_calls}


@dataclass
class _Loop:
    text: str | None = None  # the accepted triple, None when scrapped
    generations: int = 0
    judge_llm_calls: int = 0
    calphad_calls: int = 0
    feedback: list[str] = field(default_factory=list)


def parse_verdict(answer: str) -> tuple[bool, str]:
    """(accepted, reason) of an LLM judge's answer: ``Valid`` or ``Invalid: reason``."""
    text = answer.strip()
    word = text.split(None, 1)[0].strip(".:,*").lower() if text else ""
    if word == "valid":
        return True, ""
    if word == "invalid":
        reason = text.split(None, 1)[1].lstrip(" :-") if len(text.split(None, 1)) > 1 else ""
        return False, reason or "no reason given"
    return False, f"the evaluator answered neither Valid nor Invalid: {text[:200]!r}"


def llm_judge(client: ChatClient, elements: Iterable[str], model: str | None = None, temperature: float = 0.0) -> Judge:
    system = judge_prompt(elements)

    def judge(text: str, parsed: dict, sample: str) -> tuple[bool, str]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        return parse_verdict(client.complete(messages, f"{sample}/judge", model=model, temperature=temperature))

    judge.kind = "llm"
    return judge


def calphad_judge(score: Callable[[str, str, float], dict]) -> Judge:
    """A judge from ``score(bcc, b2, volume) -> reward row`` (``alloypref.scoring.score_one``'s row).

    Calls are serialised: one CALPHAD backend is not shared between threads.
    """
    lock = threading.Lock()

    def judge(text: str, parsed: dict, sample: str) -> tuple[bool, str]:
        with lock:
            row = score(parsed["bcc"], parsed["b2"], parsed["b2_volume_percent"])
        if row["status"] != "ok":
            return False, f"the thermodynamic calculation failed ({row['reason']})"
        failed = []
        if not row["bcc_b2_exist"]:
            failed.append("BCC and B2 never coexist")
        if not row["bcc_forms_first"]:
            failed.append("the BCC does not form before the B2 on cooling")
        if not row["b2_room_temp"]:
            failed.append("the B2 does not persist to the lowest temperature")
        return (not failed), "; ".join(failed)

    judge.kind = "calphad"
    return judge


def run_loop(
    client: ChatClient, prompt: str, elements: list[str], judge: Judge, index: int, max_generations: int
) -> _Loop:
    result = _Loop()
    messages = [{"role": "user", "content": prompt}]
    for generation in range(max_generations):
        sample = f"loop{index:06d}/gen{generation}"
        text = client.complete(messages, sample)
        result.generations += 1
        parsed = parse_generation(text, elements)
        if parsed["status"] != "ok":
            accepted, feedback = False, f"the generation could not be used ({parsed['status']}: {parsed['reason']})"
        else:
            accepted, feedback = judge(text, parsed, sample)
            if judge.kind == "llm":
                result.judge_llm_calls += 1
            else:
                result.calphad_calls += 1
        if accepted:
            result.text = text
            return result
        result.feedback.append(feedback)
        messages = messages + [
            {"role": "assistant", "content": text},
            {"role": "user", "content": regenerate_prompt(feedback)},
        ]
    return result


def run_agent(
    client: ChatClient,
    prompt: str,
    elements: Iterable[str],
    judge: Judge,
    n: int,
    max_generations: int = 5,
    max_loops: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[str], AgentCounts]:
    """The first ``n`` accepted triples in loop order, and the counts.

    Loops run ``client.settings.concurrency`` at a time, in batches, so the loops run (and so what a
    finished run cost) do not depend on thread timing.
    """
    elements = list(elements)
    limit = max_loops if max_loops is not None else 20 * n
    counts = AgentCounts()
    accepted: list[str] = []
    width = client.settings.concurrency
    with ThreadPoolExecutor(max_workers=width) as pool:
        while len(accepted) < n and counts.loops < limit:
            batch = range(counts.loops, min(limit, counts.loops + width))
            loops = list(pool.map(lambda k: run_loop(client, prompt, elements, judge, k, max_generations), batch))
            for loop in loops:
                counts.loops += 1
                counts.generator_calls += loop.generations
                counts.judge_llm_calls += loop.judge_llm_calls
                counts.calphad_calls += loop.calphad_calls
                if loop.text is None:
                    counts.scrapped += 1
                elif len(accepted) < n:
                    accepted.append(loop.text)
                    if progress:
                        progress(1)
    counts.accepted = len(accepted)
    return accepted, counts
