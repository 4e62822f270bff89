"""Helpers shared by test modules (no test module imports another): paths, the small reference databases
and pycalphad backend construction, a fake CALPHAD backend for scoring, a tiny language model and its SFT
data, hand-made phase tables, and running Snakemake on a copy of the workflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from alloypref.calphad.backend import CalphadError
from alloypref.calphad.databases import B2Formers, DatabaseSettings
from alloypref.calphad.pycalphad_backend import PycalphadBackend
from alloypref.calphad.pycalphad_settings import PycalphadSettings
from alloypref.calphad.tables import Structure, phase_table
from alloypref.calphad.trust import TrustedChoice, TrustEvidence, TrustVerdict, rank_databases
from alloypref.design_space import completion_text, prompt_text
from alloypref.lm.registry import ModelSettings, TinyModelSettings, TrainSettings
from alloypref.reward import RewardSettings
from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA, ScoringSettings

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"

#: Ni-Al (Dupin 2001), a small published assessment with ordered and disordered BCC.
NIAL = DatabaseSettings(
    "nial", str(DATA / "NI_AL_DUPIN_2001.TDB"), {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like", "LIQUID": "liquid"}
)

#: Al-Fe (Seiersten), the second small published assessment.
ALFE = DatabaseSettings(
    "alfe", str(DATA / "alfe_sei.TDB"), {"BCC_A2": "bcc_like", "B2_BCC": "bcc_like", "LIQUID": "liquid"}
)


def pycalphad_backend(
    databases: Iterable[DatabaseSettings], cache_dir: Path | None, b2_formers: B2Formers | None = None, **solver
) -> PycalphadBackend:
    """A pycalphad backend on ``databases`` caching in ``cache_dir``; ``solver``: fields of
    :class:`PycalphadSettings` that differ from its defaults (e.g. ``pdens_fine=0``)."""
    return PycalphadBackend(list(databases), PycalphadSettings(**solver), cache_dir, b2_formers)


# Scoring against a fake CALPHAD backend

#: The scoring temperatures of the fake backend's tests, in K.
GRID = (373.15, 1273.15)


def hand_phase_table(spec):
    """A phase table from ``{temperature (K): [(structure, mole fraction, lattice parameter (Å)), ...]}``."""
    out = []
    for temperature, phases in spec.items():
        for i, (structure, fraction, lattice) in enumerate(phases):
            out.append(
                {
                    "temperature_K": temperature,
                    "phase": f"P{i}#1",
                    "structure": structure,
                    "mole_fraction": fraction,
                    "is_ordered": structure == Structure.B2,
                    "order_parameter": float("nan"),
                    "lattice_parameter_A": lattice,
                    "status": "ok",
                }
            )
    return phase_table(out)


class FakeBackend:
    """BCC + B2 at every temperature; counts calls; can fail, hang or crash on request."""

    name = "fake"

    def __init__(self, fail_on=(), hang_on=(), crash_after=None):
        self.calls = []
        self.fail_on, self.hang_on, self.crash_after = set(fail_on), set(hang_on), crash_after

    def elements(self):
        return {"Nb", "Mo", "Al", "Ni", "Ti"}

    def choose_database(self, composition):
        return ("fakedb", 1.0) if set(composition) <= self.elements() else (None, 0.0)

    def database_choices(self, composition, trust_evidence=None):
        """One database; trusted when no evidence is given (the fake's physics is not in question)."""
        if not set(composition) <= self.elements():
            return []
        if trust_evidence is None:
            return [TrustedChoice(TrustVerdict("fakedb", True, ()), 1.0)]
        return rank_databases(trust_evidence, composition, [("fakedb", 1.0)])

    def phase_table(self, composition, temperatures_K, database):
        key = "-".join(sorted(composition))
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(key)
        if key in self.fail_on:
            raise CalphadError("no converged equilibrium at 373.15 K")
        if key in self.hang_on:
            time.sleep(5)
        return phase_table(
            [
                {
                    "temperature_K": t,
                    "phase": p,
                    "structure": s,
                    "mole_fraction": 0.5,
                    "is_ordered": s == Structure.B2,
                    "order_parameter": 0.0,
                    "lattice_parameter_A": a,
                    "status": "ok",
                }
                for t in temperatures_K
                for p, s, a in (("BCC_B2#1", Structure.BCC, 3.0), ("BCC_B2#2", Structure.B2, 2.99))
                if t < max(temperatures_K) or s == Structure.BCC
            ]
        )


def triples(rows):
    """A triples table (candidate_id, bcc, b2, b2_volume_percent) from ``rows``."""
    return pd.DataFrame(rows, columns=["candidate_id", "bcc", "b2", "b2_volume_percent"])


# In-process (isolate=False) where a test counts the fake backend's calls; the worker process is
# exercised by the timeout tests.
OPTIONS = ScoringSettings(GRID, RewardSettings(), min_coverage=0.5, timeout_s=1.0, checkpoint_every=1, isolate=False)


# A tiny language model and its SFT data

PROMPT = prompt_text(["Al", "Mo", "Nb", "Ni", "Ti", "V"], "short")
FORMULAS = [("Nb67Mo33", "NiAl"), ("Ti2Nb2Mo", "AlTiNi2"), ("MoV", "TiNi"), ("Nb", "NiAl"), ("NbTiV", "AlNi")]


def sft_frame(repeats=8):
    """SFT rows (prompt, completion, bcc, b2, b2_volume_percent): ``FORMULAS`` ``repeats`` times, volumes seeded."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(repeats):
        for bcc, b2 in FORMULAS:
            volume = round(float(rng.uniform(20, 70)), 2)
            rows.append(
                {
                    "prompt": PROMPT,
                    "completion": completion_text(bcc, b2, volume),
                    "bcc": bcc,
                    "b2": b2,
                    "b2_volume_percent": volume,
                }
            )
    return pd.DataFrame(rows)


#: A tiny Llama-like model trained from scratch in seconds on ``sft_frame()``.
TINY = ModelSettings(
    "tiny",
    "tiny",
    tiny=TinyModelSettings(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=300
    ),
    sft=TrainSettings(epochs=6, learning_rate=5e-3, batch_size=8, logging_steps=1, max_length=64),
    dpo=TrainSettings(epochs=1, learning_rate=1e-3, batch_size=8, logging_steps=1, max_length=64),
)


# Snakemake on a copy of the workflow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run(args, cwd=REPO, check=True):
    """``snakemake args`` in ``cwd``; with ``check``, a failure raises with the tails of its output."""
    result = subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_workflow(tmp_path: Path) -> Path:
    """A copy of the workflow (Snakefile, rules, scripts, configs, test data, src) in ``tmp_path/wf``."""
    work = tmp_path / "wf"
    for name in (
        "Snakefile",
        "rules",
        "envs",
        "report",
        "workflow_scripts",
        "config",
        "tests/config",
        "tests/data",
        "profiles",
    ):
        source = REPO / name
        target = work / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    shutil.copytree(REPO / "src", work / "src")
    return work


def paper_config_with_model_folders(tmp_path: Path, name: str = "paper", curated: str | None = None) -> Path:
    """config/<name>.yaml with its local model paths pointed at stand-in Hugging Face folders (and
    with ``curated``, its design_space.curated switch set)."""
    config = yaml.safe_load((REPO / f"config/{name}.yaml").read_text())
    if curated is not None:
        config["design_space"]["curated"] = curated
    for model, entry in config["models"].items():
        if entry.get("source") != "local":
            continue
        folder = tmp_path / "models" / model
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        entry["path"] = str(folder)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run_job_counts(text: str) -> dict[str, int]:
    """Jobs per rule of a dry run's output (its first "Job stats" table), without the total."""
    table = text[text.index("Job stats:") :].split("\n\n", 1)[0]
    rows = (line.split() for line in table.splitlines()[3:])
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[0] != "total"}


