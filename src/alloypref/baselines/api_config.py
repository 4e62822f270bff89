"""Settings of one ``baselines.api.<name>`` entry: endpoint, model, sampling and agent limits.

The API key never appears in config: ``api_key_env`` names the environment variable that holds it
(null for local servers that need none). Times in seconds, rates in requests per minute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

# method -> what the source does (Appendix A.1.2-A.1.4)
METHODS = {
    "one_shot": "one exemplar drawn at random from the SFT model's parsed samples (Fig. 5)",
    "few_shot": "the SFT model's top and bottom samples by reward as good and bad exemplars (Fig. 6)",
    "prompt_tuned": "the few-shot prompt tuned with DSPy MIPROv2 for distinct design-space elements, UUID-suffixed",
    "agent_llm_judge": "generator/evaluator loop, the evaluator an LLM judge (Fig. 7)",
    "agent_calphad_judge": "generator/evaluator loop, the evaluator the CALPHAD reward rules",
}
AGENT_METHODS = {"agent_llm_judge": "llm_judge", "agent_calphad_judge": "calphad_judge"}


class ApiConfigError(ValueError):
    """A bad ``baselines.api`` entry; the message names the key."""


@dataclass(frozen=True)
class ApiSettings:
    name: str
    base_url: str
    model: str
    method: str
    n: int
    api_key_env: str | None = None
    temperature: float = 1.0
    max_tokens: int | None = 200  # None: not sent (reasoning models such as o3 refuse the field)
    concurrency: int = 4
    requests_per_minute: float | None = None
    timeout_s: float = 60.0
    max_retries: int = 5
    send_seed: bool = True  # send a per-request seed (servers that reject the field: set false)
    exemplars_from: str | None = None  # scored source giving exemplars; None: the first model's SFT samples
    n_good: int = 10
    n_bad: int = 10
    known_lists: bool = False  # add Figs. 5-6's optional "Known BCC / Known B2" lines
    uuid_suffix: bool | None = None  # None: on for prompt_tuned only (A.1.3)
    max_generations: int = 5  # agent: generations per loop before it is scrapped and restarted
    max_loops: int | None = None  # agent: loops before giving up; None: 20 * n
    judge_model: str | None = None  # agent_llm_judge: None means the generator's model
    judge_temperature: float = 0.0  # agent_llm_judge (reasoning models such as o3 accept only 1)
    tuning_trials: int | None = None  # prompt_tuned: MIPROv2 trials; None: its "medium" preset

    @classmethod
    def from_config(cls, name: str, entry: dict) -> ApiSettings:
        known = {f.name for f in fields(cls)} - {"name"}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ApiConfigError(f"baselines.api.{name}: unknown keys {unknown}")
        for key in ("base_url", "model", "method", "n"):
            if key not in entry:
                raise ApiConfigError(f"baselines.api.{name}.{key} is required")
        if entry["method"] not in METHODS:
            raise ApiConfigError(f"baselines.api.{name}.method: {entry['method']!r} is not one of {sorted(METHODS)}")
        judge = AGENT_METHODS.get(entry["method"])
        other = {"llm_judge": "calphad_judge", "calphad_judge": "llm_judge"}
        if judge and (not name.endswith(judge) or name.endswith(other[judge])):
            raise ApiConfigError(
                f"baselines.api.{name}: an {entry['method']} source's name must end in '{judge}' so tables say which judge it had"
            )
        return cls(name=name, **entry)

    @property
    def use_uuid(self) -> bool:
        return self.method == "prompt_tuned" if self.uuid_suffix is None else self.uuid_suffix

    def api_key(self) -> str:
        """The key from the environment variable ``api_key_env`` (a placeholder when none is named)."""
        if not self.api_key_env:
            return "none"  # local vLLM / Ollama servers ignore the key, but the client needs one
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ApiConfigError(
                f"baselines.api.{self.name}.api_key_env: environment variable {self.api_key_env} is not set"
            )
        return key
