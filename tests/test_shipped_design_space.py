"""The curated paper-scale design space shipped with the package, and the switch that uses it."""

import copy
import json
import re
import subprocess

import pandas as pd
import pytest
import yaml

from alloypref import config as config_module
from alloypref.config import calphad_settings
from alloypref.design_space import CANDIDATES_SCHEMA, FILTER_SCHEMA, DesignSpaceError, curated_lists
from alloypref.shipped_design_space import (
    NOT_FILTERED,
    check_matches,
    curation_settings,
    curation_so_far,
    load_shipped,
    materialize,
    shipped_dir,
)

from .helpers import REPO, SNAKEMAKE


@pytest.fixture(scope="module")
def shipped():
    return load_shipped("paper")


@pytest.fixture(scope="module")
def medium():
    return config_module.load(REPO / "config/medium.yaml")


def test_shipped_lists_hold_the_kept_candidates_of_their_curation(shipped):
    threshold = shipped.provenance["settings"]["design_space"]["filter"]["threshold"]
    for table in (shipped.curation, shipped.bcc, shipped.b2):
        assert list(table.columns) == FILTER_SCHEMA.names
    assert (shipped.bcc["kind"] == "bcc").all() and (shipped.bcc["min_bcc_fraction"] > threshold).all()
    assert (shipped.b2["kind"] == "b2").all() and (shipped.b2["min_b2_fraction"] > threshold).all()
    bcc, b2, counts = curated_lists(shipped.curation, 0.5)
    pd.testing.assert_frame_equal(bcc, shipped.bcc)
    pd.testing.assert_frame_equal(b2, shipped.b2)
    recorded = shipped.provenance["curation_counts"]
    assert {key: counts[key] for key in recorded} == recorded
    if "untrusted" not in recorded:  # curated before trust was judged: trust unknown, never counted untrusted
        assert shipped.curation["trusted"].isna().all() and counts["untrusted"] == 0
    # not kept: below the threshold, a recorded failure, or untrusted
    rejected = shipped.curation[~shipped.curation["keep"]]
    wanted = rejected["min_bcc_fraction"].where(rejected["kind"] == "bcc", rejected["min_b2_fraction"])
    untrusted = rejected["trusted"].astype("boolean").eq(False).fillna(False)
    assert ((wanted <= threshold) | (rejected["status"] != "ok") | untrusted).all()


def test_shipped_curation_is_the_whole_enumeration_of_its_elements(shipped):
    enumeration = shipped.provenance["enumeration_counts"]
    curation = shipped.curation
    assert (curation["kind"] == "bcc").sum() == enumeration["bcc_enumerated"] + enumeration["bcc_seeds"]
    assert (curation["kind"] == "b2").sum() == enumeration["b2_enumerated"] + enumeration["b2_seeds"]
    used = set("-".join(curation["elements"]).split("-"))
    assert used == set(shipped.provenance["elements"])
    assert not used & set(shipped.provenance["uncovered_elements"])


def test_provenance_records_the_databases_temperatures_and_commit(shipped, medium):
    provenance = shipped.provenance
    recorded = {db["name"]: db["sha256_16"] for db in provenance["settings"]["calphad"]["databases"]}
    shipped_tdbs = {spec.name: spec.content_hash for spec in calphad_settings(medium).databases}
    assert recorded == shipped_tdbs  # the TDB files the package ships today
    assert provenance["settings"]["design_space"]["filter"]["temperatures_K"] == [1273.15]
    assert re.fullmatch(r"[0-9a-f]{40}", provenance["git"]["commit"])
    assert provenance["packages"]["pycalphad"]
    assert set(provenance["databases_used"]) <= set(recorded)


@pytest.mark.parametrize("name", ["paper.yaml", "medium.yaml"])
def test_paper_and_medium_configs_use_the_shipped_lists_they_match(name, shipped):
    config = config_module.load(REPO / "config" / name)
    assert config["design_space"]["curated"] == "shipped"
    assert config["design_space"]["shipped"] == "paper"
    check_matches(config, shipped.provenance, "paper")  # raises on any difference


@pytest.mark.parametrize(
    ("block", "key", "value"),
    [
        ("design_space", "elements", ["Al", "Ni", "Ti"]),
        ("design_space", "filter", {"temperatures_K": [1373.15], "threshold": 0.99}),
        ("element_roles", "b2_b_site", ["Fe", "Ni"]),
        ("calphad", "order_threshold", 0.2),
    ],
)
def test_a_config_curated_otherwise_is_refused_naming_the_key(block, key, value, medium, shipped):
    changed = copy.deepcopy(medium)
    changed[block][key] = value
    with pytest.raises(DesignSpaceError, match=rf"config key {block}\.{key}\b.*curated: compute"):
        check_matches(config_module.validate(changed), shipped.provenance, "paper")


