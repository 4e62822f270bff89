"""Cross-database agreement: a sample of each source's candidates scored on every database that can
compute them, the non-circular check of the rewards (and of a DPO gain) a single database gives.

Each candidate is scored on the database ranked first by weakest-link trust (:mod:`alloypref.scoring`); a
reward, and a DPO model trained on it, could owe its verdict to that database's blind spots. So, per
source, up to ``cross_database.sample_per_source`` candidates (seeded draw) among those scored ``ok``
whose elements two or more configured databases hold are scored again on each other database (the
scorer with a forced database; the rewards table already holds the chosen one's answer).

Cross-database table (``results/databases/cross_database/{source}.parquet``), one row per
(candidate, database):

==================  ========  =====================================================================
column              dtype     meaning
==================  ========  =====================================================================
candidate_id        string    id of the rewards table
master_composition  string    canonical master composition (at.%)
database            string    database of this row
chosen              bool      the database the candidate's reward row was scored on
trusted             bool      weakest-link trust of that database for the candidate
trust_reason        string    why not trusted; "" when trusted
coverage            float64   coverage of that database for the candidate (0-1)
status, reason      string    as in the rewards table
reward              float64   Eq. 1 on that database (the worst reward unless ``ok``)
bcc_b2_exist ...    bool      the four rule flags and ``all_rules`` on that database
==================  ========  =====================================================================

Agreement table (``results/databases/cross_database_agreement.parquet``), one row per source and
pair of databases (configured order), over the candidates scored ``ok`` on both *and trusted by
both* (``n``; ``n_untrusted``: those scored ``ok`` on both that one or both do not trust, left out):
``agree_<flag>``, the share of them whose flag is the same on both (each of the four rules and
``all_rules``); for rule 1 (``bcc_b2_exist``: BCC and B2 coexist) also ``n_rule1_yes_both``,
``n_rule1_no_both``, ``n_rule1_split`` and the specific agreements ``agree_rule1_yes`` = 2 yes-yes /
(2 yes-yes + split), the chance that the other database also says yes where one says yes, and
``agree_rule1_no`` the same for no (NaN when undefined), since a high overall agreement can hide
that the databases never agree on the rare "yes"; ``pearson`` and ``spearman``, the correlation of
their rewards (NaN below 3 candidates or for a constant reward).

DPO-gain table (``results/databases/cross_database_dpo_gain.parquet``), one row per model: the
DPO-minus-SFT gain in mean reward and in all-rules share over the sampled candidates, once on the
database each candidate was scored (and DPO trained) on (``chosen``) and once on the most trusted
*other* database (``other``); a candidate not ``ok`` there counts as the worst reward and as failing.
``*_holds``: the gain on the other database has the sign of the gain on the chosen one (null when the
chosen gain is 0 or a sample is empty).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from alloypref import sources as source_registry
from alloypref.calphad.backend import CalphadBackend
from alloypref.calphad.trust import TrustEvidence
from alloypref.composition import master_from_text
from alloypref.scoring import ScoringSettings, score_triples

#: The rule flags compared between databases (``others_exceed_10`` True = violated).
FLAGS = ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp", "others_exceed_10", "all_rules")

CROSS_DATABASE_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("master_composition", pa.string()),
        ("database", pa.string()),
        ("chosen", pa.bool_()),
        ("trusted", pa.bool_()),
        ("trust_reason", pa.string()),
        ("coverage", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("reward", pa.float64()),
        *[(flag, pa.bool_()) for flag in FLAGS],
    ]
)

AGREEMENT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("database_a", pa.string()),
        ("database_b", pa.string()),
        ("n", pa.int64()),
        ("n_untrusted", pa.int64()),
        *[(f"agree_{flag}", pa.float64()) for flag in FLAGS],
        ("n_rule1_yes_both", pa.int64()),
        ("n_rule1_no_both", pa.int64()),
        ("n_rule1_split", pa.int64()),
        ("agree_rule1_yes", pa.float64()),
        ("agree_rule1_no", pa.float64()),
        ("pearson", pa.float64()),
        ("spearman", pa.float64()),
    ]
)

DPO_GAIN_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("n_sft", pa.int64()),
        ("n_dpo", pa.int64()),
        ("mean_reward_sft_chosen", pa.float64()),
        ("mean_reward_dpo_chosen", pa.float64()),
        ("mean_reward_sft_other", pa.float64()),
        ("mean_reward_dpo_other", pa.float64()),
        ("reward_gain_chosen", pa.float64()),
        ("reward_gain_other", pa.float64()),
        ("reward_gain_holds", pa.bool_()),
        ("all_rules_sft_chosen", pa.float64()),
        ("all_rules_dpo_chosen", pa.float64()),
        ("all_rules_sft_other", pa.float64()),
        ("all_rules_dpo_other", pa.float64()),
        ("all_rules_gain_chosen", pa.float64()),
        ("all_rules_gain_other", pa.float64()),
        ("all_rules_gain_holds", pa.bool_()),
    ]
)


def sample_candidates(
    rewards: pd.DataFrame,
    backend: CalphadBackend,
    n: int,
    seed: int,
    trust_evidence: TrustEvidence | None = None,
) -> pd.DataFrame:
    """Up to ``n`` reward rows scored ``ok`` whose elements >= 2 databases hold (seeded, input order kept)."""
    ok = rewards[rewards["status"] == "ok"]
    eligible = []
    for row in ok.itertuples(index=False):
        master = master_from_text(row.bcc, row.b2, row.b2_volume_percent)
        if len(backend.database_choices(master, trust_evidence)) >= 2:
            eligible.append(row.candidate_id)
    candidates = ok[ok["candidate_id"].isin(eligible)]
    if len(candidates) > n:
        candidates = candidates.sample(n=n, random_state=np.random.RandomState(seed)).sort_index()
    return candidates.reset_index(drop=True)


def cross_score(
    sampled: pd.DataFrame,
    backend: CalphadBackend,
    databases: Sequence[str],
    options: ScoringSettings,
    trust_evidence: TrustEvidence | None = None,
) -> pd.DataFrame:
    """Every sampled reward row on every database of ``databases`` that can compute it (schema above).

    The chosen database's row is the reward row itself; the others are scored with that database forced.
    """
    chosen = sampled.assign(chosen=True)
    frames = [chosen]
    for database in databases:
        others = sampled[sampled["database"] != database]
        if others.empty:
            continue
        triples = others[["candidate_id", "bcc", "b2", "b2_volume_percent"]]
        rows, _ = score_triples(triples, backend, options, trust_evidence=trust_evidence, database=database)
        # a database that lacks an element of the candidate gives an invalid row: not a comparison
        rows = rows[~rows["reason"].str.startswith(f"database {database!r} does not hold")]
        frames.append(rows.assign(chosen=False))
    table = pd.concat(frames, ignore_index=True)
    order = {cid: i for i, cid in enumerate(sampled["candidate_id"])}
    table = table.assign(_order=table["candidate_id"].map(order), _other=~table["chosen"].astype(bool))
    table = table.sort_values(["_order", "_other", "database"], kind="stable")
    return table[CROSS_DATABASE_SCHEMA.names].reset_index(drop=True)


def _correlations(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    from scipy import stats

    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan"), float("nan")
    return float(stats.pearsonr(a, b).statistic), float(stats.spearmanr(a, b).statistic)


def agreement(cross: Mapping[str, pd.DataFrame], databases: Sequence[str]) -> pd.DataFrame:
    """Per source and pair of databases, over the candidates ``ok`` on both and trusted by both: n,
    flag agreement shares, rule 1's yes and no agreement and reward correlations (module doc)."""
    rows = []
    for source, table in cross.items():
        ok = table[table["status"] == "ok"]
        for first, second in itertools.combinations(databases, 2):
            both = ok[ok["database"] == first].merge(
                ok[ok["database"] == second], on="candidate_id", suffixes=("_a", "_b")
            )
            trusted = both["trusted_a"].astype(bool) & both["trusted_b"].astype(bool)
            joined = both[trusted]
            row = {
                "source": source,
                "database_a": first,
                "database_b": second,
                "n": len(joined),
                "n_untrusted": int((~trusted).sum()),
            }
            for flag in FLAGS:
                same = joined[f"{flag}_a"].astype(bool) == joined[f"{flag}_b"].astype(bool)
                row[f"agree_{flag}"] = float(same.mean()) if len(joined) else float("nan")
            row.update(_rule1_agreement(joined["bcc_b2_exist_a"].astype(bool), joined["bcc_b2_exist_b"].astype(bool)))
            row["pearson"], row["spearman"] = _correlations(joined["reward_a"], joined["reward_b"])
            rows.append(row)
    return pd.DataFrame(rows, columns=AGREEMENT_SCHEMA.names)


