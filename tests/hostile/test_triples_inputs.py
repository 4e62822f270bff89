"""Hostile triples tables (Parquet and CSV): a named error for an unusable file, an ``invalid`` row
for an unusable triple; never a silent ``ok``."""

import math

import pandas as pd
import pytest

from alloypref.scoring import read_triples, score_triples

from ..helpers import OPTIONS, FakeBackend, triples

GOOD = pd.DataFrame(
    {"candidate_id": ["a", "b"], "bcc": ["Nb", "Mo"], "b2": ["NiAl", "NiAl"], "b2_volume_percent": [30.0, 40.0]}
)


def write_bytes(path, data):
    path.write_bytes(data)


def broken_parquet(path):
    GOOD.to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BROKEN = [
    ("t.parquet", lambda p: write_bytes(p, b"candidate_id,bcc\n"), "not a readable Parquet file"),
    ("t.parquet", broken_parquet, "not a readable Parquet file"),
    ("t.parquet", lambda p: write_bytes(p, b""), "not a readable Parquet file"),
    ("t.parquet", lambda p: GOOD.drop(columns="b2").to_parquet(p), "lacks columns ['b2']"),
    ("t.parquet", lambda p: GOOD.assign(candidate_id=["a", "a"]).to_parquet(p), "candidate_id values repeat"),
    ("t.parquet", lambda p: GOOD.assign(candidate_id=["a", None]).to_parquet(p), "candidate_id is missing in rows [1]"),
    (
        "t.csv",
        lambda p: write_bytes(p, "candidate_id,bcc,b2,b2_volume_percent\na,Nb\xe9,NiAl,30\n".encode("latin-1")),
        "not UTF-8",
    ),
    ("t.csv", lambda p: write_bytes(p, b""), "not a readable CSV table"),
    (
        "t.csv",
        lambda p: write_bytes(p, b"candidate_id,bcc,b2,b2_volume_percent\na,Nb,NiAl,30,1,2\n"),
        "not a readable CSV table",
    ),
]


@pytest.mark.parametrize("name, make, message", BROKEN, ids=[f"{n}-{m[:20]}" for n, _, m in BROKEN])
def test_unusable_triples_file_is_a_named_error(tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with pytest.raises(ValueError) as caught:
        read_triples(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_missing_triples_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_triples(tmp_path / "missing.csv")


BAD_TRIPLES = [
    ("Nb", "NiAl", math.nan),
    ("Nb", "NiAl", math.inf),
    ("Nb", "NiAl", -5.0),
    ("Nb", "NiAl", 1e300),
    ("Nb", None, 30.0),
    (math.nan, "NiAl", 30.0),
    ("Nb", 123, 30.0),
    ("Ni1e400Al", "NiAl", 30.0),
    ("Nb", '"Ni\nAl"', 30.0),
    ("None", "NiAl", 30.0),  # pymatgen reads "None" as No + Ne: outside every database
]


@pytest.mark.parametrize("bcc, b2, volume", BAD_TRIPLES, ids=[repr(t)[:30] for t in BAD_TRIPLES])
def test_unusable_triple_is_an_invalid_row(bcc, b2, volume):
    rewards, tables = score_triples(
        triples([("x", bcc, b2, volume), ("fine", "Nb", "NiAl", 30.0)]), FakeBackend(), OPTIONS
    )
    by_id = rewards.set_index("candidate_id")
    assert by_id.loc["x", "status"] == "invalid" and by_id.loc["x", "reason"]
    assert by_id.loc["x", "reward"] == OPTIONS.reward.worst_reward
    assert by_id.loc["fine", "status"] == "ok"
    assert set(tables.candidate_id) == {"fine"}


def test_string_volumes_in_a_csv_become_invalid_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("candidate_id,bcc,b2,b2_volume_percent\na,Nb,NiAl,thirty\nb,Nb,NiAl,30\n")
    rewards, _ = score_triples(read_triples(path), FakeBackend(), OPTIONS)
    assert list(rewards.status) == ["invalid", "ok"]
