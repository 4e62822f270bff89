"""Command line: `alloypref score BCC B2 VOLUME` prints one candidate's phase table, reward and trust
(``--plot FILE``: and draws its phase fractions against temperature);
`alloypref ship-design-space RESULTS --config CONFIG --out DIR` packages a curation run as shipped data;
`alloypref ship-trust --out DIR` computes the trust evidence the command line ships with."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from alloypref import __version__

DESCRIPTION = "AlloyPref: score (BCC, B2, B2 volume %) triples with CALPHAD and the paper's hierarchical reward."
CACHE_ENV = "ALLOYPREF_CACHE"
#: Seconds of silence on stderr after which `score` says it is still running.
SCORE_HEARTBEAT_S = 15.0


def cache_dir(cli_value: str | None, config_path: str | None) -> Path:
    """Where the command line keeps its CALPHAD cache, independent of the working directory:
    ``--cache-dir``, else ``$ALLOYPREF_CACHE``, else ``calphad.cache_dir`` when the ``--config`` file
    sets it, else the user cache folder (``~/.cache/alloypref/calphad`` on Linux, via platformdirs)."""
    if cli_value:
        return Path(cli_value).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if config_path:
        from alloypref.config import load_yaml

        raw = load_yaml(config_path)
        configured = (
            (raw.get("calphad") or {}).get("cache_dir")
            if isinstance(raw, dict) and isinstance(raw.get("calphad"), dict)
            else None
        )
        if configured:
            return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("alloypref")) / "calphad"


def default_database_names() -> list[str]:
    """Names of the databases the default config uses (for the help text)."""
    from alloypref import config as config_module

    return [db["name"] for db in config_module.schema()["properties"]["calphad"]["properties"]["databases"]["default"]]


def _count(low: int, high: int):
    """An argparse type: an integer from ``low`` to ``high`` (``-4`` cores or ``2.5`` GPUs is refused)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    parse.__name__ = "count"  # argparse names the type in its messages
    return parse