#: Hand-made trust evidence: each database holds the Al-Ni inventory phase NiAl (B2) and models it,
#: so nothing is missing; untrust comes only from the failed detection facts given.
LISTED = ("Al-Ni",)


def trust_evidence(
    failed: dict[str, dict[str, list[str]]], databases=("mc_ni", "cost507"), settings=None, listed=LISTED
):
    """Evidence on ``databases`` where ``failed[database][subsystem]`` lists the detection facts that
    subsystem fails there (none: trusted); ``listed``: the pairs the phase inventory knows."""
    checks = pd.DataFrame(
        [
            {
                "database": name,
                "system": "Al-Ni",
                "phase_kind": "b2",
                "phase": "AlNi",
                "x_min": 0.42,
                "x_max": 0.69,
                "T_min_K": 0.0,
                "T_max_K": 1911.0,
                "confirmed": True,
                "source": "hand-made",
                "in_database": True,
                "phase_exists": True,
                "has_constituents": True,
                "has_parameters": True,
                "modelled": True,
                "database_phases": "BCC_B2",
            }
            for name in databases
        ]
    )
    verdicts = pd.DataFrame(
        [
            {"database": name, "subsystem": subsystem, "failed_detection": facts}
            for name, subsystems in failed.items()
            for subsystem, facts in subsystems.items()
        ],
        columns=["database", "subsystem", "failed_detection"],
    )
    return TrustEvidence(checks, verdicts, GRID, settings, listed_systems=listed)


