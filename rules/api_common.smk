# Names and input functions of rules/api_baselines.smk (no rules here).

for _name in API:
    if _name in MODEL_SOURCES + EXTERNAL + ["random", "example"]:
        raise ValueError(f"config key baselines.api.{_name}: the name is already another source's")

# The prompt wording is package data, not a .py file, so code_version() would not see it change.
API_PROMPTS = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted((Path(workflow.basedir) / "src/alloypref/data/prompts").glob("*.txt")))
).hexdigest()[:12]


def api_exemplars(wildcards):
    """The scored samples the exemplars come from: exemplars_from, else the first model's SFT samples."""
    source = config["baselines"]["api"][wildcards.name].get("exemplars_from") or f"{MODELS[0]}-sft"
    return results_path(f"scores/{source}/rewards.parquet")


def api_calphad(wildcards):
    """The scorer settings an agent_calphad_judge source runs CALPHAD with (None for the others)."""
    if config["baselines"]["api"][wildcards.name]["method"] != "agent_calphad_judge":
        return None
    return {"calphad": config["calphad"], "reward": config["reward"], "element_roles": config["element_roles"]}


def api_known_lists(wildcards):
    """The curated BCC and B2 lists, for a source that adds Figs. 5-6's optional Known lines."""
    if config["baselines"]["api"][wildcards.name].get("known_lists"):
        return [results_path("design_space/bcc.parquet"), results_path("design_space/b2.parquet")]
    return []