def test_settings_that_only_change_speed_are_not_curation_settings(medium):
    changed = copy.deepcopy(medium)
    changed["design_space"]["filter"]["shards"] = 3
    changed["design_space"]["filter"]["timeout_s"] = 7
    changed["calphad"]["pycalphad"]["max_systems_in_memory"] = 9
    changed["calphad"]["cache_dir"] = "elsewhere"
    assert curation_settings(changed) == curation_settings(medium)


def test_an_unknown_shipped_name_names_the_key():
    with pytest.raises(DesignSpaceError, match=r"design_space\.shipped: no shipped design space 'nope'.*'paper'"):
        shipped_dir("nope")


def test_materialized_artifacts_are_what_the_curation_rules_write(shipped):
    artifacts = materialize(shipped, 0.5)
    assert list(artifacts["candidates"].columns) == CANDIDATES_SCHEMA.names
    assert len(artifacts["candidates"]) == len(shipped.curation)
    pd.testing.assert_frame_equal(artifacts["bcc"], shipped.bcc)
    assert artifacts["enumeration_counts"]["elements"] == shipped.provenance["elements"]


def test_a_stopped_curation_ships_its_unfiltered_candidates_as_such(shipped):
    finished = shipped.curation[shipped.curation["status"] != NOT_FILTERED]
    done, rest = finished.iloc[: len(finished) // 2], finished.iloc[len(finished) // 2 :]
    table = curation_so_far(shipped.curation[CANDIDATES_SCHEMA.names], [done])
    assert len(table) == len(shipped.curation)
    unfiltered = table[table["status"] == NOT_FILTERED]
    assert set(unfiltered["composition"] + unfiltered["kind"]) >= set(rest["composition"] + rest["kind"])
    assert not unfiltered["keep"].any()
    kept = table.merge(done[["kind", "composition", "keep"]], on=["kind", "composition"], suffixes=("", "_done"))
    assert (kept["keep"] == kept["keep_done"]).all() and len(kept) == len(done)
    _, _, counts = curated_lists(table, 0.5)
    assert counts["low_coverage"] == int((done["coverage"] < 0.5).sum())  # unknown coverage is not low


def dry_run(*extra, configfile="config/medium.yaml"):
    result = subprocess.run(
        [*SNAKEMAKE, "-n", "--configfile", str(configfile), *extra], cwd=REPO, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


def job_counts(text):
    """rule -> job count of a dry run's summary table."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", text, flags=re.M)}


@pytest.mark.workflow
def test_shipped_switch_schedules_no_curation_job_and_compute_restores_them():
    code, text = dry_run()
    assert code == 0, text[-3000:]
    shipped_jobs = job_counts(text)
    assert shipped_jobs["shipped_design_space"] == 1 and shipped_jobs["enumerate_triples"] == 1
    assert not {"enumerate_candidates", "split_for_curation", "filter_candidates", "curate"} & set(shipped_jobs)
    code, text = dry_run("--config", "design_space={curated: compute}")
    assert code == 0, text[-3000:]
    computed = job_counts(text)
    assert computed["filter_candidates"] == 32 and computed["curate"] == 1
    assert "shipped_design_space" not in computed


@pytest.mark.workflow
def test_a_mismatching_config_stops_the_dag_build_naming_the_key(tmp_path):
    config = yaml.safe_load((REPO / "config/medium.yaml").read_text())
    config["design_space"]["filter"]["threshold"] = 0.95
    (tmp_path / "medium.yaml").write_text(yaml.safe_dump(config))
    code, text = dry_run(configfile=tmp_path / "medium.yaml")
    assert code != 0
    assert "config key design_space.filter.threshold: 0.95 differs from 0.99" in text


@pytest.mark.workflow
def test_the_shipped_job_writes_the_shipped_lists(tmp_path, shipped):
    results = tmp_path / "medium"
    target = results / "design_space" / "bcc.parquet"
    result = subprocess.run(
        [
            *SNAKEMAKE,
            str(target),  # before --config, which would read it as a key=value
            "--cores",
            "1",
            "--configfile",
            "config/medium.yaml",
            "--config",
            f"results_dir={results}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    pd.testing.assert_frame_equal(pd.read_parquet(target), shipped.bcc, check_dtype=False)
    counts = json.loads((results / "design_space" / "enumeration_counts.json").read_text())
    assert counts["elements"] == shipped.provenance["elements"]
    assert not (results / "design_space" / "shards").exists()  # nothing was curated