class TwoDatabaseBackend(FakeBackend):
    """mc_ni (configured first) answers BCC + B2 (every rule met), cost507 BCC only; cost507 lacks Ti."""

    def __init__(self):
        super().__init__()
        self.databases_solved = []

    def database_choices(self, composition, trust_evidence=None):
        holders = [("mc_ni", 1.0)] + ([("cost507", 1.0)] if "Ti" not in composition else [])
        return rank_databases(trust_evidence, composition, holders)

    def phase_table(self, composition, temperatures_K, database):
        self.databases_solved.append(database)
        if database == "mc_ni":
            return super().phase_table(composition, temperatures_K, database)
        row = {"phase": "BCC_A2", "structure": Structure.BCC, "mole_fraction": 1.0, "is_ordered": False}
        return phase_table(
            [
                {**row, "temperature_K": t, "order_parameter": 0.0, "lattice_parameter_A": 3.0, "status": "ok"}
                for t in temperatures_K
            ]
        )


# -- rows of the trust evidence tables, by hand ----------------------------------------------------


def check(database, system, kind, phase, x_min, x_max, t_min=298.0, t_max=2000.0, modelled=False, in_database=True):
    """One :data:`PHASE_CHECK_SCHEMA` row."""
    return {
        "database": database,
        "system": system,
        "phase_kind": kind,
        "phase": phase,
        "x_min": x_min,
        "x_max": x_max,
        "T_min_K": t_min,
        "T_max_K": t_max,
        "confirmed": True,
        "source": "hand-made",
        "in_database": in_database,
        "phase_exists": modelled,
        "has_constituents": modelled,
        "has_parameters": modelled,
        "modelled": modelled,
        "database_phases": "LAVES" if modelled else "",
    }


def verdict(database, subsystem, failed=(), vouching=()):
    """One :data:`SUBSYSTEM_VERDICT_SCHEMA` row; ``failed``: failed detection fact ids; ``vouching``:
    compositions of agreeing whole-phase-set facts."""
    n = subsystem.count("-") + 1
    return {
        "database": database,
        "subsystem": subsystem,
        "n_elements": n,
        "n_facts": 2,
        "n_calibration": 1,
        "n_calibration_agree": 1,
        "calibration_agreement": 1.0,
        "n_detection": 1,
        "n_detection_agree": 0 if failed else 1,
        "failed_calibration": [],
        "failed_detection": list(failed),
        "n_doubtful": 0,
        "vouching_points": list(vouching),
        "verdict": "untrusted" if failed else "trusted",
        "reason": "",
    }


