"""Hostile external CSVs: a malformed file is an error naming file and line (never echoing its
contents); a malformed row is dropped with its reason, never kept."""

import pytest

from alloypref.baselines.importer import ImportError_, import_generations

ELEMENTS = ["Ni", "Al", "Nb", "Mo"]
SECRET = "hunter2-secret"

BROKEN_FILES = [
    (b"", "line 1: empty file"),
    (f"user,{SECRET}\nNiAl,1\n".encode(), "line 1: the header has neither"),  # used to echo the header
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + SECRET.encode(), "line 1: not UTF-8"),
    ("composition\nNiAl\nNb\xe9\n".encode("latin-1"), "line 3: not UTF-8"),  # was a bare UnicodeDecodeError
    (b'composition\n"Ni\nAl"\nNb\n', "line 2: a quoted field spans lines 2-3"),  # was kept as NiAl
    (b'bcc,b2,b2_volume_percent\nNb,"Ni\nAl",30\n', "line 2: a quoted field spans"),
    (b'"compo\nsition"\nNiAl\n', "line 1: the header has a quoted field that spans lines"),
    (b"bcc,b2,b2_volume_percent\nNb,NiAl,30\nNb,NiAl\n", "line 3: 2 fields, the header has 3"),
    (b"bcc,b2,b2_volume_percent\nNb,NiAl,30,extra\n", "line 2: 4 fields"),
    (b"composition\n" + b"N" * 200_000 + b"\n", "line 2: malformed CSV"),
]


@pytest.mark.parametrize("content, message", BROKEN_FILES, ids=[m[:24] for _, m in BROKEN_FILES])
def test_broken_file_names_file_and_line_not_contents(tmp_path, content, message):
    path = tmp_path / "external.csv"
    path.write_bytes(content)
    with pytest.raises(ImportError_) as caught:
        import_generations(path, ELEMENTS, "ext")
    text = str(caught.value)
    assert text.startswith(f"{path}, line ") and message in text
    assert SECRET not in text and "NNNNNNNN" not in text


@pytest.mark.parametrize("target", ["missing.csv", "."], ids=["missing", "a folder"])
def test_path_that_is_not_a_file(tmp_path, target):
    with pytest.raises(ImportError_, match="no such file"):
        import_generations(tmp_path / target, ELEMENTS, "ext")


BAD_ROWS = [
    ("bcc,b2,b2_volume_percent\nNb,NiAl,1e400\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,nan\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,inf\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,-1\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,101\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,abc\n", "unparseable"),
    ("bcc,b2,b2_volume_percent\nNb,NiAl,\n", "unparseable"),  # was kept with a NaN volume
    ("bcc,b2,b2_volume_percent\nNi1e400Al,NiAl,30\n", "unparseable"),  # was kept
    ("bcc,b2,b2_volume_percent\nNb,NiAl0.000000000001,30\n", "unparseable"),
    ("composition\nNi1e400Al\n", "unparseable"),
    ("composition\nNi\tAl\n", "unparseable"),
    ("composition\nNi\x00Al\n", "unparseable"),
    ("composition\nNaCl\n", "outside the design space"),
    ("composition\n=cmd|' /C calc'!A0\n", "unparseable"),
]


@pytest.mark.parametrize("content, reason", BAD_ROWS, ids=[c.splitlines()[1][:20] for c, _ in BAD_ROWS])
def test_bad_row_is_dropped_with_its_reason(tmp_path, content, reason):
    path = tmp_path / "external.csv"
    path.write_text(content)
    kept, report = import_generations(path, ELEMENTS, "ext")
    assert kept.empty
    assert report["dropped"] == {reason: 1} and report["kept"] == 0
