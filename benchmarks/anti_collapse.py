"""Anti-collapse levers on one model of a finished run (never written to): the default run's tiny model,
or the pretrained model of config/smol.yaml's run (``--model smol``).

Each variant starts from the run's SFT model and is measured on ``--n`` fresh samples of the policy
it ends with, scored by the package's scorer (same databases, trust evidence and Eq. 1 flags as the
run) with the package's metrics (:func:`alloypref.evaluation.metrics.source_metrics`,
:func:`alloypref.ledger.ledger_rows`):

* ``sft``: the SFT model itself (the reference row);
* ``grpo_beta<b>``: GRPO with the run's ``grpo`` block and KL coefficient ``grpo.beta`` = b
  (0: TRL's default, no reference model), on the run's reward;
* ``dpo_sft<w>_T<t>``: one DPO round from the SFT model on pairs built from the run's scored SFT
  samples (the run's round 1 pairs, rebuilt with this code's trust gate), with
  ``models.<model>.dpo.sft_weight`` = w, its policy sampled at temperature t.

Figures per variant: parse rate, unique@100, all-rules share (all samples and trusted samples),
trusted distinct (BCC, B2) pairs and CALPHAD calls of the samples, calls of the whole method
(GRPO's training completions, or the SFT samples the DPO pairs came from, plus the samples), the
mean over logged steps of ``frac_reward_zero_std`` (GRPO: share of groups whose completions all
scored the same, so their advantage is 0) and of ``kl``, and wall minutes.

The run's folder is only read: the SFT model and the CALPHAD cache are copied into ``--work`` and the
scorer's ``calphad.cache_dir`` points at the copy, so candidates the run scored cost no solve time
(they still count as calls: the ledger counts solves, cached or not). One seed is one draw of every
stochastic step (training order, sampling); a difference between two variants is evidence only
where it exceeds the spread of repeated seeds.

Run (from the repository root; results append to ``<work>/anti_collapse.jsonl``, one line per
variant, and a finished variant is skipped when the script is run again):

    PYTHONPATH=$PWD/src nice -n 19 python benchmarks/anti_collapse.py \\
        --run /work/run3/results --work /tmp/anti_collapse --seed 42

``--model`` names the run's model (default ``tiny``; a pretrained model loads its base folder from the
run's ``base_models/``); ``--variants`` picks some (names as above); ``--table`` prints the table of
the results so far.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("anti_collapse")

GRPO_BETAS = (0.0, 0.04, 0.2)
DPO_VARIANTS = ((0.0, 1.0), (1.0, 1.0), (0.0, 1.3))  # (sft_weight, sampling temperature)


def variant_names() -> list[str]:
    return [
        "sft",
        *[f"grpo_beta{beta:g}" for beta in GRPO_BETAS],
        *[f"dpo_sft{weight:g}_T{temperature:g}" for weight, temperature in DPO_VARIANTS],
    ]


def run_cache_dir(run: Path, config: dict) -> Path:
    """The run's CALPHAD cache: ``calphad.cache_dir``, relative to the folder the run was started in
    (``run`` less its ``results_dir``)."""
    cache_dir = Path(config["calphad"]["cache_dir"])
    if cache_dir.is_absolute():
        return cache_dir
    workflow_dir = run
    for _ in Path(config["results_dir"]).parts:
        workflow_dir = workflow_dir.parent
    return workflow_dir / cache_dir


class Setting:
    """The run's inputs, copied where a variant may write, and the scorer built on them."""

    def __init__(self, run: Path, work: Path, seed: int, n: int, model: str = "tiny"):
        from alloypref.backend_factory import make_backend
        from alloypref.calphad.trust import TrustEvidence
        from alloypref.config import calphad_settings, validate
        from alloypref.design_space import FILTER_SCHEMA, SFT_SCHEMA
        from alloypref.evaluation.fingerprints import fingerprints
        from alloypref.evaluation.metrics import known_compositions, reference_compositions
        from alloypref.io import read_parquet
        from alloypref.lm.registry import ModelSettings
        from alloypref.reward import RewardSettings
        from alloypref.scoring import ScoringSettings

        self.run, self.work, self.seed, self.n, self.model = run, work, seed, n, model
        work.mkdir(parents=True, exist_ok=True)
        config = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["config"]
        cache = work / "cache" / "calphad"
        if not cache.is_dir():
            log.info("copying the CALPHAD cache of %s to %s", run, cache)
            shutil.copytree(run_cache_dir(run, config), cache)
        config["calphad"]["cache_dir"] = str(cache)
        self.config = validate(config)
        sft = work / "models" / model / "sft"
        if not sft.is_dir():
            shutil.copytree(run / "models" / model / "sft", sft)
        self.sft_dir = sft
        entry = dict(self.config["models"][model])
        if entry["source"] == "gguf":  # the folder rule base_model materialised, as the workflow passes it
            entry["path"] = str(run / "base_models" / entry["pretrained"])
        self.spec = ModelSettings.from_config(model, entry)
        self.prompt = read_parquet(run / "design_space" / "sft_triples.parquet", SFT_SCHEMA)["prompt"].iloc[0]
        counts = json.loads((run / "design_space" / "enumeration_counts.json").read_text(encoding="utf-8"))
        self.elements = counts["elements"]
        self.calphad = calphad_settings(self.config)
        self.options = ScoringSettings.from_settings(self.calphad)
        self.backend = make_backend(self.calphad)
        self.evidence = TrustEvidence.from_files(
            run / "databases" / "phase_inventory_phases.parquet",
            run / "databases" / "subsystem_verdicts.parquet",
            self.calphad.temperatures_K,
            self.calphad.trust,
        )
        self.worst = RewardSettings(**self.config["reward"]).worst_reward
        bcc = list(read_parquet(run / "design_space" / "bcc.parquet", FILTER_SCHEMA)["formula"])
        b2 = list(read_parquet(run / "design_space" / "b2.parquet", FILTER_SCHEMA)["formula"])
        evaluation = self.config["evaluation"]
        self.reference_fp = fingerprints(reference_compositions(bcc, b2, evaluation["reference_fraction"]))
        self.known_fp = fingerprints(list(known_compositions(self.elements, bcc + b2)["composition"]))

    def sample(self, model_dir: Path, stage: str, temperature: float) -> pd.DataFrame:
        """``n`` samples of the model in ``model_dir`` at ``temperature`` (seed: the setting's + 1000)."""
        import torch

        from alloypref.completion.parsing import parse_samples
        from alloypref.lm.registry import load_trained, model_prompt
        from alloypref.lm.sampling import generate_texts

        torch.set_num_threads(self.spec.threads)
        tokenizer, model = load_trained(self.spec, model_dir)
        s = self.spec.sampling
        texts = generate_texts(
            model,
            tokenizer,
            model_prompt(self.spec, tokenizer, self.prompt),  # a chat model's template, as rule sample
            self.n,
            temperature,
            s.top_p,
            s.batch_size,
            s.max_new_tokens,
            self.seed + 1000,
            shared_prompt=self.spec.shared_prompt,
        )
        return parse_samples(texts, self.model, stage, self.prompt, self.elements)

    def score(self, samples: pd.DataFrame, name: str) -> pd.DataFrame:
        """The reward rows of ``samples`` (as rule score writes them)."""
        from alloypref.completion.parsing import SAMPLES_SCHEMA
        from alloypref.io import write_parquet
        from alloypref.scoring import read_triples, score_triples

        path = self.work / "samples" / f"{name}_s{self.seed}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(samples, path, SAMPLES_SCHEMA)
        rewards, _ = score_triples(read_triples(path), self.backend, self.options, trust_evidence=self.evidence)
        rewards.to_parquet(path.with_suffix(".rewards.parquet"))
        return rewards

    def figures(self, name: str, rewards: pd.DataFrame, method_steps: list[tuple[str, pd.DataFrame]]) -> dict:
        """The variant's row: Table 1 metrics of its samples, and the ledger of the samples alone and of
        the whole method (``method_steps`` before the samples)."""
        from alloypref.evaluation.metrics import source_metrics
        from alloypref.ledger import ledger_rows, total_calls

        evaluation = self.config["evaluation"]
        row, _ = source_metrics(
            name,
            rewards,
            self.reference_fp,
            self.known_fp,
            evaluation["coverage_cutoff"],
            evaluation["novelty_cutoff"],
            self.worst,
        )
        samples_ledger = ledger_rows([("samples", rewards)], name)
        method_ledger = ledger_rows([*method_steps, ("samples", rewards)], name)
        return {
            "variant": name,
            "n": int(row["n"]),
            "parse_rate": row["parse_rate"],
            "unique_at_100": row["unique_at_100"],
            "all_rules": row["all_rules"],
            "all_rules_trusted": row["all_rules_trusted"],
            "trusted_pairs": int(samples_ledger["cumulative_trusted_pairs"].iloc[-1]),
            "calls": total_calls(samples_ledger),
            "method_trusted_pairs": int(method_ledger["cumulative_trusted_pairs"].iloc[-1]),
            "method_calls": total_calls(method_ledger),
        }