def strict_json(value):
    """``value`` as strict JSON data: a NaN or infinite number (a missing temperature, say) becomes
    null, numpy scalars plain numbers, tuples lists, anything else unknown its text."""
    if isinstance(value, dict):
        return {str(key): strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if pd.isna(value):  # pandas NA, NaT
        return None
    return str(value)


def _trust_evidence(folder: str | None, cfg, temperatures_K):
    """The weakest-link trust evidence ``score`` judges by, on the scoring grid (K) with config
    ``calphad.trust``: the files in ``folder`` (``--trust-evidence``), else those shipped with the package."""
    from alloypref.calphad.trust import TrustEvidence, TrustSettings

    settings = TrustSettings.from_config(cfg["calphad"].get("trust"))
    if folder:
        return TrustEvidence.from_folder(Path(folder).expanduser(), temperatures_K, settings)
    return TrustEvidence.shipped(temperatures_K, settings)


def _score(args: argparse.Namespace) -> int:
    from alloypref import config as config_module
    from alloypref import progress
    from alloypref.backend_factory import make_backend
    from alloypref.calphad.cache import CacheTrustError
    from alloypref.calphad.databases import DatabaseError
    from alloypref.composition import FormulaError, master_from_text
    from alloypref.progress import Heartbeat
    from alloypref.scoring import ScoringSettings, score_one

    try:
        cfg = config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg["calphad"]["cache_dir"] = str(cache_dir(args.cache_dir, args.config))
    if args.database:
        cfg["calphad"]["databases"] = [d for d in cfg["calphad"]["databases"] if d["name"] == args.database]
        if not cfg["calphad"]["databases"]:
            print(f"error: --database {args.database!r} is not configured", file=sys.stderr)
            return 2
    settings = config_module.calphad_settings(cfg)
    try:
        master = master_from_text(args.bcc, args.b2, args.volume)
    except FormulaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = ScoringSettings.from_settings(settings)
    try:
        evidence = _trust_evidence(args.trust_evidence, cfg, settings.temperatures_K)
    except (OSError, ValueError) as exc:
        where = f"--trust-evidence {args.trust_evidence}" if args.trust_evidence else "shipped trust evidence"
        print(f"error: {where}: {exc}", file=sys.stderr)
        return 2
    heartbeat = Heartbeat(progress.log, interval_s=SCORE_HEARTBEAT_S)  # a cold system compiles for a minute
    try:
        row, table = score_one(args.bcc, args.b2, args.volume, make_backend(settings), options, evidence)
    except (DatabaseError, CacheTrustError) as exc:  # configuration, not the candidate
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        heartbeat.stop()
    verdict = evidence.judge(master, row["database"]) if row["database"] else None
    if args.plot:
        _plot(args, row, table)
    if args.json:
        record = {
            "triple": {"bcc": args.bcc, "b2": args.b2, "b2_volume_percent": args.volume},
            "result": dict(row),
            "trust": None if verdict is None else verdict._asdict(),
            "phase_table": table.to_dict(orient="records"),
        }
        print(json.dumps(strict_json(record), indent=1, allow_nan=False))
        return 0 if row["status"] == "ok" else 1
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(score_text(args, row, table, verdict, options.reward))
    return 0 if row["status"] == "ok" else 1


def _plot(args: argparse.Namespace, row: dict, table: pd.DataFrame) -> None:
    """Draw ``--plot``: the candidate's phase fractions against temperature (PNG), or say on stderr
    why there is nothing to draw (no database could compute it)."""
    from alloypref.evaluation.figures import phase_fraction_chart
    from alloypref.evaluation.phase_curves import phase_curves

    if table.empty:
        print(
            f"no phase table to plot ({row['status']}: {row['reason'] or 'nothing computed'}); {args.plot} not written",
            file=sys.stderr,
        )
        return
    trust = "trusted" if row["trusted"] else "NOT TRUSTED"
    title = (
        f"{args.bcc} + {args.b2} @ {args.volume:g} % B2  (master {row['master_composition']})\n"
        f"{row['database']}, {trust}, status {row['status']}, reward {row['reward']:.4f}"
    )
    phase_fraction_chart(phase_curves(table), Path(args.plot).expanduser(), title)
    print(f"wrote {args.plot}", file=sys.stderr)


def mismatch_text(row: dict, reward) -> str:
    """The min lattice mismatch of a scored row as known: none where BCC and B2 never coexist (Eq. 1
    then subtracts ``reward.mismatch_cap``), the cap where it stands in for an unknown or larger one."""
    unit = " Å" if reward.mismatch == "absolute" else " (relative)"
    cap = f"{reward.mismatch_cap:g}{unit}"
    if not row["bcc_b2_exist"]:
        return f"BCC and B2 never coexist: no mismatch (Eq. 1 subtracts the cap, {cap})"
    if row["min_lattice_mismatch_A"] >= reward.mismatch_cap:
        return f"{cap}, the cap: at least this, or no lattice parameters where BCC and B2 coexist"
    return f"{row['min_lattice_mismatch_A']:.4f}{unit}"


def score_text(args: argparse.Namespace, row: dict, table: pd.DataFrame, verdict, reward) -> str:
    """What `alloypref score` prints: what is known of the candidate, and what is not, said so. A
    candidate that is not scored (status invalid or failed) shows why instead of placeholder flags."""
    lines = [
        f"BCC {args.bcc}  B2 {args.b2}  B2 volume {args.volume:g} %  ->  master {row['master_composition'] or '-'}"
    ]
    if row["status"] != "ok":
        where = f" on {row['database']}" if row["database"] else ""
        lines.append(f"not scored{where} (status {row['status']}): {row['reason']}")
        lines.append(
            f"{'reward':<22} {row['reward']:.4f}  (the worst reward, which a candidate that is not scored gets)"
        )
        return "\n".join(lines)
    lines.append(
        f"database {row['database']}  coverage {row['coverage']:.2f}"
        f"{'  (LOW COVERAGE)' if row['low_coverage'] else ''}"
        f"  {'trusted' if row['trusted'] else 'NOT TRUSTED'}  status {row['status']}"
    )
    if verdict is not None and verdict.reasons:
        lines.append(f"not trusted on {verdict.database} because:")
        lines += [f"  - {reason}" for reason in verdict.reasons]
    lines.append("")
    if not table.empty:
        shown = table.copy()
        shown["order_parameter"] = shown["order_parameter"].round(3)
        shown["mole_fraction"] = shown["mole_fraction"].round(4)
        shown["lattice_parameter_A"] = shown["lattice_parameter_A"].round(4)
        lines += [shown.to_string(index=False), ""]
    lines += [
        f"{flag:<22} {'yes' if row[flag] else 'NO'}" for flag in ("bcc_b2_exist", "bcc_forms_first", "b2_room_temp")
    ]
    lines.append(f"{'others_exceed_10%':<22} {'YES (violated)' if row['others_exceed_10'] else 'no'}")
    lines.append(f"{'min_lattice_mismatch':<22} {mismatch_text(row, reward)}")
    lines.append(f"{'reward':<22} {row['reward']:.4f}")
    return "\n".join(lines)


def _ship_design_space(args: argparse.Namespace) -> int:
    from alloypref import config as config_module
    from alloypref.calphad.cache import CacheTrustError
    from alloypref.shipped_design_space import write_shipped

    out = Path(args.out)
    try:
        config = config_module.load(args.config)
        provenance = write_shipped(config, Path(args.results), out, Path(__file__).resolve().parents[2])
    except (ValueError, OSError, CacheTrustError) as exc:  # config, a missing or unreadable run table, --out
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {json.dumps(provenance['curation_counts'])}")
    return 0


def _ship_trust(args: argparse.Namespace) -> int:
    from alloypref import config as config_module
    from alloypref import shipped_trust
    from alloypref.calphad.cache import CacheTrustError

    try:
        cfg = config_module.load(args.config)
        cache = cache_dir(args.cache_dir, args.config)
        cfg["calphad"]["cache_dir"] = str(cache)
        shards = Path(args.shards).expanduser() if args.shards else cache.parent / "report_card"
        tables = shipped_trust.compute(cfg, shards)
        record = shipped_trust.provenance(cfg, tables, Path(__file__).resolve().parents[2])
        out = shipped_trust.write(tables, args.out, record)
    except (ValueError, OSError, CacheTrustError) as exc:  # config, database, facts or inventory: not a crash
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = record["counts"]
    print(
        f"wrote {out}: {counts['phase_checks']} phase checks, {counts['subsystem_verdicts']} subsystem verdicts "
        f"({counts['untrusted_subsystems']} untrusted) over {record['facts']['n_facts']} facts on "
        f"{', '.join(d['name'] for d in record['databases'])}; shards in {shards}"
    )
    return 0


def _stage_times(args: argparse.Namespace) -> int:
    from alloypref.stage_times import BenchmarkError, stage_times, totals

    try:
        table = stage_times(args.results)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = table.round({"wall_s": 0, "cpu_s": 0, "max_job_cpu_s": 0, "max_rss_mb": 0})
    print(shown.to_markdown(index=False) if args.markdown else shown.to_string(index=False))
    total = totals(table)
    print(f"\n{total['jobs']} jobs, {total['wall_s']:.0f} s of job wall time, {total['cpu_s']:.0f} CPU s")
    return 0


def _side_by_side(args: argparse.Namespace) -> int:
    from alloypref.evaluation.side_by_side import RunError, report

    try:
        print(report([Path(r) for r in args.results]))
    except RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _curation_to_cost(args: argparse.Namespace, cfg: dict) -> pd.DataFrame | None:
    """The curation table ``cost-model`` sizes the run from: ``--design-space``'s, else the config's
    shipped one; None (the reason printed) when a config that curates names no run."""
    from alloypref.design_space import FILTER_SCHEMA
    from alloypref.io import read_parquet
    from alloypref.shipped_design_space import load_shipped

    if args.design_space:
        path = Path(args.design_space) / "design_space" / "curation.parquet"
        if not path.is_file():
            print(f"error: --design-space {args.design_space}: no {path}", file=sys.stderr)
            return None
        return read_parquet(path, FILTER_SCHEMA)
    if cfg["design_space"].get("curated") == "shipped":
        return load_shipped(cfg["design_space"]["shipped"]).curation
    print(
        f"error: {args.config} curates its design space (design_space.curated: compute), so its size is known only "
        "after curation: pass --design-space RESULTS_DIR of a run that curated it",
        file=sys.stderr,
    )
    return None


def _cost_model(args: argparse.Namespace) -> int:
    from alloypref import config as config_module
    from alloypref import cost_model, measured_rates

    try:
        cfg = config_module.load(args.config)
        curation = _curation_to_cost(args, cfg)
        if curation is None:
            return 2
        size = cost_model.design_space_size(cfg, curation)
        table = cost_model.cost_table(cfg, size)
    except (ValueError, OSError) as exc:  # config, shipped or --design-space tables
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.config}: {size.triples:,} SFT triples; model samples can fall in {size.model_element_sets:,} element "
        f"sets, random searches in {size.random_element_sets:,}\n"
    )
    shown = table.assign(work=table["work"].round(0).astype(int)).round(
        {"gpu_hours": 2, "gpu_hours_plain": 2, "cpu_core_hours": 1}
    )
    print(shown.to_markdown(index=False))
    total = cost_model.totals(table)
    print(
        f"\ntotal: {total['gpu_hours']:.1f} GPU-hours ({total['gpu_hours_plain']:.1f} on the plain HF + PEFT loop), "
        f"{total['cpu_core_hours']:.1f} CPU core-hours"
    )
    for cores in args.cores:
        wall = cost_model.wall_hours(cfg, size, cores, args.gpus)
        print(
            f"on one machine of {cores} cores and {args.gpus} GPU(s): about {wall['hours']:.1f} h "
            f"(longest model chain {wall['chain_hours']:.1f} h, CPU work / cores {wall['cpu_bound_hours']:.1f} h, "
            f"GPU work / GPUs {wall['gpu_bound_hours']:.1f} h)"
        )
    rates = dataclasses.asdict(measured_rates.MeasuredRates())
    print("\nmeasured rates: " + ", ".join(f"{k} {v:g}" for k, v in rates.items()))
    return 0


