"""Paper-scale database report card: every shipped fact on every configured database.

Reads the database list and report-card settings from a config file (the embedded default unless
``--config``), evaluates all facts of ``alloypref/data/phase_facts.csv`` (not only the design
space's), and prints each database's agreement rate, the agreement of the best database per fact
(the rate the per-pair choice of database can reach), the wall time, and every fact that no
database computing it gets right. ``--out`` writes the card and the pair summary as Parquet.

Run (one core, ~1 h cold; the compiled systems are cached under ``--cache``)::

    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --out results/databases/paper_scale

or one process per database, then the figures of both cards::

    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --database mc_ni --out results/databases/paper_scale/mc_ni
    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --database cost507 --out results/databases/paper_scale/cost507
    python benchmarks/report_card_all.py --summarise results/databases/paper_scale/*/report_card.parquet

``--summarise`` keeps the last row of each fact and database (so a card of re-solved facts can follow
the full ones) and only facts of the current facts file.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

import pandas as pd

from alloypref.calphad.pycalphad_backend import PycalphadBackend
from alloypref.calphad.pycalphad_settings import PycalphadSettings
from alloypref.calphad.report_card import (
    PAIR_SUMMARY_SCHEMA,
    REPORT_CARD_SCHEMA,
    agreement_by_database,
    evaluate,
    facts_no_database_gets,
    load_facts,
    pair_summary,
    report_card_settings,
)
from alloypref.config import calphad_settings, load
from alloypref.io import read_parquet, write_parquet
from alloypref.progress import ProgressLog

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="config file (default: the embedded default)")
    parser.add_argument("--facts", default=None, help="facts file (default: the shipped one)")
    parser.add_argument("--cache", default="results/cache/calphad", help="compiled-system cache folder")
    parser.add_argument("--out", default=None, help="folder for report_card.parquet and pair_summary.parquet")
    parser.add_argument("--database", action="append", help="evaluate only this configured database (repeatable)")
    parser.add_argument("--shard", default="1/1", help="i/n: solve only every n-th element set from the i-th")
    parser.add_argument(
        "--summarise", nargs="+", metavar="CARD", help="solve nothing: print the figures of report_card.parquet files"
    )
    args = parser.parse_args()
    if args.summarise:
        # later cards replace earlier rows of the same fact and database; rows of facts that are no
        # longer in the facts file (or changed composition or temperature) are dropped
        card = pd.concat([read_parquet(path, REPORT_CARD_SCHEMA) for path in args.summarise], ignore_index=True)
        card = card.drop_duplicates(["fact_id", "database"], keep="last")
        current = load_facts(args.facts)[["fact_id", "composition", "temperature_K"]]
        card = card.merge(current, on=["fact_id", "composition", "temperature_K"], how="inner")
        card["agrees"] = card["agrees"].astype("boolean")
        if args.out:
            summary = pair_summary(card, report_card_settings(load(args.config)["report_card"]).min_agreement)
            write_parquet(card, Path(args.out) / "report_card.parquet", REPORT_CARD_SCHEMA)
            write_parquet(summary, Path(args.out) / "pair_summary.parquet", PAIR_SUMMARY_SCHEMA)
        print(f"facts {card['fact_id'].nunique()}, databases {sorted(card['database'].unique())}")
        print_figures(card)
        return

    config = load(args.config)
    cal = calphad_settings(config)
    settings = report_card_settings(config["report_card"])
    databases = [spec for spec in cal.databases if not args.database or spec.name in args.database]
    if not databases:
        parser.error(f"--database {args.database}: none of the configured databases {[s.name for s in cal.databases]}")
    backend = PycalphadBackend(
        databases,
        PycalphadSettings(**cal.pycalphad, order_threshold=cal.order_threshold),
        cache_dir=args.cache,
        b2_formers=cal.b2_formers,
    )
    facts = load_facts(args.facts or config["report_card"]["facts"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    progress = ProgressLog(
        len(facts) * len(databases) // max(1, int(args.shard.split("/")[1])), "report card", unit="facts"
    )
    start = time.perf_counter()
    out = Path(args.out) if args.out else None
    parts = []
    partial = out / "report_card.partial.parquet" if out is not None else None
    if partial is not None and partial.is_file():  # resume: element sets already solved are kept
        parts.append(read_parquet(partial, REPORT_CARD_SCHEMA))
        facts = facts[~facts["fact_id"].isin(set(parts[0]["fact_id"]))]
    groups = [group for _, group in facts.groupby("elements", sort=True)]
    shard, n_shards = (int(x) for x in args.shard.split("/"))
    groups = groups[shard - 1 :: n_shards]
    # one element set at a time, so a run stopped early leaves the card of what it finished
    for group in groups:
        parts.append(evaluate(group, backend, settings, progress))
        if out is not None:
            write_parquet(pd.concat(parts, ignore_index=True), out / "report_card.partial.parquet", REPORT_CARD_SCHEMA)
    card = pd.concat(parts, ignore_index=True)
    card["agrees"] = card["agrees"].astype("boolean")
    elapsed = time.perf_counter() - start
    summary = pair_summary(card, settings.min_agreement)
    if out is not None:
        write_parquet(card, out / "report_card.parquet", REPORT_CARD_SCHEMA)
        write_parquet(summary, out / "pair_summary.parquet", PAIR_SUMMARY_SCHEMA)
        (out / "report_card.partial.parquet").unlink()

    print(f"facts {len(facts)}, databases {list(backend.specs)}, wall {elapsed:.0f} s")
    print_figures(card)


def print_figures(card: pd.DataFrame) -> None:
    """Agreement per database, of the best database per fact, and the facts no database gets right."""
    for row in agreement_by_database(card).itertuples():
        print(f"agreement {row.database}: {row.n_agree}/{row.n_facts} = {row.agreement:.3f}")
    computable = card[card["agrees"].notna()]
    best = computable.groupby("fact_id")["agrees"].agg(lambda s: bool(s.astype(bool).any()))
    print(f"agreement best database per fact: {int(best.sum())}/{len(best)} = {best.mean():.3f}")
    uncomputable = sorted(set(card["fact_id"]) - set(computable["fact_id"]))
    print(f"facts no database computes: {uncomputable}")
    wrong = facts_no_database_gets(card)
    print(f"facts no database gets right: {wrong['fact_id'].nunique()}")
    for row in wrong.itertuples():
        print(f"  {row.fact_id:22s} {row.database:8s} expected {row.expected:10s} predicted {row.predicted}")


if __name__ == "__main__":
    main()
