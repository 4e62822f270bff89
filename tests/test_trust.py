"""Weakest-link trust on hand-made phase checks and subsystem verdicts: one test per rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alloypref.calphad.phase_inventory import PHASE_CHECK_SCHEMA
from alloypref.calphad.report_card import SUBSYSTEM_VERDICT_SCHEMA
from alloypref.calphad.trust import TrustEvidence, TrustSettings, rank_databases

from .helpers import check, verdict

GRID_K = (1073.0, 1273.0)
LISTED = {
    "Al-Mo",
    "Mo-Ni",
    "Cr-Hf",
    "Cr-Ni",
    "Hf-Ni",
    "Ni-V",
    "Al-Ni",
    "Al-Ti",
    "Ni-Ti",
    "Al-Ni-Ti",
    "Cr-W",
    "Nb-Ti",
    "Cr-Nb",
    "Nb-Ni",
}


def checks_frame(*rows):
    return pd.DataFrame(list(rows), columns=PHASE_CHECK_SCHEMA.names)


def verdicts_frame(*rows):
    return pd.DataFrame(list(rows), columns=SUBSYSTEM_VERDICT_SCHEMA.names)


def evidence(checks=(), verdicts=(), temperatures=GRID_K, settings=None, listed=LISTED):
    return TrustEvidence(checks_frame(*checks), verdicts_frame(*verdicts), temperatures, settings, listed)


LAVES_MISSING = check("db", "Cr-Hf", "laves_c15", "Cr2Hf", 0.33, 0.35)


def test_missing_laves_untrusts_cr95hf5_not_cr99hf1():
    ev = evidence([LAVES_MISSING], settings=TrustSettings(negligible_fraction=0.0))
    rich = ev.judge({"Cr": 0.95, "Hf": 0.05}, "db")
    assert not rich.trusted
    # lever rule from pure Cr to the Laves phase's nearest edge: 0.05 / 0.33 = 15 %
    assert rich.reasons == ("Cr-Hf: laves_c15 Cr2Hf is not modelled by db; up to 15% of the alloy could be Cr2Hf",)
    lean = ev.judge({"Cr": 0.99, "Hf": 0.01}, "db")  # 0.01 / 0.33 = 3 % < 5 %
    assert lean.trusted and lean.reasons == () and lean.why == ""


def test_modelled_phase_untrusts_nothing():
    ev = evidence([check("db", "Cr-Hf", "laves_c15", "Cr2Hf", 0.33, 0.35, modelled=True)])
    assert ev.judge({"Cr": 0.67, "Hf": 0.33}, "db").trusted


def test_element_below_negligible_fraction_joins_no_subsystem():
    ev = evidence(
        [check("db", "Al-Ni", "l1_2", "AlNi3", 0.73, 0.77)],
        [verdict("db", "Al", ["al_detect"]), verdict("db", "Al-Ni", ["alni_detect"])],
    )
    # Al at 1.5 % < 2 %: neither Al, Al-Ni nor its missing Ni3Al count
    assert ev.judge({"Al": 0.015, "Ni": 0.985}, "db").trusted
    # the same alloy with Al at 2.5 % is judged on all of them
    reasons = ev.judge({"Al": 0.025, "Ni": 0.975}, "db").reasons
    assert [r.split(":")[0] for r in reasons] == ["Al", "Al-Ni", "Al-Ni"]


def test_phase_that_is_not_a_neighbour_does_not_count():
    # Ni-V: Ni3V at 0.25 and sigma at 0.55-0.65 are both missing; Ni2V (0.333) is modelled.
    # Ni90V10 lies between pure Ni and Ni3V: Ni3V is its neighbour (lever 0.10/0.22 = 45 %), sigma is not.
    ev = evidence(
        [
            check("db", "Ni-V", "d0_22", "Ni3V", 0.22, 0.27),
            check("db", "Ni-V", "intermetallic", "Ni2V", 0.333, 0.333, modelled=True),
            check("db", "Ni-V", "sigma", "NiV2", 0.55, 0.65),
        ]
    )
    reasons = ev.judge({"Ni": 0.9, "V": 0.1}, "db").reasons
    assert len(reasons) == 1 and "Ni3V" in reasons[0] and "45%" in reasons[0]
    # Ni55V45 lies between the modelled Ni2V and sigma: sigma is a neighbour (lever
    # (0.45 - 0.333) / (0.55 - 0.333) = 54 %), Ni3V is not (Ni2V lies between)
    reasons = ev.judge({"Ni": 0.55, "V": 0.45}, "db").reasons
    assert len(reasons) == 1 and "NiV2" in reasons[0] and "54%" in reasons[0]


def test_inside_another_single_phase_field_nothing_competes():
    ev = evidence(
        [
            check("db", "Ni-V", "d0_22", "Ni3V", 0.22, 0.27, modelled=True),
            check("db", "Ni-V", "sigma", "NiV2", 0.55, 0.65),
        ]
    )
    assert ev.judge({"Ni": 0.75, "V": 0.25}, "db").trusted


def test_temperature_range_outside_the_grid_does_not_count():
    high = check("db", "Cr-Hf", "laves_c14", "Cr2Hf", 0.33, 0.35, t_min=1773.0, t_max=2098.0)
    assert evidence([high]).judge({"Cr": 0.8, "Hf": 0.2}, "db").trusted
    assert not evidence([high], temperatures=(1273.0, 1873.0)).judge({"Cr": 0.8, "Hf": 0.2}, "db").trusted


def test_pair_share_scales_the_lever_rule():
    # Cr-Hf at 0.08 Hf alone: 0.08 / 0.33 = 24 %; diluted by 70 % Ni (no Cr-Ni / Hf-Ni phases):
    # the pair is 30 % of the alloy, x_Hf on the pair 0.08, so 0.3 * 24 % = 7 % ≥ 5 %
    ev = evidence([LAVES_MISSING])
    reasons = ev.judge({"Cr": 0.276, "Hf": 0.024, "Ni": 0.70}, "db").reasons
    assert reasons == ("Cr-Hf: laves_c15 Cr2Hf is not modelled by db; up to 7% of the alloy could be Cr2Hf",)


def test_ternary_compound_lever_rule():
    heusler = check("db", "Al-Ni-Ti", "l2_1", "Ni2AlTi", math.nan, math.nan, t_max=1623.0)
    ev = evidence([heusler])
    # Ni50Al25Ti25 is the compound itself
    (reason,) = ev.judge({"Ni": 0.5, "Al": 0.25, "Ti": 0.25}, "db").reasons
    assert reason == "Al-Ni-Ti: l2_1 Ni2AlTi is not modelled by db; up to 100% of the alloy could be Ni2AlTi"
    # Ti at 1 % is below the negligible fraction; at 3 % it limits the compound to 0.03 / 0.25 = 12 %
    assert ev.judge({"Ni": 0.5, "Al": 0.49, "Ti": 0.01}, "db").trusted
    (reason,) = ev.judge({"Ni": 0.5, "Al": 0.47, "Ti": 0.03}, "db").reasons
    assert "up to 12% " in reason
    # Ti counted at 1 % (negligible_fraction 0): 0.01 / 0.25 = 4 % < 5 %, trusted
    settings = TrustSettings(negligible_fraction=0.0)
    assert evidence([heusler], settings=settings).judge({"Ni": 0.5, "Al": 0.49, "Ti": 0.01}, "db").trusted
    # outside its temperature range it does not count
    assert evidence([heusler], temperatures=(1700.0,)).judge({"Ni": 0.5, "Al": 0.25, "Ti": 0.25}, "db").trusted


def test_failed_detection_fact_untrusts_only_candidates_holding_its_subsystem():
    ev = evidence(
        verdicts=[
            verdict("db", "Ni-V", ["nv_liquid_1073", "nv_liquid_1273"]),
            verdict("db", "Nb-Ti"),
            verdict("other", "Ni-V"),
        ]
    )
    (reason,) = ev.judge({"Ni": 0.4, "V": 0.6}, "db").reasons
    assert reason == "Ni-V: db fails detection fact(s) nv_liquid_1073, nv_liquid_1273"
    assert ev.judge({"Nb": 0.49, "Ti": 0.49, "Ni": 0.02}, "db").trusted  # V absent: Ni-V is not a subsystem
    assert ev.judge({"Ni": 0.4, "V": 0.6}, "other").trusted  # another database, whose Ni-V facts agree


def test_pair_the_inventory_does_not_list_is_untrusted():
    ev = evidence(verdicts=[verdict("db", "Cr-Hf")], listed={"Cr-Hf"})
    (reason,) = ev.judge({"Cr": 0.5, "Mo": 0.5}, "db").reasons
    assert reason.startswith("Cr-Mo: no assessed phase inventory")
    assert ev.judge({"Cr": 0.9, "Hf": 0.1}, "db").trusted


def test_reasons_name_every_untrusting_subsystem():
    ev = evidence([LAVES_MISSING], [verdict("db", "Hf-Ni", ["hfni_fact"])])
    result = ev.judge({"Cr": 0.5, "Hf": 0.3, "Ni": 0.2}, "db")
    assert not result.trusted
    assert result.reasons[0] == "Hf-Ni: db fails detection fact(s) hfni_fact"
    assert result.reasons[1].startswith("Cr-Hf: laves_c15 Cr2Hf is not modelled by db")
    assert result.why == "; ".join(result.reasons)


def test_rank_databases_puts_a_trusted_database_first():
    ev = evidence([LAVES_MISSING, check("good", "Cr-Hf", "laves_c15", "Cr2Hf", 0.33, 0.35, modelled=True)])
    composition = {"Cr": 0.8, "Hf": 0.2}
    ranked = rank_databases(ev, composition, [("db", 1.0), ("good", 0.4)])
    assert [c.database for c in ranked] == ["good", "db"]
    assert ranked[0].verdict.trusted and ranked[0].coverage == 0.4
    # equal standing: higher coverage, then configured order
    assert [c.database for c in rank_databases(ev, {"Cr": 1.0}, [("db", 0.5), ("good", 0.9)])] == ["good", "db"]
    assert [c.database for c in rank_databases(ev, {"Cr": 1.0}, [("db", 0.9), ("good", 0.9)])] == ["db", "good"]
    # without evidence nothing is trusted, and each says why
    unjudged = rank_databases(None, composition, [("db", 1.0)])
    assert not unjudged[0].verdict.trusted and "no trust evidence" in unjudged[0].verdict.why


@pytest.mark.parametrize(
    "values", [{"negligible_fraction": -0.1}, {"min_competing_fraction": 1.5}, {"negligible_fraction": math.nan}]
)
def test_trust_settings_reject_out_of_range(values):
    with pytest.raises(ValueError, match="calphad.trust"):
        TrustSettings(**values)


def test_trust_settings_from_config():
    assert TrustSettings.from_config({"min_competing_fraction": 0.1}).min_competing_fraction == 0.1
    assert TrustSettings.from_config(None) == TrustSettings()
    with pytest.raises(ValueError, match="calphad.trust.near"):
        TrustSettings.from_config({"near": 0.3})


def test_fingerprint_changes_with_evidence_and_thresholds():
    base = evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a"])])
    same = evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a"])])
    assert base.fingerprint() == same.fingerprint()
    assert evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["b"])]).fingerprint() != base.fingerprint()
    modelled = check("db", "Cr-Hf", "laves_c15", "Cr2Hf", 0.33, 0.35, modelled=True)
    assert evidence([modelled], [verdict("db", "Ni-V", ["a"])]).fingerprint() != base.fingerprint()
    stricter = evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a"])], settings=TrustSettings(0.02, 0.1))
    assert stricter.fingerprint() != base.fingerprint()


def test_fingerprint_changes_with_grid_and_listed_systems_not_list_type():
    base = evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a", "b"])])
    assert evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a", "b"])], temperatures=(1273.0,)).fingerprint() != (
        base.fingerprint()
    )
    assert evidence([LAVES_MISSING], [verdict("db", "Ni-V", ["a", "b"])], listed={"Cr-Hf"}).fingerprint() != (
        base.fingerprint()
    )
    # fact ids read from Parquet arrive as arrays: the same evidence, the same fingerprint

    as_array = verdict("db", "Ni-V", ["a", "b"])
    as_array["failed_detection"] = np.array(["a", "b"], dtype=object)
    assert evidence([LAVES_MISSING], [as_array]).fingerprint() == base.fingerprint()


def test_a_database_the_evidence_does_not_speak_of_is_untrusted():
    # the evidence covers "db" only: a candidate with no missing phase and no failed fact is trusted
    # there, and the same candidate on a database without any evidence row is not
    modelled = check("db", "Cr-Hf", "laves_c15", "Cr2Hf", 0.33, 0.35, modelled=True)
    ev = evidence([modelled], settings=TrustSettings(negligible_fraction=0.0))
    assert ev.judge({"Cr": 0.95, "Hf": 0.05}, "db").trusted
    other = ev.judge({"Cr": 0.95, "Hf": 0.05}, "other_db")
    assert not other.trusted
    assert other.reasons == ("no trust evidence (phase inventory, report card) for other_db",)


def test_from_folder_reads_a_run_or_a_shipped_folder(tmp_path):
    from alloypref.io import write_parquet

    checks = checks_frame(LAVES_MISSING)
    verdicts = verdicts_frame(verdict("db", "Ni-V", ["a"]))
    for name in ("phase_checks.parquet", "phase_inventory_phases.parquet"):
        folder = tmp_path / name
        write_parquet(checks, folder / name, PHASE_CHECK_SCHEMA)
        write_parquet(verdicts, folder / "subsystem_verdicts.parquet", SUBSYSTEM_VERDICT_SCHEMA)
        loaded = TrustEvidence.from_folder(folder, GRID_K)
        assert not loaded.judge({"Cr": 0.8, "Hf": 0.2}, "db").trusted
        assert loaded.judge({"Ni": 0.5, "V": 0.5}, "db").reasons[0] == "Ni-V: db fails detection fact(s) a"
    with pytest.raises(FileNotFoundError, match="subsystem_verdicts.parquet"):
        TrustEvidence.from_folder(tmp_path / "empty", GRID_K)


def test_shipped_evidence_is_for_the_shipped_databases_facts_and_inventory():
    """Regenerate with `alloypref ship-trust --out src/alloypref/data/trust` when this fails."""
    import hashlib
    import json
    from importlib import resources

    from alloypref import config as config_module
    from alloypref.calphad.phase_inventory import default_inventory_path
    from alloypref.calphad.report_card import default_facts_path

    folder = resources.files("alloypref.data").joinpath("trust")
    record = json.loads(folder.joinpath("provenance.json").read_text())
    specs = config_module.calphad_settings(config_module.load(None)).databases
    assert {d["name"]: d["content_hash_16"] for d in record["databases"]} == {s.name: s.content_hash for s in specs}
    assert record["facts"]["sha256"] == hashlib.sha256(default_facts_path().read_bytes()).hexdigest()
    assert record["phase_inventory"]["sha256"] == hashlib.sha256(default_inventory_path().read_bytes()).hexdigest()
    evidence = TrustEvidence.shipped([1273.15])
    assert evidence.judge({"Cr": 0.95, "Hf": 0.05}, "mc_ni").reasons  # mc_ni has no Cr-Hf Laves phase


# A15 AlMo3 (x_Mo 0.75) missing, as on mc_ni; the NiAl-Mo section's facts agree at Mo 10, 30 and 50 %
A15_MISSING = check("db", "Al-Mo", "a15", "AlMo3", 0.74, 0.77)
SECTION = verdict("db", "Al-Mo-Ni", vouching=["Al45Mo10Ni45", "Al35Mo30Ni35", "Al25Mo50Ni25"])


def test_a_missing_phase_is_excused_near_an_agreeing_fact_of_a_larger_subsystem():
    mo_nial = {"Mo": 0.4, "Ni": 0.3, "Al": 0.3}  # on the NiAl-Mo section, 0.1 from the Mo 30 % point
    assert not evidence([A15_MISSING]).judge(mo_nial, "db").trusted  # no vouching point: A15 could form
    assert evidence([A15_MISSING], [SECTION]).judge(mo_nial, "db").trusted
    # off the section: Al-rich Mo alloy, 0.35 from every point: the A15 counts again
    (reason,) = evidence([A15_MISSING], [SECTION]).judge({"Mo": 0.7, "Al": 0.25, "Ni": 0.05}, "db").reasons
    assert reason.startswith("Al-Mo: a15 AlMo3 is not modelled by db")
    # the distance is the config key's: 0.05 leaves the Mo 40 % alloy 0.1 from the nearest point
    strict = TrustSettings(vouch_distance=0.05)
    assert not evidence([A15_MISSING], [SECTION], settings=strict).judge(mo_nial, "db").trusted


def test_vouching_needs_the_whole_subsystem_present_and_the_same_database():
    # Al-Mo without Ni: the Al-Mo-Ni points say nothing about a binary Al-Mo alloy
    assert not evidence([A15_MISSING], [SECTION]).judge({"Mo": 0.75, "Al": 0.25}, "db").trusted
    other = verdict("other", "Al-Mo-Ni", vouching=["Al35Mo30Ni35"])
    assert not evidence([A15_MISSING], [other]).judge({"Mo": 0.4, "Ni": 0.3, "Al": 0.3}, "db").trusted


def test_vouching_points_change_the_fingerprint():
    assert (
        evidence([A15_MISSING], [SECTION]).fingerprint()
        != evidence([A15_MISSING], [verdict("db", "Al-Mo-Ni")]).fingerprint()
    )
