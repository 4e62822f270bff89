"""Documented TDB patches: applied at load, part of the database's identity, and checked strictly."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from alloypref.calphad.databases import DatabaseSettings
from alloypref.calphad.patches import PatchError, read_patch, shipped_patches
from alloypref.calphad.pycalphad_backend import PycalphadBackend, PycalphadSettings
from alloypref.calphad.tables import Structure

COST507 = "COST507.pycalphad.tdb"
MC_NI = "mc_ni_v2.034.pycalphad.tdb"
NIV_PATCH = "niv-liquid-cost507"
NBTI_PATCH = "nbti-b2-symmetric"
NBTI_LINE = 7238  # "$PARAMETER G(BCC_B2,NB:TI:VA;0) ..." in the original file


def cost507(patches=None) -> DatabaseSettings:
    return DatabaseSettings("cost507", COST507, {"BCC_A2": "bcc_like", "BCC_B2": "bcc_like"}, True, patches)


def nbti_patch_text() -> str:
    return read_patch(cost507().patch_files[0].path).path.read_text()


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cost507_ships_the_nbti_patch_and_applies_it_by_default():
    assert shipped_patches(COST507) == [NBTI_PATCH]
    patched, original = cost507().tdb_text().splitlines(), cost507(()).tdb_text().splitlines()
    assert original[NBTI_LINE - 1].startswith("$PARAMETER G(BCC_B2,NB:TI:VA;0)")
    assert patched[NBTI_LINE - 1] == "PARAMETER G(BCC_B2,NB:TI:VA;0) 298.15 +2.0*NBTIB2; 6000.00 N !"
    assert [i for i, (a, b) in enumerate(zip(patched, original, strict=True)) if a != b] == [NBTI_LINE - 1]


def test_databases_without_patches_keep_the_file_hash():
    spec = DatabaseSettings("nial", str(Path(__file__).parent / "data" / "NI_AL_DUPIN_2001.TDB"))
    assert spec.patch_files == ()
    assert spec.content_hash == hashlib.sha256(spec.resolved_path.read_bytes()).hexdigest()[:16]
    assert cost507(()).content_hash == cost507(()).file_sha256[:16]


def test_mc_ni_ships_the_ni_v_liquid_patch_which_deletes_two_lines():
    patched = DatabaseSettings("mc_ni", MC_NI)
    assert [p.name for p in patched.patch_files] == [NIV_PATCH]
    text, original = (
        patched.tdb_text().splitlines(),
        DatabaseSettings("mc_ni", MC_NI, patches=()).tdb_text().splitlines(),
    )
    assert len(original) - len(text) == 2
    assert [line for line in text if line.startswith("PARAMETER L(LIQUID,NI,V;")] == [
        "PARAMETER L(LIQUID,NI,V;0) 273.00 -51927+14.99*T; 6000.00  N"
    ]
    assert [line for line in original if line.startswith("PARAMETER L(LIQUID,NI,V;")] == [
        "PARAMETER L(LIQUID,NI,V;0) 273.00 -68170; 6000.00  N",
        "PARAMETER L(LIQUID,NI,V;1) 273.00 +5000; 6000.00  N",
    ]


def test_a_patch_changes_the_database_identity(tmp_path):
    patched, original = cost507(), cost507(())
    assert patched.file_sha256 == original.file_sha256
    assert patched.content_hash != original.content_hash
    # the same edits under a reworded description are another patch file, hence another identity
    reworded = write(tmp_path, nbti_patch_text().replace("description: >-", "description: >-\n  Reworded.", 1))
    other = cost507((str(reworded),))
    assert other.tdb_text() == patched.tdb_text()
    assert other.content_hash not in (patched.content_hash, original.content_hash)


def test_backend_fingerprint_follows_the_patches(cache_dir):
    def fingerprint(spec):
        return PycalphadBackend([spec], PycalphadSettings(), cache_dir).fingerprint()["databases"][0]["hash"]

    assert fingerprint(cost507()) != fingerprint(cost507(()))


def test_unknown_patch_name_is_an_error_naming_the_shipped_ones():
    with pytest.raises(PatchError, match=r"'no-such-patch'.*nbti-b2-symmetric"):
        cost507(("no-such-patch",)).tdb_text()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("  - line: 7238\n", "  - line: 7239\n"), r"p\.yaml:\d+: line 7239 of .* reads"),
        (lambda t: t.replace("  - line: 7238\n", "  - line: seven\n"), r"p\.yaml:\d+: 'line' must be int"),
        (lambda t: t.replace("  - line: 7238\n", "  - line: 99999\n"), r"p\.yaml:\d+: line 99999 is past the end"),
        (lambda t: t.replace("applies_to_sha256: e7", "applies_to_sha256: f7"), r"p\.yaml: applies to a file"),
        (lambda t: t.replace("applies_to_sha256: e7", "applies_to_sha256: E7"), r"p\.yaml:\d+: applies_to_sha256"),
        (lambda t: t.replace("source: >-", "sauce: >-"), r"p\.yaml:\d+: unknown key 'sauce'"),
        (lambda t: t.replace("    new: ", "    neu: "), r"p\.yaml:\d+: unknown key 'neu' in an edit"),
        (lambda t: t + "  - line: 7238\n    old: x\n    new: y\n", r"p\.yaml: lines edited more than once: \[7238\]"),
        (lambda t: t.split("edits:")[0] + "edits: []\n", r"p\.yaml:\d+: 'edits' must be a non-empty list"),
        (lambda t: t.replace("defect: >-", "defect: ''\nunused: >-"), r"p\.yaml:\d+: unknown key 'unused'"),
        (lambda t: "edits: [\n", r"p\.yaml: not a readable YAML file"),
    ],
)
def test_bad_patch_files_are_errors_naming_file_and_line(tmp_path, edit, message):
    path = write(tmp_path, edit(nbti_patch_text()))
    with pytest.raises(PatchError, match=message):
        cost507((str(path),)).tdb_text()


def test_the_line_number_in_an_error_is_the_offending_line(tmp_path):
    text = nbti_patch_text().replace("  - line: 7238\n", "  - line: 7239\n")
    path = write(tmp_path, text)
    with pytest.raises(PatchError) as error:
        cost507((str(path),)).tdb_text()
    reported = int(str(error.value).split(":")[1])
    assert text.splitlines()[reported - 1] == "  - line: 7239"


def test_two_patches_editing_one_line_are_refused(tmp_path):
    copy = write(tmp_path, nbti_patch_text(), "copy.yaml")
    with pytest.raises(PatchError, match="two patches edit the same line"):
        cost507((NBTI_PATCH, str(copy))).tdb_text()


def test_patched_spec_survives_dataclass_replace():
    """Callers rebuild specs with ``dataclasses.replace``; the patch choice must travel with them."""
    assert dataclasses.replace(cost507(()), name="x").patch_files == ()
    assert [p.name for p in dataclasses.replace(cost507(), name="x").patch_files] == [NBTI_PATCH]


def _nb50ti50(backend: PycalphadBackend):
    table = backend.phase_table({"Nb": 0.5, "Ti": 0.5}, [1273.15], "cost507")
    return table[table.mole_fraction >= 0.01]


def test_patched_cost507_gives_disordered_bcc_for_nb50ti50(open_backend):
    """Binary Nb-Ti is one disordered BCC solid solution (Murray 1981); the patch restores that."""
    assert open_backend.specs["cost507"].patch_files[0].name == NBTI_PATCH  # the default config patches
    present = _nb50ti50(open_backend)
    assert list(present.structure) == [Structure.BCC]
    assert present.mole_fraction.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(present.order_parameter < 0.01)


@pytest.mark.slow
def test_unpatched_cost507_shows_the_spurious_nbti_order(open_backend, cache_dir):
    """Without the patch the asymmetric parameter orders Nb50Ti50 (max|y'-y''| about 0.33)."""
    spec = dataclasses.replace(open_backend.specs["cost507"], patches=())
    backend = PycalphadBackend([spec], open_backend.settings, cache_dir, open_backend.b2_formers)
    present = _nb50ti50(backend)
    assert list(present.structure) == [Structure.B2]
    assert present.order_parameter.iloc[0] == pytest.approx(0.33, abs=0.05)


def _liquid_fraction(backend: PycalphadBackend, database: str, composition: dict, temperature: float) -> float:
    table = backend.phase_table(composition, [temperature], database)
    return float(table[table.structure == Structure.LIQUID].mole_fraction.sum())


def test_patched_mc_ni_has_no_ni_v_liquid_at_1073K(open_backend):
    """Ni-V melts above about 1470 K; the original mc_ni liquid (REF 23) melts V58Ni42 at 1073 K."""
    assert _liquid_fraction(open_backend, "mc_ni", {"V": 0.58, "Ni": 0.42}, 1073.15) == 0.0


def test_unpatched_mc_ni_melts_ni_v_at_1073K(open_backend, cache_dir):
    spec = dataclasses.replace(open_backend.specs["mc_ni"], patches=())
    backend = PycalphadBackend([spec], open_backend.settings, cache_dir, open_backend.b2_formers)
    assert _liquid_fraction(backend, "mc_ni", {"V": 0.58, "Ni": 0.42}, 1073.15) > 0.95