def exemplar_rows(n: int) -> list[dict]:
    """``n`` parsed SFT samples scored ``ok`` for the API baselines' exemplars: candidate i has
    reward -i (so the best come first) and a BCC and volume of its own."""
    return [
        {
            "candidate_id": f"m-sft-{i:05d}",
            "bcc": f"Nb{50 + i}Mo{50 - i}",
            "b2": "NiAl",
            "b2_volume_percent": 20.0 + i,
            "reward": -float(i),
            "status": "ok",
        }
        for i in range(n)
    ]


def ledger_reward_rows(triples, trusted=True):
    """Reward rows of (bcc, b2, volume, all_rules, parsed) tuples, all ``trusted`` or all not."""
    return pd.DataFrame(
        [
            {
                "bcc": bcc,
                "b2": b2,
                "b2_volume_percent": volume,
                "master_composition": "x" if parsed else "",
                "elements": "-".join(sorted(set(re.findall(r"[A-Z][a-z]?", bcc + b2)))) if parsed else "",
                "status": "ok" if parsed else "invalid",
                "all_rules": hit,
                "trusted": trusted and parsed,
            }
            for bcc, b2, volume, hit, parsed in triples
        ]
    )


# Scored sources for the results explorer (tests/test_explorer*.py)


def explorer_reward_row(candidate_id, reward, status="ok", **changes):
    """A rewards-table row (every column of REWARDS_SCHEMA) of a scored, trusted candidate."""
    row = {
        "candidate_id": candidate_id,
        "bcc": "Cr",
        "b2": "AlNi",
        "b2_volume_percent": 40.0,
        "master_composition": "Al20Cr60Ni20",
        "elements": "Al-Cr-Ni",
        "status": status,
        "reason": "" if status == "ok" else "malformed",
        "database": "mc_ni",
        "coverage": 1.0,
        "low_coverage": False,
        "trusted": True,
        "trust_reason": "",
        "reward": float(reward),
        "bcc_b2_exist": status == "ok",
        "bcc_forms_first": status == "ok",
        "b2_room_temp": status == "ok",
        "others_exceed_10": status != "ok",
        "min_lattice_mismatch_A": 0.01 if status == "ok" else 10.0,
        "highest_bcc_K": 1773.15 if status == "ok" else float("nan"),
        "highest_b2_K": 1273.15 if status == "ok" else float("nan"),
        "all_rules": status == "ok",
        "seconds": 1.0,
        "databases_solved": 1,
    }
    row.update(changes)
    return row


def explorer_phase_rows(candidate_id):
    """A scored phase table: BCC_B2#1 disordered at both temperatures, ordered (B2) as #2 at the lower
    only, liquid at the higher only."""
    rows = [
        (373.15, "BCC_B2#1", "BCC", 0.6),
        (373.15, "BCC_B2#2", "B2", 0.4),
        (1773.15, "BCC_B2#1", "BCC", 0.3),
        (1773.15, "LIQUID#1", "LIQUID", 0.7),
    ]
    return [
        {
            "candidate_id": candidate_id,
            "temperature_K": t,
            "phase": phase,
            "structure": structure,
            "mole_fraction": fraction,
            "is_ordered": structure == "B2",
            "order_parameter": float("nan"),
            "lattice_parameter_A": 2.9,
            "status": "ok",
        }
        for t, phase, structure, fraction in rows
    ]


def explorer_source(prefix, rewards, with_tables=True):
    """(rewards, phase tables) of a source whose candidates are ``prefix-k`` with rewards ``rewards``."""
    rows = [explorer_reward_row(f"{prefix}-{k}", r) for k, r in enumerate(rewards)]
    tables = [row for r in rows for row in explorer_phase_rows(r["candidate_id"])] if with_tables else []
    return (
        pd.DataFrame(rows, columns=REWARDS_SCHEMA.names),
        pd.DataFrame(tables, columns=SCORED_TABLES_SCHEMA.names),
    )