def _rule1_agreement(a: pd.Series, b: pd.Series) -> dict:
    """Counts and specific agreements of rule 1 (BCC and B2 coexist) on two databases (module doc)."""
    yes, no, split = int((a & b).sum()), int((~a & ~b).sum()), int((a != b).sum())

    def specific(both: int) -> float:
        return 2 * both / (2 * both + split) if both or split else float("nan")

    return {
        "n_rule1_yes_both": yes,
        "n_rule1_no_both": no,
        "n_rule1_split": split,
        "agree_rule1_yes": specific(yes),
        "agree_rule1_no": specific(no),
    }


def _views(table: pd.DataFrame, worst_reward: float) -> dict[str, pd.DataFrame]:
    """Per candidate, its row on the chosen database and on the most trusted other one."""
    scored = table.assign(
        reward=table["reward"].where(table["status"] == "ok", worst_reward),
        all_rules=table["all_rules"].astype(bool) & (table["status"] == "ok"),
    )
    chosen = scored[scored["chosen"]]
    other = (
        scored[~scored["chosen"]]
        .sort_values(["candidate_id", "trusted", "coverage"], ascending=[True, False, False], kind="stable")
        .drop_duplicates("candidate_id")
    )
    both = set(chosen["candidate_id"]) & set(other["candidate_id"])
    return {
        "chosen": chosen[chosen["candidate_id"].isin(both)],
        "other": other[other["candidate_id"].isin(both)],
    }


