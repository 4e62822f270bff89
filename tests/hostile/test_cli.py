"""Hostile command lines: ``alloypref score`` answers each with exit code 2 and a one-line error
naming the culprit, never a traceback and never a reward."""

import pytest

from alloypref.cli import main

CASES = [
    (["Ni1e400Al", "NiAl", "30"], "Ni1e400Al"),  # was scored ok as Al25
    (["Nb", "NiAl", "nan"], "B2 volume"),
    (["Nb", "NiAl", "inf"], "B2 volume"),
    (["Nb", "NiAl", "150"], "B2 volume"),
    (["Nb", "NiAl", "-1"], "B2 volume"),
    (["Nb\nMo", "NiAl", "30"], "formula"),
    (["", "NiAl", "30"], "empty formula"),
    (["Nb", "NiAl", "30", "--database", "nosuch"], "--database 'nosuch' is not configured"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[repr(a[:3])[:30] for a, _ in CASES])
def test_bad_arguments(argv, message, capsys):
    assert main(["score", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert "reward" not in captured.out


CONFIGS = [
    ("seed: 1\nseed: 2\n", "key 'seed' repeats"),
    ("reward: {weight_bcc_b2_exist: .nan}\n", "reward.weight_bcc_b2_exist: nan is not a finite number"),
    ("calphad: {temperatures_K: [1273.15]}\n", "calphad.temperatures_K"),
    (
        "calphad: {databases: [{name: m, path: mc_ni_v2.034.pycalphad.tdb, phase_roles: {NiAl: b2}}]}\n",
        "'NiAl' -> did you mean 'NIAL'?",
    ),
]


@pytest.mark.parametrize("text, message", CONFIGS, ids=[m[:25] for _, m in CONFIGS])
def test_bad_config(tmp_path, cache_dir, text, message, capsys):
    """The phase-role typo uses the session's cache folder: the database is usually cached by then."""
    config = tmp_path / "c.yaml"
    config.write_text(
        text.replace("calphad: {", f"calphad: {{cache_dir: {cache_dir}, ", 1) if "databases" in text else text
    )
    assert main(["score", "Nb", "NiAl", "30", "--config", str(config)]) == 2
    assert message in capsys.readouterr().err


def test_shared_writable_cache_is_refused(tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    config = tmp_path / "c.yaml"
    config.write_text(f"calphad: {{cache_dir: {cache}}}\n")
    assert main(["score", "Nb", "NiAl", "30", "--config", str(config)]) == 2
    assert "refusing to use the CALPHAD cache" in capsys.readouterr().err


def test_volume_that_is_not_a_number(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["score", "Nb", "NiAl", "thirty"])
    assert caught.value.code == 2 and "invalid float value: 'thirty'" in capsys.readouterr().err
