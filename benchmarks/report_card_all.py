"""Paper-scale database report card: every shipped fact on every configured database.

Reads the database list and report-card settings from a config file (the embedded default unless
``--config``), evaluates all facts of ``alloypref/data/phase_facts.csv`` (not only the design
space's), and prints per database and for the best database per fact (``best_of``) the facts that
agree, the calibration pass rate (all, and on the subsystems the database is trusted for), the
failed detection facts and the subsystems they untrust, the wall time, and every fact that no
database computing it gets right. ``--out`` writes the card, the pair summary, the subsystem
verdicts and the per-database summary as Parquet, and the HTML tables.

Run (one core, ~25 min per database cold on a shared 2-core machine for the 343 facts; the compiled
systems are cached under ``--cache``)::

    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --out results/databases/paper_scale

or one process per database, then the figures of both cards::

    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --database mc_ni --out results/databases/paper_scale/mc_ni
    PYTHONHASHSEED=0 python benchmarks/report_card_all.py --database cost507 --out results/databases/paper_scale/cost507
    python benchmarks/report_card_all.py --summarise results/databases/paper_scale/*/report_card.parquet

``--summarise`` keeps the last row of each fact and database (so a card of re-solved facts can follow
the full ones) and only facts of the current facts file, labelled (role, status, source) by it.

Every (database, subsystem) shard is kept under ``--shards`` (default ``OUT/shards``) as soon as it is
solved, keyed by its facts, the database file and the settings: a run stopped at any point resumes
where it stopped, and a changed fact re-solves only its own subsystem.
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
    DATABASE_SUMMARY_SCHEMA,
    PAIR_SUMMARY_SCHEMA,
    REPORT_CARD_SCHEMA,
    SUBSYSTEM_VERDICT_SCHEMA,
    card_html,
    database_summary,
    evaluate_sharded,
    facts_no_database_gets,
    load_facts,
    pair_summary,
    report_card_settings,
    subsystem_verdicts,
)
from alloypref.config import calphad_settings, load
from alloypref.io import atomic_write_text, read_parquet, write_parquet
from alloypref.progress import ProgressLog

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="config file (default: the embedded default)")
    parser.add_argument("--facts", default=None, help="facts file (default: the shipped one)")
    parser.add_argument("--cache", default="results/cache/calphad", help="compiled-system cache folder")
    parser.add_argument("--out", default=None, help="folder for the card, its summaries and (unless --shards) shards/")
    parser.add_argument("--shards", default=None, help="folder of solved shards (default: OUT/shards)")
    parser.add_argument("--database", action="append", help="evaluate only this configured database (repeatable)")
    parser.add_argument("--shard", default="1/1", help="i/n: solve only every n-th subsystem from the i-th")
    parser.add_argument(
        "--summarise", nargs="+", metavar="CARD", help="solve nothing: print the figures of report_card.parquet files"
    )
    args = parser.parse_args()
    if args.summarise:
        # later cards replace earlier rows of the same fact and database; rows of facts that are no
        # longer in the facts file (or changed composition or temperature) are dropped
        card = pd.concat([read_parquet(path, REPORT_CARD_SCHEMA) for path in args.summarise], ignore_index=True)
        card = card.drop_duplicates(["fact_id", "database"], keep="last")
        # the facts' labels (role, status, source) are the current file's, as when shards are read
        current = load_facts(args.facts)[["fact_id", "composition", "temperature_K", "role", "status", "source"]]
        card = card.drop(columns=["role", "fact_status", "source"]).merge(
            current.rename(columns={"status": "fact_status"}), on=["fact_id", "composition", "temperature_K"]
        )
        card["agrees"] = card["agrees"].astype("boolean")
        if args.out:
            write_outputs(card, Path(args.out), report_card_settings(load(args.config)["report_card"]).min_agreement)
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
    subsystems = sorted(facts["elements"].unique())
    shard, n_shards = (int(x) for x in args.shard.split("/"))
    facts = facts[facts["elements"].isin(subsystems[shard - 1 :: n_shards])]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    progress = ProgressLog(len(facts) * len(databases), "report card", unit="facts")
    start = time.perf_counter()
    out = Path(args.out) if args.out else None
    # every (database, subsystem) shard is kept as soon as it is solved: a stopped run resumes
    shard_dir = Path(args.shards) if args.shards else (out / "shards" if out else Path("results/cache/report_card"))
    card = evaluate_sharded(facts, backend, settings, shard_dir, progress, databases=[s.name for s in databases])
    elapsed = time.perf_counter() - start
    if out is not None:
        write_outputs(card, out, settings.min_agreement)
    print(f"facts {len(facts)}, databases {list(backend.specs)}, wall {elapsed:.0f} s")
    print_figures(card)


def write_outputs(card: pd.DataFrame, out: Path, min_agreement: float) -> None:
    """The card, pair summary, subsystem verdicts, per-database summary (Parquet) and the HTML tables."""
    verdicts = subsystem_verdicts(card)
    write_parquet(card, out / "report_card.parquet", REPORT_CARD_SCHEMA)
    write_parquet(pair_summary(card, min_agreement), out / "pair_summary.parquet", PAIR_SUMMARY_SCHEMA)
    write_parquet(verdicts, out / "subsystem_verdicts.parquet", SUBSYSTEM_VERDICT_SCHEMA)
    write_parquet(database_summary(card, verdicts), out / "database_summary.parquet", DATABASE_SUMMARY_SCHEMA)
    atomic_write_text(out / "report_card.html", card_html(card))


def print_figures(card: pd.DataFrame) -> None:
    """Per database and best-of: calibration pass rates, failed detection facts and the subsystems
    they untrust, and the counted facts no database gets right."""
    verdicts = subsystem_verdicts(card)
    for row in database_summary(card, verdicts).itertuples():
        print(
            f"{row.database:8s} facts {row.n_agree}/{row.n_facts} agree; calibration "
            f"{row.n_calibration_agree}/{row.n_calibration} = {row.calibration_pass_rate:.3f} (on trusted subsystems "
            f"{row.n_calibration_trusted_agree}/{row.n_calibration_trusted} = {row.calibration_pass_rate_trusted:.3f}); "
            f"detection failed {row.n_detection_failed}/{row.n_detection}"
        )
    for row in verdicts[verdicts["verdict"] == "untrusted"].itertuples():
        print(f"  untrusted {row.database:8s} {row.subsystem:24s} by {', '.join(row.failed_detection)}")
    uncomputable = sorted(set(card["fact_id"]) - set(card.loc[card["agrees"].notna(), "fact_id"]))
    print(f"facts no database computes: {uncomputable}")
    wrong = facts_no_database_gets(card)
    print(f"facts no database gets right: {wrong['fact_id'].nunique()}")
    for row in wrong.itertuples():
        print(f"  {row.fact_id:34s} {row.database:8s} expected {row.expected:16s} predicted {row.predicted}")


if __name__ == "__main__":
    main()
