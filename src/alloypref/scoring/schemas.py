"""The tables scoring reads and writes (Arrow schemas), and how phase tables are joined.

Rewards table (:data:`REWARDS_SCHEMA`, one row per input triple):

========================  ========  ===========================================================
column                    dtype     meaning
========================  ========  ===========================================================
candidate_id              string    id from the triples table
bcc, b2                   string    formulas as given
b2_volume_percent         float64   B2 volume % as given (0-100)
master_composition        string    canonical master composition (at.%, 2 decimals); "" if invalid
elements                  string    elements of the master composition, "-"-joined
status                    string    ``ok``, ``invalid`` (unusable input) or ``failed`` (solver)
reason                    string    why not ok; "" when ok
database                  string    database the reward is from; "" when none
coverage                  float64   share of element pairs that database covers (0-1)
low_coverage              bool      coverage below ``calphad.min_coverage``
trusted                   bool      weakest-link trust of that database for the candidate
                                    (:mod:`alloypref.calphad.trust`); False when no database was used
trust_reason              string    why not trusted (subsystem, missing phase or failed detection
                                    facts, "; "-joined; "no database holds ..." when none can compute
                                    it, "no database used" when unparsed); "" when trusted
reward                    float64   Eq. 1; the worst reward unless ok
bcc_b2_exist ...          bool      the four rule flags (``others_exceed_10`` True = violated)
min_lattice_mismatch_A    float64   Å (``reward.mismatch: absolute``) or dimensionless (``relative``);
                                    the cap where BCC and B2 never coexist
highest_bcc_K             float64   highest temperature with BCC present (K); NaN if none
highest_b2_K              float64   highest temperature with B2 present (K); NaN if none
all_rules                 bool      the four rules hold
seconds                   float64   wall time spent on this candidate (0 for a duplicate)
databases_solved          int64     database solves the reward rests on (``calphad.database_aggregate``:
                                    1 under ``first``, every trusted database under ``min``), each
                                    one CALPHAD call in the ledger; a duplicate repeats the count of
                                    the candidate it copies; 0 for ``invalid`` rows
========================  ========  ===========================================================

Phase tables (:data:`SCORED_TABLES_SCHEMA`): ``candidate_id`` followed by the columns of
:mod:`alloypref.calphad.tables`.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from alloypref.calphad.tables import PHASE_TABLE_SCHEMA

TRIPLES_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
    ]
)

REWARDS_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("bcc", pa.string()),
        ("b2", pa.string()),
        ("b2_volume_percent", pa.float64()),
        ("master_composition", pa.string()),
        ("elements", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("database", pa.string()),
        ("coverage", pa.float64()),
        ("low_coverage", pa.bool_()),
        ("trusted", pa.bool_()),
        ("trust_reason", pa.string()),
        ("reward", pa.float64()),
        ("bcc_b2_exist", pa.bool_()),
        ("bcc_forms_first", pa.bool_()),
        ("b2_room_temp", pa.bool_()),
        ("others_exceed_10", pa.bool_()),
        ("min_lattice_mismatch_A", pa.float64()),
        ("highest_bcc_K", pa.float64()),
        ("highest_b2_K", pa.float64()),
        ("all_rules", pa.bool_()),
        ("seconds", pa.float64()),
        ("databases_solved", pa.int64()),
    ]
)

#: Triples as the scorer reads them: the input columns plus the sampler's parse status and reason
#: (``ok`` and "" for sources without a parser, such as CSV files and baselines).
PARSED_TRIPLES_SCHEMA = pa.schema([*TRIPLES_SCHEMA, ("parse_status", pa.string()), ("parse_reason", pa.string())])

SCORED_TABLES_SCHEMA = pa.schema([("candidate_id", pa.string()), *PHASE_TABLE_SCHEMA])


def concat_tables(tables: list[pd.DataFrame], schema: pa.Schema = SCORED_TABLES_SCHEMA) -> pd.DataFrame:
    """Concatenate tables of one schema (columns in its order); the empty table when there are none."""
    tables = [t for t in tables if not t.empty]
    if not tables:
        return schema.empty_table().to_pandas()
    return pd.concat(tables, ignore_index=True)[schema.names]
