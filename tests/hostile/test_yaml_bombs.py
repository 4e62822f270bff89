"""A YAML alias bomb under a validated key: a few hundred bytes that refer to 10^9 values. Loading
refuses it before building it, and no error message formats a whole value. Each case runs in a
child process with a deadline, so a regression fails instead of hanging the suite."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from alloypref import config as config_module

DEADLINE_S = 30


def laughs(key: str, levels: int = 9) -> str:
    """A billion-laughs document: ``key`` holds lists that each refer nine times to the one before."""
    lines = [f"{key}:", "  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def merges(key: str, levels: int = 9) -> str:
    """The same with merge keys: each mapping merges the one before nine times over."""
    lines = [f"{key}:", "  - &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    lines += [f"  - &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 9) + f"], k{i}: 0}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def mapping_laughs(key: str, levels: int = 9) -> str:
    """The same with mappings: each holds nine keys referring to the mapping before."""
    lines = [f"{key}:", "  m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    lines += [f"  m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(9)) + "}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMBS = {
    "laughs-under-seed": laughs("seed"),
    "laughs-under-reward": "reward:\n  weight_bcc_b2_exist:\n"
    + "".join(f"  {line}\n" for line in laughs("x").splitlines()[1:]),
    "laughs-under-models": laughs("models"),
    "merge-keys": merges("seed"),
    "mapping-laughs-under-reward": mapping_laughs("reward"),
    "contains-itself": "seed: &s [1, *s]\n",
}


def load_in_child(path) -> subprocess.CompletedProcess:
    code = (
        "import sys\nfrom alloypref import config\n"
        "try:\n    config.load(sys.argv[1])\nexcept config.ConfigError as exc:\n"
        "    print(str(exc)); sys.exit(2)\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=DEADLINE_S)


@pytest.mark.parametrize("name", BOMBS)
def test_alias_bomb_fails_fast_with_a_named_error(tmp_path, name):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMBS[name])
    assert len(BOMBS[name]) < 2000
    start = time.monotonic()
    result = load_in_child(path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert time.monotonic() - start < DEADLINE_S
    message = result.stdout.strip()
    assert message.startswith(f"config file {path}: holds more than 100,000 values"), message
    assert len(message) < 400


def test_shared_lists_built_in_python_are_refused_by_validate():
    level = ["lol"] * 9
    for _ in range(9):
        level = [level] * 9
    start = time.monotonic()
    with pytest.raises(config_module.ConfigError, match=r"^config \(top level\): holds more than 100,000"):
        config_module.load(None, {"seed": level})
    assert time.monotonic() - start < 5


def test_error_message_of_a_large_value_is_cut_short():
    """A large value (no aliases, under the limit) of the wrong type names the key in a short message."""
    value = list(range(50_000))
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.load(None, {"seed": value})
    message = str(caught.value)
    assert message.startswith("config key seed: [0, 1, 2")
    assert message.endswith("is not of type 'integer'")
    assert len(message) < 400


def test_anchors_that_stay_small_are_still_accepted(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "calphad:\n  temperatures_K: &grid [373.15, 1273.15]\ndesign_space:\n  filter:\n    temperatures_K: *grid\n"
    )
    cfg = config_module.load(path)
    assert cfg["design_space"]["filter"]["temperatures_K"] == [373.15, 1273.15]


def test_command_line_values_with_shared_lists_are_refused_before_validation():
    """``snakemake --config 'seed=[&a [1,1,...], [*a, *a, ...], ...]'``: the Snakefile types these
    values before Snakemake's own schema validation, which would format the whole value."""
    level = [1] * 9
    for _ in range(9):
        level = [level] * 9
    with pytest.raises(config_module.ConfigError, match="^--config values: hold more than 100,000"):
        config_module.typed_command_line_values({"seed": level})
