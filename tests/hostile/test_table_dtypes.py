"""Truthiness of strings: external tables are read with their schema's kinds, strictly. A boolean
column of 'False' strings or with missing values, a repeated header column, booleans where volumes
belong: each is an error naming the file and the column, never True, never 1.0."""

from __future__ import annotations

import shutil
from importlib import resources

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alloypref.baselines.importer import ImportError_, import_generations
from alloypref.calphad.trust import SHIPPED_PHASE_CHECKS, SHIPPED_VERDICTS, TrustEvidence
from alloypref.scoring import read_triples

TEMPERATURES = (373.15, 1273.15)


@pytest.fixture
def evidence_folder(tmp_path):
    """A copy of the shipped trust evidence to spoil."""
    shipped = resources.files("alloypref.data").joinpath("trust")
    for name in (SHIPPED_PHASE_CHECKS, SHIPPED_VERDICTS):
        with resources.as_file(shipped.joinpath(name)) as source:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def spoil(path, column, values):
    table = pq.read_table(path)
    index = table.column_names.index(column)
    pq.write_table(table.set_column(index, column, pa.array(values)), path)


def test_shipped_evidence_reads(evidence_folder):
    evidence = TrustEvidence.from_folder(evidence_folder, TEMPERATURES)
    assert evidence.databases == {"mc_ni", "cost507"}


@pytest.mark.parametrize(
    "column, make",
    [
        ("in_database", lambda n: ["False"] * n),  # bool('False') is True: a missing phase counted as held
        ("modelled", lambda n: ["True", "False"] * (n // 2) + ["False"] * (n % 2)),
        ("in_database", lambda n: [0.0] * n),
        ("modelled", lambda n: [True] * (n - 1) + [None]),  # bool(NaN) is True
    ],
    ids=["False-strings", "bool-words", "floats", "missing"],
)
def test_trust_table_with_a_bool_column_that_is_not_bool(evidence_folder, column, make):
    path = evidence_folder / SHIPPED_PHASE_CHECKS
    spoil(path, column, make(pq.read_metadata(path).num_rows))
    with pytest.raises(ValueError, match=f"^{path}: column {column} "):
        TrustEvidence.from_folder(evidence_folder, TEMPERATURES)


def test_verdicts_with_a_list_column_of_text(evidence_folder):
    path = evidence_folder / SHIPPED_VERDICTS
    spoil(path, "failed_detection", ["F1"] * pq.read_metadata(path).num_rows)
    with pytest.raises(ValueError, match=f"^{path}: column failed_detection holds string values"):
        TrustEvidence.from_folder(evidence_folder, TEMPERATURES)


GOOD = pd.DataFrame(
    {"candidate_id": ["a", "b"], "bcc": ["Nb", "Mo"], "b2": ["NiAl", "NiAl"], "b2_volume_percent": [30.0, 40.0]}
)


@pytest.mark.parametrize(
    "text",
    [
        "candidate_id,bcc,b2,b2_volume_percent\na,Nb,NiAl,True\nb,Mo,NiAl,False\n",  # was 1.0 and 0.0
        "candidate_id,bcc,b2,b2_volume_percent\na,Nb,NiAl,30\nb,Mo,NiAl,false\n",
    ],
    ids=["all-booleans", "one-boolean"],
)
def test_csv_volume_column_of_booleans(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path}: column b2_volume_percent holds the boolean"):
        read_triples(path)


def test_parquet_volume_column_of_booleans(tmp_path):
    path = tmp_path / "t.parquet"
    GOOD.assign(b2_volume_percent=[True, False]).to_parquet(path)
    with pytest.raises(ValueError, match=f"^{path}: column b2_volume_percent holds bool values"):
        read_triples(path)


def test_parquet_integer_volumes_and_csv_text_still_read(tmp_path):
    path = tmp_path / "t.parquet"
    GOOD.assign(b2_volume_percent=[30, 40]).to_parquet(path)
    assert read_triples(path)["b2_volume_percent"].tolist() == [30.0, 40.0]
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("candidate_id,bcc,b2,b2_volume_percent\na,Nb,NiAl,30\nb,Mo,NiAl,forty\n")
    volumes = read_triples(csv_path)["b2_volume_percent"]
    assert volumes[0] == 30.0 and pd.isna(volumes[1])  # a non-number is an invalid row, as before


def test_csv_triples_header_with_a_repeated_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("candidate_id,bcc,b2,bcc,b2_volume_percent\na,Nb,NiAl,Mo,30\n")  # pandas kept the first bcc
    with pytest.raises(ValueError, match=f"^{path}, line 1: column 'bcc' appears more than once"):
        read_triples(path)


def test_external_csv_header_with_a_repeated_column(tmp_path):
    path = tmp_path / "ext.csv"
    path.write_text("bcc,b2,b2_volume_percent,b2\nNb,NiAl,30,CoAl\n")  # the row kept the last b2
    with pytest.raises(ImportError_, match=f"^{path}, line 1: column 'b2' appears more than once"):
        import_generations(path, ["Nb", "Ni", "Al", "Co"], "ext")