def _printable_in_any_locale() -> None:
    """Keep the terminal's encoding but write what it cannot encode as escapes (``\\xc5`` for Å):
    under an ASCII locale (``LC_ALL=C`` with ``PYTHONUTF8=0``) a printed Å would end the command."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _show_progress(verbose: bool) -> None:
    """Progress lines (a system compiling, a heartbeat) go to stderr even without --verbose: a cold
    score is a minute of work, which must not look like a hang. Bare lines; with --verbose, the root
    logger's, like every other message."""
    from alloypref import progress

    progress.log.setLevel(logging.INFO)
    progress.log.propagate = verbose
    for handler in list(progress.log.handlers):  # a main() before this one, in the same process
        progress.log.removeHandler(handler)
    if not verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        progress.log.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    _printable_in_any_locale()
    parser = argparse.ArgumentParser(prog="alloypref", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"alloypref {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score one (BCC, B2, B2 volume %%) triple and print its phase table")
    score.add_argument("bcc", help="BCC matrix formula, e.g. Cr33Fe67")
    score.add_argument("b2", help="B2 precipitate formula, e.g. MnAl2Fe")
    score.add_argument("volume", type=float, help="B2 volume percent, 0-100")
    score.add_argument("--config", default=None, help="config YAML (default: built-in defaults)")
    score.add_argument(
        "--database",
        default=None,
        help="force one configured database by name (default config: " + ", ".join(default_database_names()) + ")",
    )
    score.add_argument(
        "--cache-dir",
        default=None,
        help=f"CALPHAD cache folder (default: ${CACHE_ENV}, else calphad.cache_dir of --config, else the user cache folder)",
    )
    score.add_argument(
        "--trust-evidence",
        default=None,
        metavar="DIR",
        help="folder of weakest-link trust evidence: a run's results/databases (phase_inventory_phases.parquet, "
        "subsystem_verdicts.parquet) or an `alloypref ship-trust` output; default: the evidence shipped with the "
        "package for the shipped databases",
    )
    score.add_argument("--json", action="store_true", help="print the result row and the phase table as JSON")
    score.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="also draw the phase fractions against temperature, one line per phase (the paper's Fig. 9), "
        "as a PNG to FILE",
    )
    score.add_argument("-v", "--verbose", action="store_true")
    ship = sub.add_parser(
        "ship-design-space",
        help="package a finished curation run (RESULTS/design_space) as a shipped design space with its provenance",
    )
    ship.add_argument("results", help="the run's results_dir, holding design_space/curation.parquet")
    ship.add_argument("--config", required=True, help="the config YAML the curation ran with")
    ship.add_argument(
        "--out",
        required=True,
        help="output folder; the package's own copy is src/alloypref/data/design_space/paper (name it to regenerate it)",
    )
    ship.add_argument("-v", "--verbose", action="store_true")
    trust = sub.add_parser(
        "ship-trust",
        help="compute the trust evidence (phase inventory checks and the report card over all shipped facts) of a "
        "config's databases and write phase_checks.parquet, subsystem_verdicts.parquet and provenance.json",
    )
    trust.add_argument(
        "--out",
        required=True,
        help="output folder; the package's own copy is src/alloypref/data/trust (name it to regenerate it)",
    )
    trust.add_argument("--config", default=None, help="config YAML (default: built-in defaults)")
    trust.add_argument(
        "--shards",
        default=None,
        help="folder of solved report-card shards, reused when their facts, database and settings match "
        "(default: report_card next to the CALPHAD cache folder)",
    )
    trust.add_argument(
        "--cache-dir",
        default=None,
        help=f"CALPHAD cache folder (default: ${CACHE_ENV}, else calphad.cache_dir of --config, else the user cache folder)",
    )
    trust.add_argument("-v", "--verbose", action="store_true")
    times = sub.add_parser(
        "stage-times",
        help="jobs, wall and CPU seconds and peak memory per rule of a run, from its Snakemake benchmark files",
    )
    times.add_argument("results", help="the run's results_dir, holding benchmarks/")
    times.add_argument("--markdown", action="store_true", help="print a Markdown table")
    times.add_argument("-v", "--verbose", action="store_true")
    side = sub.add_parser(
        "side-by-side",
        help="finished runs side by side: headline numbers with intervals, parse failures, elements used",
    )
    side.add_argument("results", nargs="+", help="results_dir of each finished run (e.g. results results/smol)")
    side.add_argument("-v", "--verbose", action="store_true")
    cost = sub.add_parser(
        "cost-model",
        help="GPU-hours and CPU core-hours per stage of a config, from measured rates (to size an allocation)",
    )
    cost.add_argument("--config", required=True, help="the config YAML to cost")
    cost.add_argument(
        "--design-space",
        default=None,
        help="results_dir of a run whose design_space/curation.parquet to use (default: the config's shipped one)",
    )
    cost.add_argument(
        "--cores",
        type=_count(1, 100_000),
        nargs="+",
        default=[16, 32, 64],
        help="machine sizes (CPU cores, 1 to 100000) to estimate wall time for",
    )
    cost.add_argument("--gpus", type=_count(0, 1024), default=1, help="GPUs of that machine (0 to 1024, default 1)")
    cost.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    _show_progress(verbose=args.verbose)
    if not args.verbose:
        warnings.filterwarnings("ignore", module="pycalphad")
    if args.command == "score":
        return _score(args)
    if args.command == "ship-design-space":
        return _ship_design_space(args)
    if args.command == "ship-trust":
        return _ship_trust(args)
    if args.command == "stage-times":
        return _stage_times(args)
    if args.command == "side-by-side":
        return _side_by_side(args)
    if args.command == "cost-model":
        return _cost_model(args)
    return 2


def entry_point() -> None:
    """The ``alloypref`` console script: fixes Python's hash seed first, like the workflow does.

    pycalphad can settle on a different composition set in near-degenerate cases depending on set
    iteration order, so an unseeded interpreter re-executes itself once with PYTHONHASHSEED=0.
    """
    import os

    if "PYTHONHASHSEED" not in os.environ:
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, "-m", "alloypref.cli", *sys.argv[1:]])
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
