"""Online reinforcement learning on the CALPHAD reward: GRPO (or RLOO) with TRL, starting from SFT.

The policy samples completions of the SFT prompt; each completion is parsed and scored by the
scorer of :mod:`alloypref.scoring` (the same code, database choice and Eq. 1 flags as the ``score``
rule) in warm solver processes (:class:`alloypref.calphad.worker.SolverWorker`) that keep their
compiled systems between steps and load them from the shared on-disk CALPHAD cache. A master
composition scored once is never scored again within the run (one simulator call each).

Reward shaping. Eq. 1 sums tiers of 1000, 100, 10 and 1 and the mismatch: as an RL signal the
-1000 tier drowns everything below it, and rule 4 (others <= 10 %, weight 1) is smaller than the
spread of the mismatch. Here each rule and the mismatch is a separate component scaled to [0, 1]:

===================  =======================================================================
component            value
===================  =======================================================================
bcc_b2_exist         1 when BCC and B2 coexist at some temperature, else 0
bcc_forms_first      1 when BCC appears at a higher temperature than B2, else 0
b2_room_temp         1 when B2 is present at the lowest temperature of the grid, else 0
others_within_10     1 when solid "other" phases stay <= 10 % at every temperature, else 0
mismatch             1 - min(mismatch, mismatch_scale) / mismatch_scale (1 = no mismatch); 0
                     where BCC and B2 never coexist
===================  =======================================================================

The reward is the weighted sum (``weights``; TRL's ``reward_weights``) of the components, and the
weights keep Eq. 1's hierarchy: each rule's weight exceeds the sum of the weights of every rule below
it and of the mismatch (default 8, 4, 2, 1 and 0.5), so a completion that fails a rule ranks below
every completion that fails only rules below it, whatever its mismatch — as in Eq. 1, where failing
rule 1 only (-1000 - the cap) ranks below failing rules 2 and 3 (-110). Weights that break the
hierarchy are refused (:class:`GRPOSettings`). Equal weights would rank "fails rule 1 only" level with
"fails rules 2 and 3", and a policy could trade the first rule for the lower ones.

A completion gets credit only when it is creditable (:mod:`alloypref.lm.trust_gate`, the same rule
that admits a sample to a DPO pair): one that does not parse, is malformed (a formula not in the
training data's notation), names an element outside the design space, fails to score, is below the
database-coverage threshold or whose database is not trusted for it (weakest-link trust,
:mod:`alloypref.calphad.trust`) gets 0 on every component: the worst reward, so the policy learns
nothing from a parser's leniency or a database's blind spots.
TRL then normalises the summed reward within each group of ``num_generations`` completions
(GRPO) or subtracts the leave-one-out mean (RLOO).

Training curves (``grpo_curves.parquet``, :data:`alloypref.lm.curves.CURVES_SCHEMA`: one row per
logged step and metric) hold TRL's metrics and this module's ``calphad/*`` batch metrics
(:func:`batch_metrics`). Two of TRL's watch for collapse: ``frac_reward_zero_std``, the share (0-1)
of the step's groups whose ``num_generations`` completions all got the same summed reward — their
advantage is 0, so they teach nothing but the KL term (a group that all fails to parse, or all
repeats one candidate, is such a group) — and ``kl``, the mean per-token KL divergence (nats) from
the SFT model, logged when ``beta`` > 0. Both are logged at the steps that generate a batch (every
``num_iterations`` steps) and averaged over the steps between two logs.

Training-scores table (every distinct completion text of training, at its first appearance; the
ledger counts its CALPHAD calls):

==================  =======  ==============================================================
column              dtype    meaning
==================  =======  ==============================================================
step                int64    trainer step whose completions these are (0-based)
candidate_id        string   ``{model}-grpo-train-{index}``
text                string   the completion
...                          every column of :data:`alloypref.scoring.REWARDS_SCHEMA` after it
new_call            bool     True when this completion's master composition was solved here
                             for the first time in the run (``databases_solved`` CALPHAD calls)
==================  =======  ==============================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from alloypref.completion.parsing import parse_generation
from alloypref.config_schema import schema_default
from alloypref.lm.curves import logging_callback
from alloypref.lm.registry import ModelSettings, SamplingSettings, load_trained, model_prompt, save_policy
from alloypref.lm.sft import common_training_arguments
from alloypref.lm.trust_gate import creditable_row
from alloypref.scoring import REWARDS_SCHEMA, ScoringSettings, score_triples

log = logging.getLogger(__name__)

#: The reward components, in the order of ``weights`` and of TRL's ``reward_weights``: Eq. 1's
#: rules from the highest tier down, then the mismatch.
COMPONENTS = ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp", "others_within_10", "mismatch")
#: The rule components (Eq. 1's tiers, highest first).
RULES = COMPONENTS[:4]

#: Config ``grpo.weights`` by default (from the config schema).
DEFAULT_WEIGHTS = {component: float(schema_default(f"grpo.weights.{component}")) for component in COMPONENTS}

#: The RL algorithms (TRL trainers) this stage can run.
ALGORITHMS = ("grpo", "rloo")

TRAIN_SCORES_SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("text", pa.string()),
        *REWARDS_SCHEMA,
        ("new_call", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class GRPOSettings:
    """Config block ``grpo`` (defaults in the config schema). Learning rate per step; lengths in
    tokens; ``mismatch_scale`` in the unit of ``reward.mismatch`` (Å when ``absolute``)."""

    models: tuple[str, ...] = tuple(schema_default("grpo.models"))
    algorithm: str = schema_default("grpo.algorithm")
    steps: int = int(schema_default("grpo.steps"))
    num_iterations: int = int(schema_default("grpo.num_iterations"))
    num_generations: int = int(schema_default("grpo.num_generations"))
    prompts_per_step: int = int(schema_default("grpo.prompts_per_step"))
    learning_rate: float = float(schema_default("grpo.learning_rate"))
    beta: float = float(schema_default("grpo.beta"))
    temperature: float = float(schema_default("grpo.temperature"))
    max_completion_length: int | None = schema_default("grpo.max_completion_length")
    logging_steps: int = int(schema_default("grpo.logging_steps"))
    scorer_workers: int = int(schema_default("grpo.scorer_workers"))
    mismatch_scale: float = float(schema_default("grpo.mismatch_scale"))
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"config key grpo.algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        unknown = sorted(set(self.weights) - set(COMPONENTS))
        missing = sorted(set(COMPONENTS) - set(self.weights))
        if unknown or missing:
            raise ValueError(
                f"config key grpo.weights: needs exactly {list(COMPONENTS)}; unknown {unknown}, missing {missing}"
            )
        for index, rule in enumerate(RULES):
            below = [*RULES[index + 1 :], "mismatch"]
            if not self.weights[rule] > sum(self.weights[name] for name in below):
                raise ValueError(
                    f"config key grpo.weights: {rule} ({self.weights[rule]:g}) must exceed the sum of the weights "
                    f"below it in Eq. 1's hierarchy ({' + '.join(below)} = "
                    f"{sum(self.weights[name] for name in below):g})"
                )
        if self.mismatch_scale <= 0:
            raise ValueError(f"config key grpo.mismatch_scale must be > 0, got {self.mismatch_scale}")
        if self.num_generations < 2:
            raise ValueError("config key grpo.num_generations must be >= 2 (a group needs a baseline)")

    @classmethod
    def from_config(cls, block: dict[str, Any]) -> GRPOSettings:
        values = dict(block)
        values["models"] = tuple(values.get("models", ()))
        if "weights" in values:
            values["weights"] = {**DEFAULT_WEIGHTS, **values["weights"]}
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config block grpo: unknown keys {unknown}")
        return cls(**values)

    def completion_length(self, sampling: SamplingSettings) -> int:
        """Tokens per training completion: ``max_completion_length``, or the model's sampling length
        (``models.<name>.sampling.max_new_tokens``) when that is None."""
        return self.max_completion_length or sampling.max_new_tokens

    @property
    def worst_reward(self) -> float:
        """The summed reward of a completion that fails everything (or does not parse): 0."""
        return 0.0

    @property
    def best_reward(self) -> float:
        return float(sum(self.weights.values()))


def job_block(grpo: dict[str, Any], sampling: dict[str, Any]) -> dict[str, Any]:
    """Config block ``grpo`` as one model's GRPO job reads it: a null ``max_completion_length`` is
    resolved to that model's sampling length (its ``sampling`` block), so the job's params change,
    and the job reruns, when that length does."""
    block = dict(grpo)
    block["max_completion_length"] = GRPOSettings.from_config(block).completion_length(SamplingSettings(**sampling))
    return block


def reward_components(row: dict, mismatch_scale: float) -> dict[str, float]:
    """The five components (each 0-1, see module doc) of one scored row (:data:`REWARDS_SCHEMA`);
    all 0 unless it is creditable (:func:`alloypref.lm.trust_gate.creditable_row`)."""
    if not creditable_row(row):
        return dict.fromkeys(COMPONENTS, 0.0)
    mismatch = 0.0
    if row["bcc_b2_exist"]:
        mismatch = 1.0 - min(float(row["min_lattice_mismatch_A"]), mismatch_scale) / mismatch_scale
    return {
        "bcc_b2_exist": float(bool(row["bcc_b2_exist"])),
        "bcc_forms_first": float(bool(row["bcc_forms_first"])),
        "b2_room_temp": float(bool(row["b2_room_temp"])),
        "others_within_10": float(not row["others_exceed_10"]),
        "mismatch": mismatch,
    }


def shaped_reward(row: dict, settings: GRPOSettings) -> float:
    """The weighted sum of :func:`reward_components` (what the trainer optimises, before TRL's
    group normalisation)."""
    components = reward_components(row, settings.mismatch_scale)
    return float(sum(settings.weights[name] * value for name, value in components.items()))


class CompletionScorer:
    """Scores completions with :func:`alloypref.scoring.score_triples`, once per master composition.

    ``solvers``: warm solver processes (or, for tests, objects with the backend's ``phase_table``);
    a batch's new masters are split among them by element set and solved in parallel threads that
    each wait on their own process. ``records`` holds every completion scored, in order.
    """

    def __init__(
        self,
        backend,
        options: ScoringSettings,
        elements: Iterable[str],
        solvers: Sequence | None = None,
        id_prefix: str = "grpo-train",
        trust_evidence=None,
    ):
        self.backend = backend
        # weakest-link trust evidence (alloypref.calphad.trust): database choice and ``trusted``
        self.trust_evidence = trust_evidence
        self.options = options
        self.elements = list(elements)
        self.solvers = list(solvers) if solvers else [None]
        self.id_prefix = id_prefix
        self._by_text: dict[str, dict] = {}
        self._by_master: dict[str, dict] = {}
        self.records: list[dict] = []
        self.calls = 0

    def rows(self, completions: Sequence[str], step: int = 0) -> list[dict]:
        """The scored row (:data:`REWARDS_SCHEMA`) of each completion; new ones are scored now."""
        new_texts = list(dict.fromkeys(t for t in completions if t not in self._by_text))
        if new_texts:
            started = time.perf_counter()
            calls_before = self.calls
            self._score(new_texts, step)
            log.info(
                "step %d: %d completions, %d new texts, %d CALPHAD calls (%d in all) in %.1f s",
                step,
                len(completions),
                len(new_texts),
                self.calls - calls_before,
                self.calls,
                time.perf_counter() - started,
            )
        return [self._by_text[t] for t in completions]

    def _score(self, texts: list[str], step: int) -> None:
        triples = []
        for text in texts:
            parsed = parse_generation(text, self.elements)
            triples.append(
                {
                    "candidate_id": f"{self.id_prefix}-{len(self.records) + len(triples):06d}",
                    "text": text,
                    "bcc": parsed["bcc"],
                    "b2": parsed["b2"],
                    "b2_volume_percent": parsed["b2_volume_percent"],
                    "parse_status": parsed["status"],
                    "parse_reason": parsed["reason"],
                }
            )
        frame = pd.DataFrame(triples)
        rewards = self._score_frame(frame)
        for triple, row in zip(triples, rewards[REWARDS_SCHEMA.names].to_dict("records"), strict=True):
            master = row["master_composition"]
            new_call = bool(master) and row["status"] != "invalid" and master not in self._by_master
            if master and master in self._by_master and row["status"] != "invalid":
                row = {**self._by_master[master], **{k: row[k] for k in ("candidate_id", "bcc", "b2")}}
                row["b2_volume_percent"] = triple["b2_volume_percent"]
                row["seconds"] = 0.0
            elif new_call:
                self._by_master[master] = row
                self.calls += max(1, int(row["databases_solved"]))  # each database solve, as the ledger
            self._by_text[triple["text"]] = row
            self.records.append({"step": int(step), "text": triple["text"], **row, "new_call": new_call})

    def _score_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score the rows whose master is new; known masters get a placeholder the caller replaces."""
        from alloypref.composition import FormulaError, canonical_formula, master_from_text

        def master_of(row) -> str:
            if row.parse_status != "ok":
                return ""
            try:
                return canonical_formula(master_from_text(row.bcc, row.b2, row.b2_volume_percent))
            except FormulaError:
                return ""

        known = frame.apply(master_of, axis=1).isin(self._by_master.keys()) if len(frame) else pd.Series([], dtype=bool)
        todo = frame[~known]
        parts: list[pd.DataFrame] = []
        if not todo.empty:
            from alloypref.scoring import split_triples

            chunks = [c for c in split_triples(todo, len(self.solvers)) if not c.empty]
            if len(chunks) == 1:
                parts.append(
                    score_triples(
                        chunks[0],
                        self.backend,
                        self.options,
                        trust_evidence=self.trust_evidence,
                        solver=self.solvers[0],
                    )[0]
                )
            else:
                with ThreadPoolExecutor(len(chunks)) as pool:
                    futures = [
                        pool.submit(
                            score_triples,
                            chunk,
                            self.backend,
                            self.options,
                            trust_evidence=self.trust_evidence,
                            solver=solver,
                        )
                        for chunk, solver in zip(chunks, self.solvers, strict=False)
                    ]
                    parts += [f.result()[0] for f in futures]
        placeholder = frame[known].reindex(columns=REWARDS_SCHEMA.names)
        placeholder = placeholder.assign(master_composition=frame[known].apply(master_of, axis=1), status="ok")
        scored = pd.concat([*parts, placeholder], ignore_index=True) if parts else placeholder
        order = {cid: i for i, cid in enumerate(frame["candidate_id"])}
        return scored.sort_values("candidate_id", key=lambda s: s.map(order)).reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """Every completion scored so far (:data:`TRAIN_SCORES_SCHEMA`)."""
        return pd.DataFrame(self.records, columns=TRAIN_SCORES_SCHEMA.names)


def batch_metrics(rows: Sequence[dict], new_calls: int) -> dict[str, float]:
    """What a training batch found: shares of the batch (0-1) that parse, that meet all four rules,
    and that are distinct master compositions (collapse shows as a falling share), and the CALPHAD
    calls it cost."""
    n = max(len(rows), 1)
    masters = [row["master_composition"] for row in rows if row["master_composition"]]
    return {
        "calphad/parsed": len(masters) / n,
        "calphad/all_rules": sum(bool(row["all_rules"]) and row["status"] == "ok" for row in rows) / n,
        "calphad/unique_masters": len(set(masters)) / n,
        "calphad/new_calls": float(new_calls),
    }


def component_reward_functions(scorer: CompletionScorer, settings: GRPOSettings) -> list:
    """One TRL reward function per component (TRL logs each as ``rewards/<name>/mean``); they share
    ``scorer``, so a batch is scored once, by whichever runs first."""

    def make(name: str):
        def reward(completions, trainer_state=None, log_metric=None, **kwargs) -> list[float]:
            step = int(getattr(trainer_state, "global_step", 0) or 0)
            calls_before = scorer.calls
            rows = scorer.rows([str(c) for c in completions], step)
            if log_metric is not None and name == COMPONENTS[0]:  # once per batch
                for metric, value in batch_metrics(rows, scorer.calls - calls_before).items():
                    log_metric(metric, value)
            return [reward_components(row, settings.mismatch_scale)[name] for row in rows]

        reward.__name__ = name
        return reward

    return [make(name) for name in COMPONENTS]


def make_trainer(
    spec: ModelSettings,
    sft_dir: Path,
    prompt: str,
    settings: GRPOSettings,
    reward_funcs: list,
    work_dir: Path,
    seed: int,
):
    """A ready GRPO (or RLOO) trainer continuing from the SFT model in ``sft_dir``."""
    import torch
    from datasets import Dataset

    torch.set_num_threads(spec.threads)
    tokenizer, model = load_trained(spec, sft_dir, trainable=True)
    batch = settings.num_generations * settings.prompts_per_step
    common = common_training_arguments(spec, spec.sft, work_dir, seed, False)
    for key in ("num_train_epochs", "per_device_eval_batch_size", "eval_strategy", "max_length"):
        common.pop(key)
    common.update(
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        learning_rate=settings.learning_rate,
        lr_scheduler_type="constant",
        logging_steps=settings.logging_steps,
        max_steps=settings.steps,
        num_iterations=settings.num_iterations,
        disable_tqdm=True,  # progress goes to the log (logging_callback)
        num_generations=settings.num_generations,
        max_completion_length=settings.completion_length(spec.sampling),
        temperature=settings.temperature,
        beta=settings.beta,
        reward_weights=[settings.weights[name] for name in COMPONENTS],
    )
    if settings.algorithm == "grpo":
        from trl import GRPOConfig as Config
        from trl import GRPOTrainer as Trainer
    else:
        from trl import RLOOConfig as Config
        from trl import RLOOTrainer as Trainer
    # one prompt, repeated: TRL draws prompts_per_step of them per step
    text = model_prompt(spec, tokenizer, prompt)
    dataset = Dataset.from_dict({"prompt": [text] * (settings.steps * settings.prompts_per_step)})
    trainer = Trainer(
        model=model,
        reward_funcs=reward_funcs,
        args=Config(**common),
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[logging_callback(settings.algorithm)],
    )
    return trainer


def train_grpo(
    spec: ModelSettings,
    sft_dir: Path,
    prompt: str,
    settings: GRPOSettings,
    scorer: CompletionScorer,
    output_dir: Path,
    work_dir: Path,
    seed: int,
) -> list[dict]:
    """Train and save the model (tiny) or the trained adapter (LoRA) with its tokenizer; returns the
    trainer's log history."""
    from transformers import set_seed

    set_seed(seed)
    trainer = make_trainer(
        spec, sft_dir, prompt, settings, component_reward_functions(scorer, settings), work_dir, seed
    )
    trainer.train()
    save_policy(trainer, spec, output_dir)
    return trainer.state.log_history
