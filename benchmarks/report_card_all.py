"""Paper-scale database report card: every shipped fact on every configured database.

Reads the database list and report-card settings from a config file (the embedded default unless
``--config``), evaluates all facts of ``alloypref/data/phase_facts.csv`` (not only the design
space's), and prints each database's agreement rate, the agreement of the best database per fact
(the rate the per-pair choice of database can reach), the wall time, and every fact that no
database computing it gets right. ``--out`` writes the card and the pair summary as Parquet.

Run (one core, ~1 h cold; the compiled systems are cached under ``--cache``)::

    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --out results/databases/paper_scale
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from alloypref.calphad.pycalphad_backend import PycalphadBackend, PycalphadSettings
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
from alloypref.io import write_parquet

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="config file (default: the embedded default)")
    parser.add_argument("--facts", default=None, help="facts file (default: the shipped one)")
    parser.add_argument("--cache", default="results/cache/calphad", help="compiled-system cache folder")
    parser.add_argument("--out", default=None, help="folder for report_card.parquet and pair_summary.parquet")
    args = parser.parse_args()

    config = load(args.config)
    cal = calphad_settings(config)
    settings = report_card_settings(config["report_card"])
    backend = PycalphadBackend(
        cal.databases,
        PycalphadSettings(**cal.pycalphad, order_threshold=cal.order_threshold),
        cache_dir=args.cache,
        b2_formers=cal.b2_formers,
    )
    facts = load_facts(args.facts or config["report_card"]["facts"])
    start = time.perf_counter()
    card = evaluate(facts, backend, settings)
    elapsed = time.perf_counter() - start
    summary = pair_summary(card, settings.min_agreement)
    if args.out:
        out = Path(args.out)
        write_parquet(card, out / "report_card.parquet", REPORT_CARD_SCHEMA)
        write_parquet(summary, out / "pair_summary.parquet", PAIR_SUMMARY_SCHEMA)

    print(f"facts {len(facts)}, databases {list(backend.specs)}, wall {elapsed:.0f} s")
    for row in agreement_by_database(card).itertuples():
        print(f"agreement {row.database}: {row.n_agree}/{row.n_facts} = {row.agreement:.3f}")
    computable = card[card["agrees"].notna()]
    best = computable.groupby("fact_id")["agrees"].agg(lambda s: bool(s.astype(bool).any()))
    print(f"agreement best database per fact: {int(best.sum())}/{len(best)} = {best.mean():.3f}")
    uncomputable = sorted(set(facts["fact_id"]) - set(computable["fact_id"]))
    print(f"facts no database computes: {uncomputable}")
    wrong = facts_no_database_gets(card)
    print(f"facts no database gets right: {wrong['fact_id'].nunique()}")
    for row in wrong.itertuples():
        print(f"  {row.fact_id:22s} {row.database:8s} expected {row.expected:10s} predicted {row.predicted}")


if __name__ == "__main__":
    main()
