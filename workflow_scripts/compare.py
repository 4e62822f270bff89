"""Rule compare: the SFT model's whole scored stream and the DPO rewards of one model -> Fig. 2-4 and
Table 2 (tables and figures)."""

from _common import setup_logging

from alloypref.design_space import SFT_SCHEMA
from alloypref.evaluation import comparisons as cmp
from alloypref.evaluation.figures import bars_with_intervals, grouped_bars
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.scoring import REWARDS_SCHEMA

log = setup_logging(snakemake)  # injected by Snakemake
n_boot, seed = snakemake.params.bootstrap, snakemake.params.seed
model = snakemake.wildcards.model
sft = read_parquet(snakemake.input.sft, REWARDS_SCHEMA)
dpo = read_parquet(snakemake.input.dpo, REWARDS_SCHEMA)
training = read_parquet(snakemake.input.training, SFT_SCHEMA)
log.info("SFT: %d samples (the SFT model's whole scored stream); DPO: %d samples", len(sft), len(dpo))
sources = {f"{model} SFT (n = {len(sft)})": sft, f"{model} DPO (n = {len(dpo)})": dpo}
wdl = cmp.win_draw_loss(sft, dpo, n_boot, seed)
rules = cmp.rule_satisfaction(sources, n_boot, seed)
change = cmp.rule_change(sft, dpo, n_boot, seed)
top = cmp.top_bcc_sets(sources)
elements = cmp.element_frequency({**sources, "SFT training data": training})
out = snakemake.output
for frame, path in (
    (wdl, out.win_draw_loss),
    (rules, out.rules),
    (change, out.rule_change),
    (top, out.top_bcc),
    (elements, out.elements),
):
    write_parquet(frame, path)
outcomes = wdl[wdl["outcome"].isin(["win", "draw", "loss"])]
bars_with_intervals(
    outcomes.assign(outcome=outcomes["outcome"].map(cmp.OUTCOME_LABELS)),
    "outcome",
    out.wdl_figure,
    f"DPO vs SFT, {model}: all {len(dpo)} x {len(sft)} pairs of samples",
    ylabel="share of pairs (fraction 0-1)",
)
grouped_bars(
    rules.assign(rule=rules["rule"].map(cmp.RULE_LABELS)),
    "rule",
    "source",
    out.rules_figure,
    f"Rule satisfaction, {model}",
    ylabel="share of samples meeting the rule",
)
grouped_bars(
    elements,
    "element",
    "source",
    out.elements_figure,
    f"Element frequency, {model}",
    with_intervals=False,
    ylabel="share of parsed triples holding it",
)
grouped_bars(
    top,
    "bcc_elements",
    "source",
    out.top_bcc_figure,
    f"Top-5 BCC element sets, {model}",
    with_intervals=False,
    ylabel="share of parsed triples",
)
html = "".join(
    f"<h3>{title}</h3>" + frame.to_html(index=False, float_format="%.3f")
    for title, frame in (("Win / draw / loss", wdl), ("Rule change SFT → DPO", change), ("Top-5 BCC element sets", top))
)
atomic_write_text(out.tables, html)
log.info("win/draw/loss:\n%s\nrule change:\n%s", wdl.to_string(index=False), change.to_string(index=False))
