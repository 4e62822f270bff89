"""A non-UTF-8 locale (``LC_ALL=C`` without Python's UTF-8 mode: ASCII) breaks no command: every
text file is read and written as UTF-8, whatever the locale, and the console escapes what it cannot show."""

import os
import subprocess
import sys

from ..helpers import DATA, REPO

ASCII_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}


def test_score_under_an_ascii_locale_with_a_non_ascii_config_folder_and_text(tmp_path):
    folder = tmp_path / "légère-Å"
    folder.mkdir()
    config = folder / "nial.yaml"
    config.write_text(
        "# Ni–Al (Dupin 2001): the small published assessment, « nial »\n"
        f"calphad:\n  cache_dir: {tmp_path / 'cache'}\n  temperatures_K: [373.15, 1273.15]\n"
        f"  databases:\n    - name: nial\n      path: {DATA / 'NI_AL_DUPIN_2001.TDB'}\n"
        "      phase_roles: {BCC_A2: bcc_like, BCC_B2: bcc_like, LIQUID: liquid}\n",
        encoding="utf-8",
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), **ASCII_LOCALE}
    environment.pop("ALLOYPREF_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-m", "alloypref.cli", "score", "Ni", "NiAl", "60", "--config", str(config)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        timeout=300,
    )
    stdout, stderr = result.stdout.decode("ascii"), result.stderr.decode("ascii", "replace")
    assert result.returncode in (0, 1), stderr  # 1: scored, but not status ok
    assert "Traceback" not in stderr
    assert "database nial" in stdout and "reward" in stdout
    assert "min_lattice_mismatch" in stdout and "\\xc5" in stdout  # Å, escaped for an ASCII console