def curve_mean(history: list[dict], key: str) -> float:
    """Mean over the logged training steps of ``key`` (NaN when never logged)."""
    values = [float(entry[key]) for entry in history if key in entry and "train_runtime" not in entry]
    return float(np.mean(values)) if values else float("nan")


def run_sft(setting: Setting, name: str) -> dict:
    rewards = setting.score(setting.sample(setting.sft_dir, "sft", 1.0), name)
    return setting.figures(name, rewards, [])


def run_grpo(setting: Setting, name: str, beta: float) -> dict:
    from alloypref.calphad.worker import SolverWorker
    from alloypref.lm.grpo import CompletionScorer, GRPOSettings, train_grpo

    settings = GRPOSettings.from_config({**setting.config["grpo"], "beta": beta})
    solver = SolverWorker(setting.backend, setting.options.timeout_s)
    scorer = CompletionScorer(
        setting.backend,
        setting.options,
        setting.elements,
        [solver],
        id_prefix=f"{name}-train",
        trust_evidence=setting.evidence,
    )
    policy = setting.work / "models" / setting.model / f"{name}_s{setting.seed}"
    try:
        history = train_grpo(
            setting.spec,
            setting.sft_dir,
            setting.prompt,
            settings,
            scorer,
            policy,
            setting.work / "checkpoints" / f"{name}_s{setting.seed}",
            setting.seed,
        )
    finally:
        solver.close()
    train = scorer.table()
    rewards = setting.score(setting.sample(policy, "grpo", settings.temperature), name)
    row = setting.figures(name, rewards, [("training", train)])
    row.update(
        frac_reward_zero_std=curve_mean(history, "frac_reward_zero_std"),
        kl=curve_mean(history, "kl"),
        training_completions=int(settings.steps // settings.num_iterations * settings.num_generations),
    )
    return row


def run_dpo(setting: Setting, name: str, sft_weight: float, temperature: float) -> dict:
    from alloypref.completion.parsing import SAMPLES_SCHEMA
    from alloypref.io import read_parquet
    from alloypref.lm.dpo import train_dpo
    from alloypref.lm.pairs import build_pairs, scored_samples
    from alloypref.scoring import REWARDS_SCHEMA

    samples = read_parquet(setting.run / "samples" / setting.model / "sft.parquet", SAMPLES_SCHEMA)
    sft_rewards = read_parquet(setting.run / "scores" / f"{setting.model}-sft" / "rewards.parquet", REWARDS_SCHEMA)
    block = setting.config["pairs"]
    pairs = build_pairs(
        scored_samples(samples, sft_rewards, setting.worst),
        block["top_fraction"],
        block["k"],
        setting.seed,
        same_database=block["same_database"],
    )
    spec = replace(setting.spec, dpo=replace(setting.spec.dpo, sft_weight=sft_weight))
    policy = setting.work / "models" / setting.model / f"dpo_sft{sft_weight:g}_s{setting.seed}"
    history: list[dict] = []
    if not policy.is_dir():  # the temperature variants share a policy
        history = train_dpo(
            spec,
            setting.sft_dir,
            pairs,
            policy,
            setting.work / "checkpoints" / f"{name}_s{setting.seed}",
            setting.seed,
            setting.config["training"]["eval_fraction"],
        )
    rewards = setting.score(setting.sample(policy, "dpo_r1", temperature), name)
    row = setting.figures(name, rewards, [("sft_samples", sft_rewards)])
    row.update(pairs=len(pairs), margin=curve_mean(history, "rewards/margins"))
    return row


def run_variant(setting: Setting, name: str) -> dict:
    if name == "sft":
        return run_sft(setting, name)
    if name.startswith("grpo_beta"):
        return run_grpo(setting, name, float(name.removeprefix("grpo_beta")))
    weight, temperature = name.removeprefix("dpo_sft").split("_T")
    return run_dpo(setting, name, float(weight), float(temperature))


COLUMNS = {
    "model": "model",
    "variant": "variant",
    "seed": "seed",
    "parse_rate": "parse rate",
    "unique_at_100": "unique@100",
    "all_rules": "all rules",
    "all_rules_trusted": "all rules (trusted)",
    "trusted_pairs": "trusted pairs",
    "calls": "calls",
    "method_trusted_pairs": "trusted pairs (method)",
    "method_calls": "calls (method)",
    "frac_reward_zero_std": "zero-std groups",
    "kl": "KL",
    "minutes": "minutes",
}


def table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    frame["model"] = frame["model"].fillna("tiny")  # rows written before --model existed
    frame = frame.rename(columns=COLUMNS)
    return frame.to_markdown(index=False, floatfmt=".3g")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("/work/run3/results"), help="finished run's results folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/anti_collapse"), help="folder written to")
    parser.add_argument("--seed", type=int, default=42, help="seed of training and pairs; sampling uses seed + 1000")
    parser.add_argument("--n", type=int, default=128, help="samples drawn from each final policy")
    parser.add_argument("--model", default="tiny", help="the run's model (a key of its config's models)")
    parser.add_argument("--variants", nargs="*", choices=variant_names(), default=variant_names())
    parser.add_argument("--table", action="store_true", help="print the table of the results so far and stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results = args.work / "anti_collapse.jsonl"
    done = [json.loads(line) for line in results.read_text().splitlines()] if results.is_file() else []
    if not args.table:
        setting = Setting(args.run, args.work, args.seed, args.n, args.model)
        for name in args.variants:
            if any(
                (row.get("model", "tiny"), row["variant"], row["seed"]) == (args.model, name, args.seed) for row in done
            ):
                continue
            started = time.perf_counter()
            row = {**run_variant(setting, name), "model": args.model, "seed": args.seed, "n_samples": args.n}
            row["minutes"] = (time.perf_counter() - started) / 60
            done.append(row)
            with results.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            log.info("%s: %s", name, row)
    print(table(done))


if __name__ == "__main__":
    main()
