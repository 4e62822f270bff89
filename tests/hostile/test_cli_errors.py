"""``cost-model``, ``ship-design-space`` and ``score`` answer bad configs, bad values and unusable
folders with exit code 2 and a message naming the culprit, never a traceback."""

import pytest

from alloypref.cli import main

from ..helpers import REPO

SHIPPED = "design_space: {curated: shipped}\n"


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def garbage_run(folder):
    """A results folder whose design-space tables are not Parquet."""
    for table in ("curation.parquet", "candidates.parquet"):
        write(folder, f"run/design_space/{table}", "junk")
    return str(folder / "run")


COST_CASES = {
    "missing config": (lambda d: ["--config", str(d / "nope.yaml")], "nope.yaml not found"),
    "repeated key": (lambda d: ["--config", write(d, "c.yaml", "seed: 1\nseed: 2\n")], "key 'seed' repeats"),
    "unknown shipped design space": (
        lambda d: ["--config", write(d, "c.yaml", "design_space: {curated: shipped, shipped: nosuch}\n")],
        "no shipped design space 'nosuch'",
    ),
    "unreadable --design-space table": (
        lambda d: ["--config", write(d, "c.yaml", SHIPPED), "--design-space", garbage_run(d)],
        "curation.parquet: not a readable Parquet file",
    ),
    "zero cores": (
        lambda d: ["--config", write(d, "c.yaml", SHIPPED), "--cores", "0"],
        "--cores: 0 is not between 1 and 100000",
    ),
    "negative cores": (lambda d: ["--config", write(d, "c.yaml", SHIPPED), "--cores", "16", "-4"], "--cores: -4"),
    "fractional cores": (
        lambda d: ["--config", write(d, "c.yaml", SHIPPED), "--cores", "2.5"],
        "'2.5' is not an integer",
    ),
    "negative GPUs": (
        lambda d: ["--config", write(d, "c.yaml", SHIPPED), "--gpus", "-1"],
        "--gpus: -1 is not between 0 and 1024",
    ),
}


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


@pytest.mark.parametrize("case", list(COST_CASES))
def test_cost_model_errors_are_named(tmp_path, case, capsys):
    argv, message = COST_CASES[case]
    assert exit_code(["cost-model", *argv(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


SHIP_CASES = {
    "no such run": (lambda d: [str(d / "norun")], "norun/design_space/candidates.parquet: no such Parquet file"),
    "unreadable run table": (lambda d: [garbage_run(d)], "curation.parquet: not a readable Parquet file"),
}


@pytest.mark.parametrize("case", list(SHIP_CASES))
def test_ship_design_space_errors_are_named(tmp_path, case, capsys):
    argv, message = SHIP_CASES[case]
    config = str(REPO / "config/config.yaml")
    assert exit_code(["ship-design-space", *argv(tmp_path), "--config", config, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_ship_design_space_config_error_is_named(tmp_path, capsys):
    config = write(tmp_path, "c.yaml", "seed: 1\nseed: 2\n")
    assert exit_code(["ship-design-space", str(tmp_path), "--config", config, "--out", str(tmp_path / "o")]) == 2
    assert "key 'seed' repeats" in capsys.readouterr().err


def test_a_cache_folder_that_is_a_file_is_named(tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.write_text("not a folder", encoding="utf-8")
    assert main(["score", "Nb", "NiAl", "30", "--cache-dir", str(cache)]) == 2
    err = capsys.readouterr().err
    assert f"{cache} is a file, not a folder" in err and "Traceback" not in err


def test_a_seed_list_that_is_not_utf8_names_its_file_and_line(tmp_path):
    from alloypref.design_space import DesignSpaceError, read_seed_list

    seeds = tmp_path / "bcc.txt"
    seeds.write_bytes("NbMo\n# Légère\n".encode("latin-1"))
    with pytest.raises(DesignSpaceError, match=f"design_space.seed_lists: {seeds}, line 2: not UTF-8 text"):
        read_seed_list(str(seeds))
