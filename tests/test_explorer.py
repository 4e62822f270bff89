"""The results explorer's page generator and the phase-fraction curves it shares with `score --plot`."""

import json
import re

import pandas as pd
import pytest

from alloypref.evaluation.explorer import ROW_COLUMNS, explorer_data, render_explorer, select_candidates, write_explorer
from alloypref.evaluation.figures import phase_fraction_figure
from alloypref.evaluation.phase_curves import phase_curves

from .helpers import explorer_phase_rows as phase_rows
from .helpers import explorer_source as source

HOSTILE = "</script><script>alert('x')</script><!-- & \u2028"


def embedded(page: str) -> dict:
    """The JSON data of a rendered page."""
    match = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    assert match, "the page has no data element"
    return json.loads(match.group(1))


def test_phase_curves_one_per_phase_and_structure_with_zero_where_absent():
    table = pd.DataFrame(phase_rows("a"))
    curves = phase_curves(table)
    assert curves.temperatures_K == (373.15, 1773.15)
    assert [(c.label, c.fractions) for c in curves.curves] == [
        ("BCC_B2#1 (BCC)", (0.6, 0.3)),
        ("BCC_B2#2 (B2)", (0.4, 0.0)),
        ("LIQUID#1 (LIQUID)", (0.0, 0.7)),
    ]
    summed = phase_curves(table, per="structure")
    assert [(c.label, c.fractions) for c in summed.curves] == [
        ("BCC", (0.6, 0.3)),
        ("B2", (0.4, 0.0)),
        ("LIQUID", (0.0, 0.7)),
    ]
    with pytest.raises(ValueError, match="mole_fraction"):
        phase_curves(table.drop(columns="mole_fraction"))


def test_the_chart_has_one_line_per_phase_and_axes_with_units():
    curves = phase_curves(pd.DataFrame(phase_rows("a")))
    fig = phase_fraction_figure(curves, "Cr + AlNi")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [c.label for c in curves.curves]
    assert "(K)" in ax.get_xlabel() and "mole fraction" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [c.label for c in curves.curves]


def test_every_candidate_and_its_curves_are_embedded_under_the_limit():
    scored = {"tiny-sft": source("s", [-0.01, -1121.0]), "random": source("r", [-0.5])}
    scored["tiny-sft"][0].loc[1, ["status", "bcc_b2_exist"]] = ["invalid", False]
    data = explorer_data(scored, max_candidates=10)
    assert data["columns"] == list(ROW_COLUMNS) and data["total"] == data["shown"] == 3
    rows = [dict(zip(data["columns"], row)) for row in data["rows"]]
    assert [(r["source"], r["candidate_id"]) for r in rows] == [
        ("tiny-sft", "s-0"),
        ("tiny-sft", "s-1"),
        ("random", "r-0"),
    ]
    first = rows[0]
    assert first["others_within_10"] is True and first["min_lattice_mismatch"] == 0.01
    assert data["grids"][data["curves"][first["curve"]]["g"]] == [373.15, 1773.15]
    assert data["curves"][first["curve"]]["c"][1] == ["BCC_B2#2", "B2", [0.4, 0.0]]
    # identical phase curves are stored once
    assert len(data["curves"]) == 1 and {r["curve"] for r in rows} == {0}
    # an unscored candidate's rule flags and mismatch are unknown, not the table's placeholders
    invalid = rows[1]
    assert invalid["status"] == "invalid"
    assert [invalid[k] for k in ("bcc_b2_exist", "others_within_10", "all_rules", "min_lattice_mismatch")] == [None] * 4
    assert {s["name"]: s["invalid"] for s in data["sources"]} == {"tiny-sft": 1, "random": 0}


def test_the_limit_takes_each_sources_best_in_turns():
    rewards = {
        "big": source("b", [-5, -1, -3, -2, -4])[0],
        "small": source("s", [-9])[0],
        "mid": source("m", [-7, -6, -8])[0],
    }
    chosen = select_candidates(rewards, 5)
    assert {name: list(table["candidate_id"]) for name, table in chosen.items()} == {
        "big": ["b-1", "b-3"],
        "small": ["s-0"],
        "mid": ["m-1", "m-0"],
    }
    scored = {name: (table, source("x", [])[1]) for name, table in rewards.items()}
    data = explorer_data(scored, max_candidates=5)
    assert data["shown"] == 5 and data["total"] == 9 and len(data["rows"]) == 5
    assert "5 of 9" in data["note"] and "explorer_max_candidates" in data["note"]
    assert {s["name"]: (s["candidates"], s["shown"]) for s in data["sources"]} == {
        "big": (5, 2),
        "small": (1, 1),
        "mid": (3, 2),
    }
    with pytest.raises(ValueError, match="explorer_max_candidates"):
        select_candidates(rewards, 0)


def test_odd_strings_are_escaped_and_come_back_intact(tmp_path):
    rewards, tables = source("h", [-1.0])
    rewards.loc[0, ["bcc", "trust_reason", "trusted"]] = [HOSTILE, 'Al-Ni: "quoted" & <b>bold</b>', False]
    title = "run <b>&</b> {{DATA}} /*JS*/"
    written = write_explorer({"hostile": (rewards, tables)}, tmp_path / "explorer.html", 100, title=title)
    page = (tmp_path / "explorer.html").read_text(encoding="utf-8")
    assert written["bytes"] == len(page.encode("utf-8")) and written["shown"] == 1
    assert page.lower().count("</script") == 2  # the data element's and the script's own closing tags
    assert "<b>" not in page and "<!--" not in page
    assert f"<title>{'run &lt;b&gt;&amp;&lt;/b&gt; {{DATA}} /*JS*/'}</title>" in page
    row = dict(zip(ROW_COLUMNS, embedded(page)["rows"][0]))
    assert row["bcc"] == HOSTILE and row["trust_reason"] == 'Al-Ni: "quoted" & <b>bold</b>'
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


def test_a_script_asset_that_would_close_its_element_is_refused(monkeypatch):
    from alloypref.evaluation import explorer

    real = explorer._asset
    monkeypatch.setattr(explorer, "_asset", lambda name: "x = '</script>';" if name == "explorer.js" else real(name))
    with pytest.raises(ValueError, match="explorer.js"):
        render_explorer(explorer_data({"s": source("s", [-1])}, 10), "t")


def test_read_scored_keeps_the_phase_tables_of_embedded_candidates_only(tmp_path):
    from alloypref.evaluation.explorer import read_scored
    from alloypref.io import write_parquet
    from alloypref.scoring import REWARDS_SCHEMA, SCORED_TABLES_SCHEMA

    paths = {}
    for name, rewards in (("a", [-3, -1, -2]), ("b", [-5])):
        frame, tables = source(name, rewards)
        paths[name] = (tmp_path / f"{name}.rewards.parquet", tmp_path / f"{name}.tables.parquet")
        write_parquet(frame, paths[name][0], REWARDS_SCHEMA)
        write_parquet(tables, paths[name][1], SCORED_TABLES_SCHEMA)
    scored = read_scored(["a", "b"], [p[0] for p in paths.values()], [p[1] for p in paths.values()], 3)
    assert [len(scored[name][0]) for name in ("a", "b")] == [3, 1]  # every reward row: the page counts them
    assert set(scored["a"][1]["candidate_id"]) == {"a-1", "a-2"} and set(scored["b"][1]["candidate_id"]) == {"b-0"}
    with pytest.raises(ValueError, match="2 sources, 1 rewards"):
        read_scored(["a", "b"], [paths["a"][0]], [p[1] for p in paths.values()], 3)
