"""One candidate's part of scoring: its databases, its solves, and its reward row.

Nothing kills a shard: a solver error or a timeout is a ``failed`` row with its reason and the worst
reward; only an error that is not about the candidate (an untrusted cache, a broken database) stops
the job.
"""

from __future__ import annotations

import time

from alloypref.calphad.backend import CalphadBackend, CalphadError
from alloypref.calphad.cache import CacheTrustError
from alloypref.calphad.databases import DatabaseError
from alloypref.calphad.trust import TrustedChoice, TrustEvidence
from alloypref.reward import compute_reward
from alloypref.scoring.settings import ScoringSettings


def base_row(triple, options: ScoringSettings) -> dict:
    """The reward row of ``triple`` before it is scored: ``invalid``, the worst reward, no database."""
    worst = options.reward.worst_reward
    return {
        "candidate_id": str(triple.candidate_id),
        "bcc": str(triple.bcc),
        "b2": str(triple.b2),
        "b2_volume_percent": float(triple.b2_volume_percent),
        "master_composition": "",
        "elements": "",
        "status": "invalid",
        "reason": "",
        "database": "",
        "coverage": 0.0,
        "low_coverage": True,
        "trusted": False,
        "trust_reason": "no database used",
        "reward": worst,
        "bcc_b2_exist": False,
        "bcc_forms_first": False,
        "b2_room_temp": False,
        "others_exceed_10": True,
        "min_lattice_mismatch_A": options.reward.mismatch_cap,
        "highest_bcc_K": float("nan"),
        "highest_b2_K": float("nan"),
        "all_rules": False,
        "seconds": 0.0,
        "databases_solved": 0,
    }


def choose_databases(
    backend: CalphadBackend,
    master: dict[str, float],
    trust_evidence: TrustEvidence | None,
    database: str | None,
    aggregate: str,
) -> list[TrustedChoice]:
    """The databases a master composition is solved on, in trust-ranking order (empty: no configured
    database, or not the forced ``database``, holds all its elements).

    ``aggregate`` (:data:`~alloypref.scoring.settings.DATABASE_AGGREGATES`): ``first``, the ranking's
    first; ``min``, every database trusted for it, or the ranking's first when none is.
    """
    choices = backend.database_choices(master, trust_evidence)
    if database is not None:
        choices = [choice for choice in choices if choice.database == database]
    if aggregate == "min":
        return [choice for choice in choices if choice.verdict.trusted] or choices[:1]
    return choices[:1]


def solve_here(backend: CalphadBackend, groups: list[list[tuple]]):
    """:func:`alloypref.calphad.worker.solve_groups`, one request after another in ``backend``: this
    process (no time limit) or a running :class:`~alloypref.calphad.worker.SolverWorker` (its time
    limit)."""
    for g, group in enumerate(groups):
        for r, (composition, temperatures, database) in enumerate(group):
            started = time.perf_counter()
            try:
                answer = backend.phase_table(composition, temperatures, database)
            except CalphadError as exc:
                answer = exc
            except (CacheTrustError, DatabaseError):
                raise  # not about this candidate: stop the job with its message
            except Exception as exc:  # a solver crash is a recorded failure, never a dead shard
                answer = CalphadError(f"{type(exc).__name__}: {exc}")
            yield g, r, answer, time.perf_counter() - started


def record(row: dict, choice: TrustedChoice, answer, seconds: float, options: ScoringSettings):
    """Fill ``row`` (status, reason, database, coverage, trust, reward and flags, seconds) from one
    solver answer on the chosen database.

    ``answer`` is a phase table or a :class:`CalphadError`. Returns the phase table (partial on
    failure, None when nothing was computed).
    """
    row["database"], row["coverage"] = choice.database, float(choice.coverage)
    row["low_coverage"] = bool(choice.coverage < options.min_coverage)
    row["trusted"], row["trust_reason"] = bool(choice.verdict.trusted), choice.verdict.why
    row["seconds"] = float(seconds)
    if isinstance(answer, CalphadError):
        row["status"], row["reason"] = "failed", answer.reason
        return answer.partial_table
    try:
        breakdown = compute_reward(answer, options.reward)
    except Exception as exc:  # a table the reward cannot read is this candidate's failure
        row["status"], row["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        return answer
    row.update(breakdown.as_dict())
    row["status"], row["reason"] = "ok", ""
    return answer


def record_lowest(row: dict, choices: list[TrustedChoice], answers: list[tuple], options: ScoringSettings):
    """Fill ``row`` from the solves of one candidate on each of ``choices`` (``answers``: (answer,
    seconds) in the same order) as :func:`record` does, keeping the lowest reward (ties: the earlier
    choice, the trust ranking's order); ``seconds`` is their sum and ``databases_solved`` their
    count. Returns the kept database's phase table (None when nothing was computed)."""
    best, best_table = None, None
    for choice, (answer, seconds) in zip(choices, answers, strict=True):
        candidate = dict(row)
        table = record(candidate, choice, answer, seconds, options)
        if best is None or candidate["reward"] < best["reward"]:
            best, best_table = candidate, table
    row.update(best)
    row["seconds"] = float(sum(seconds for _, seconds in answers))
    row["databases_solved"] = len(choices)
    return best_table
