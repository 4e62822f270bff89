# Input functions of the workflow's rules (no rules here); names are in rules/common_names.smk,
# config providers in rules/common_settings.smk, resources in rules/common_resources.smk.
from pathlib import Path

PACKAGE = Path(workflow.basedir) / "src" / "alloypref"


def seed_list_inputs(wildcards):
    """The optional seed-list files of design_space.seed_lists (declared so edits rerun enumeration)."""
    return [path for path in config["design_space"]["seed_lists"].values() if path]


def facts_input(wildcards):
    """The phase facts file of report_card.facts; none for the package's own (see facts_version)."""
    return config["report_card"]["facts"] or []


def facts_version():
    """Hash of the package's phase facts when report_card.facts is null (else the file is an input)."""
    return None if config["report_card"]["facts"] else data_version([PACKAGE / "data" / "phase_facts.csv"])


def inventory_version():
    """Hash of the package's phase inventory and database phase-kind map (read by the package)."""
    return data_version([PACKAGE / "data" / "phase_inventory.csv", PACKAGE / "data" / "database_phase_kinds.csv"])


def triples_input(wildcards):
    """The triples a source is scored from: a model's samples, or the example triples."""
    if wildcards.source == source_registry.EXAMPLE:
        return config["scoring"]["triples"]
    if wildcards.source in BASELINES or wildcards.source in BUDGET_SOURCES:
        return results_path(f"baselines/{wildcards.source}.parquet")
    model, _, stage = wildcards.source.rpartition("-")
    if (
        model in MODELS
        and (stage in STAGES or stage in ROUND_STAGES)
        or model in GRPO_MODELS
        and stage == source_registry.GRPO
    ):
        return results_path(f"samples/{model}/{stage}.parquet")
    raise ValueError(
        f"unknown source {wildcards.source!r}: expected 'example', a baseline or <model>-sft / -dpo / -dpo_r<round> / -grpo"
    )


def model_for_stage(wildcards):
    """The trained model a sampling job reads (the SFT model for the best-of-N pool)."""
    stage = "sft" if wildcards.stage == "bestofn_pool" else wildcards.stage
    return results_path(f"models/{wildcards.model}/{stage}")


def sft_pool_rewards(wildcards):
    """The SFT model's whole scored stream, what DPO is compared against: the budget-matched best-of-N
    source's rewards (the SFT sampling stream, its first samples the SFT source's, cut to the DPO
    pipeline's calls) when iterative_dpo.budget_baselines is on, else the SFT source's own samples."""
    kind = "bestofn" if "bestofn" in BUDGET_KINDS else source_registry.SFT
    return results_path(f"scores/{source_registry.model_source(wildcards.model, kind)}/rewards.parquet")


def shipped_design_space_version():
    """Hash of the shipped design space's files (config design_space.shipped), after checking at DAG
    build that this config's curation settings are the ones it was curated with."""
    from alloypref.design_space import DesignSpaceError
    from alloypref.shipped_design_space import check_matches, load_shipped, shipped_files

    name = config["design_space"]["shipped"]
    try:
        check_matches(config, load_shipped(name).provenance, name)
        return data_version(shipped_files(name))
    except DesignSpaceError as exc:
        raise WorkflowError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Iterative DPO (rules/iterative_dpo.smk) and the simulator-call ledgers (rules/ledger.smk).


def _decision(model, round_number):
    return results_path(f"rounds/{model}/r{round_number}.json")


def _history(wildcards, last):
    """Decision of round `last` (if any) and the stages a round after it may continue from."""
    stages = [source_registry.SFT] + [source_registry.round_stage(k) for k in range(1, last + 1)]
    inputs = {"decision": _decision(wildcards.model, last)} if last >= 1 else {}
    return stages, inputs


def pairs_inputs(wildcards):
    """Samples and rewards of every stage round r may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    for stage in stages:
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        inputs[f"rewards_{stage}"] = results_path(f"scores/{wildcards.model}-{stage}/rewards.parquet")
    return inputs


def dpo_round_inputs(wildcards):
    """Round r's pairs, every policy it may start from, and round r-1's decision."""
    stages, inputs = _history(wildcards, int(wildcards.round) - 1)
    inputs["pairs"] = results_path(f"pairs/{wildcards.model}/r{wildcards.round}.parquet")
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
    return inputs


def final_inputs(wildcards):
    """The last round's decision and every stage's model, curves and samples."""
    stages, inputs = _history(wildcards, len(ROUNDS))
    for stage in stages:
        inputs[f"model_{stage}"] = results_path(f"models/{wildcards.model}/{stage}")
        inputs[f"samples_{stage}"] = results_path(f"samples/{wildcards.model}/{stage}.parquet")
        if stage != source_registry.SFT:
            inputs[f"curves_{stage}"] = results_path(f"models/{wildcards.model}/{stage}_curves.parquet")
    return inputs


def ledger_steps(source):
    """(step name, rewards file) of a method, in the order its calls were spent."""
    model, _, stage = source.rpartition("-")
    if model in MODELS and stage == source_registry.DPO:
        steps = [("sft_samples", source_registry.model_source(model, source_registry.SFT))] + [
            (f"round{r}", source_registry.model_source(model, source_registry.round_stage(r))) for r in ROUNDS
        ]
    elif model in MODELS and stage == source_registry.SFT:
        steps = [("sft_samples", source)]
    else:
        steps = [("samples", source)]
    return [(name, results_path(f"scores/{scored}/rewards.parquet")) for name, scored in steps]


def call_steps(source):
    """(step name, rewards file) of every scored step that spent a method's CALPHAD calls, in order:
    the ledger's steps, and for GRPO its training scores before its samples (rule grpo_ledger)."""
    model, _, stage = source.rpartition("-")
    if model in GRPO_MODELS and stage == source_registry.GRPO:
        return [
            ("grpo_train", results_path(f"models/{model}/grpo_train_scores.parquet")),
            ("final_samples", results_path(f"scores/{source}/rewards.parquet")),
        ]
    return ledger_steps(source)


def matched_call_steps():
    """{source: [[step name, rewards file], ...]} of every source compared at matched calls."""
    return {
        source: [list(step) for step in call_steps(source)]
        for model in MODELS
        for source in matched_calls.compared_sources(model, EVAL_SOURCES)
    }


# ---------------------------------------------------------------------------------------------
# Language models behind an endpoint (rules/baselines.smk).


def api_exemplars(wildcards):
    """The scored samples the exemplars come from: exemplars_from, else the first model's SFT samples."""
    source = config["baselines"]["api"][wildcards.name].get("exemplars_from") or source_registry.model_source(
        MODELS[0], source_registry.SFT
    )
    return results_path(f"scores/{source}/rewards.parquet")


def api_known_lists(wildcards):
    """The curated BCC and B2 lists, for a source that adds Figs. 5-6's optional Known lines."""
    if config["baselines"]["api"][wildcards.name].get("known_lists"):
        return [results_path("design_space/bcc.parquet"), results_path("design_space/b2.parquet")]
    return []
