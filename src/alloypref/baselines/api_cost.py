"""What an ``api`` baseline costs in requests, from the logic of :mod:`api_run` and :mod:`agent`.

* one_shot, few_shot, prompt_tuned: one request per sample, ``n`` in all (prompt_tuned adds DSPy's
  tuning requests, which DSPy makes and counts itself);
* agents: a loop makes up to ``max_generations`` generator calls, each judged (an LLM request for
  ``agent_llm_judge``, a CALPHAD calculation for ``agent_calphad_judge``) when it parses. With every
  generation parsing and the evaluator accepting each with probability ``p``, a loop makes
  ``(1 - (1-p)^G) / p`` generations on average and succeeds with probability ``1 - (1-p)^G``, so an
  accepted triple costs ``1/p`` generations (and as many judgements) on average. At least ``n``
  generations (``p = 1``); at most ``max_loops * G`` (every loop scrapped; ``max_loops`` is ``20 n``
  unless set). Loops run ``concurrency`` at a time, so the last batch may add up to ``concurrency - 1``
  loops beyond the n-th acceptance.

``python -m alloypref.baselines.api_cost`` prints the table for the paper's sample counts.
"""

from __future__ import annotations

import sys

from alloypref.baselines.api_config import AGENT_METHODS, ApiSettings


def request_budget(settings: ApiSettings, accept_rate: float = 0.5) -> dict:
    """LLM requests and CALPHAD calls: minimum, expected at ``accept_rate``, maximum."""
    n = settings.n
    if settings.method not in AGENT_METHODS:
        return {
            "llm_min": n,
            "llm_expected": n,
            "llm_max": n,
            "calphad_min": 0,
            "calphad_expected": 0,
            "calphad_max": 0,
        }
    if not 0 < accept_rate <= 1:
        raise ValueError(f"accept_rate {accept_rate} is not within (0, 1]")
    loops = settings.max_loops if settings.max_loops is not None else 20 * n
    generations = (n, n / accept_rate, loops * settings.max_generations)
    llm_judge = AGENT_METHODS[settings.method] == "llm_judge"
    per_generation_llm = 2 if llm_judge else 1
    budget = {f"llm_{k}": per_generation_llm * g for k, g in zip(("min", "expected", "max"), generations)}
    budget.update({f"calphad_{k}": 0 if llm_judge else g for k, g in zip(("min", "expected", "max"), generations)})
    return budget


def paper_table(accept_rate: float = 0.5) -> str:
    """Markdown: requests for Table 1's API rows at 1000 samples each (Section 5.1, Appendix A.1.4)."""
    rows = [
        ("few-shot GPT-4.1, o3, Gemini-2.5 (3 models)", "few_shot", 3),
        ("one-shot, per model", "one_shot", 1),
        ("prompt-tuned Gemini-2.5 (sampling only)", "prompt_tuned", 1),
        ("agentic, LLM judge, per model", "agent_llm_judge", 1),
        ("agentic, CALPHAD judge, per model", "agent_calphad_judge", 1),
    ]
    lines = [
        f"| source | LLM requests: min | expected (judge accepts {accept_rate:.0%}) | max | CALPHAD calls: expected |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, method, models in rows:
        name = {"agent_llm_judge": "x_llm_judge", "agent_calphad_judge": "x_calphad_judge"}.get(method, "x")
        b = request_budget(
            ApiSettings.from_config(name, {"base_url": "-", "model": "-", "method": method, "n": 1000}), accept_rate
        )
        lines.append(
            f"| {label} | {models * b['llm_min']:,.0f} | {models * b['llm_expected']:,.0f} | {models * b['llm_max']:,.0f} "
            f"| {models * b['calphad_expected']:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(paper_table(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5))