def _holds(chosen: float, other: float) -> bool | None:
    if not np.isfinite(chosen) or not np.isfinite(other) or chosen == 0:
        return None
    return bool(np.sign(other) == np.sign(chosen))


def dpo_gain(cross: Mapping[str, pd.DataFrame], models: Sequence[str], worst_reward: float) -> pd.DataFrame:
    """Per model, the DPO-minus-SFT gain on the chosen and on the other database (module doc)."""
    rows = []
    for model in models:
        sft, dpo = (
            _views(cross[f"{model}-{stage}"], worst_reward) for stage in (source_registry.SFT, source_registry.DPO)
        )
        row: dict = {"model": model, "n_sft": len(sft["chosen"]), "n_dpo": len(dpo["chosen"])}
        for measure, column in (("mean_reward", "reward"), ("all_rules", "all_rules")):
            for view in ("chosen", "other"):
                for stage, views in ((source_registry.SFT, sft), (source_registry.DPO, dpo)):
                    values = views[view][column].astype(float)
                    row[f"{measure}_{stage}_{view}"] = float(values.mean()) if len(values) else float("nan")
        for measure, prefix in (("mean_reward", "reward"), ("all_rules", "all_rules")):
            for view in ("chosen", "other"):
                row[f"{prefix}_gain_{view}"] = row[f"{measure}_dpo_{view}"] - row[f"{measure}_sft_{view}"]
            row[f"{prefix}_gain_holds"] = _holds(row[f"{prefix}_gain_chosen"], row[f"{prefix}_gain_other"])
        rows.append(row)
    return pd.DataFrame(rows, columns=DPO_GAIN_SCHEMA.names)


def markdown(agreement_table: pd.DataFrame, gain_table: pd.DataFrame) -> str:
    """Both tables as Markdown (for the summary and the HTML report)."""

    def table(frame: pd.DataFrame) -> str:
        return (
            frame.to_markdown(index=False, floatfmt=".3f")
            if not frame.empty
            else "_(no candidate that two databases can compute)_"
        )

    gain_columns = [
        "model",
        "n_sft",
        "n_dpo",
        "reward_gain_chosen",
        "reward_gain_other",
        "reward_gain_holds",
        "all_rules_gain_chosen",
        "all_rules_gain_other",
        "all_rules_gain_holds",
    ]
    return "\n".join(
        [
            "Rule-flag agreement and reward correlation between databases (candidates scored ok on both and trusted by both):",
            "",
            table(agreement_table),
            "",
            "DPO - SFT gain on the database each candidate was scored on (chosen) and on the other one:",
            "",
            table(gain_table[gain_columns]) if not gain_table.empty else table(gain_table),
            "",
        ]
    )
