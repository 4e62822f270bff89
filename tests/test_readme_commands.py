"""Every snakemake and alloypref command README and the documentation pages print runs as printed.

Commands come from the bash blocks (each `&&` part of a line) of README.md and every page under
docs/, and from their inline code that starts with a command; a shell redirect or pipe ends the
command's words. A Snakemake command runs as a dry run (`-n` added) in a copy of the workflow;
an alloypref command runs when it takes seconds, else its arguments go through the real parser with
the subcommand's work replaced (SLOW_ALLOYPREF says why). A command that needs a finished run or a
tool this machine may lack is skipped with its reason (NEEDS).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from alloypref import cli

from .helpers import REPO, copy_workflow

PROGRAMS = (("snakemake",), ("alloypref",), ("python", "-m", "alloypref.cli"))
SHELL_BLOCKS = {"bash", "sh", "shell"}

# command -> why it is not run here
NEEDS = {
    "snakemake --report results/report.html": "needs a finished run (tests/test_workflow.py builds the tiny run's report)",
    "snakemake --sdm conda": "needs conda" if shutil.which("conda") is None else None,
}
# alloypref subcommand -> why its arguments are only parsed (the parser is the real one)
SLOW_ALLOYPREF = {
    "score": "a cold CALPHAD system build takes about a minute (tests/test_config_and_cli.py scores one candidate)",
    "stage-times": "needs a finished run's benchmark files",
    "side-by-side": "needs finished runs (tests/test_side_by_side.py runs it on made-up runs)",
    "ship-design-space": "needs a finished curation run",
}
# inline code naming a subcommand in prose, not a command
MENTIONS = {"alloypref score"}


SHELL_OPERATORS = {">", ">>", "|", "2>", "&>", ";"}


def _argv(text: str) -> list[str] | None:
    """The words of one shell command, up to a redirect or pipe, if it runs snakemake or alloypref, else None."""
    words = shlex.split(text, comments=True)
    cut = next((i for i, word in enumerate(words) if word in SHELL_OPERATORS), len(words))
    words = words[:cut]
    for program in PROGRAMS:
        if tuple(words[: len(program)]) == program:
            return words
    return None


def documented_commands(readme: str) -> list[str]:
    """snakemake and alloypref commands of a Markdown text's bash blocks and inline code, in order, once each."""
    commands = []
    for language, body in re.findall(r"```(\w*)\n(.*?)```", readme, flags=re.S):
        if language in SHELL_BLOCKS:
            for line in body.replace("\\\n", " ").splitlines():
                commands += [part.strip() for part in line.split("&&")]
    prose = re.sub(r"```.*?```", "", readme, flags=re.S)
    commands += [span for span in re.findall(r"`([^`\n]+)`", prose) if span not in MENTIONS]
    found = []
    for command in commands:
        argv = _argv(command)
        if argv is not None and shlex.join(argv) not in found:
            found.append(shlex.join(argv))
    return found


DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
COMMANDS = documented_commands("\n\n".join(path.read_text(encoding="utf-8") for path in DOCUMENTS))


def test_the_extraction_finds_the_documented_commands():
    """The quick start's run (after `&&`), a continued line, inline commands, `python -m` forms and a
    command whose output is redirected, from README and the docs pages."""
    assert "snakemake --cores 2" in COMMANDS
    assert any(c.startswith("snakemake") and "--configfile config/medium.yaml --config" in c for c in COMMANDS)
    assert "snakemake -n --profile profiles/slurm --workflow-profile none --configfile config/paper.yaml" in COMMANDS
    assert "python -m alloypref.cli cost-model --config config/medium.yaml --cores 16 32" in COMMANDS
    assert "alloypref --version" in COMMANDS
    assert "snakemake --rulegraph" in COMMANDS


def test_a_pipe_or_a_redirect_ends_a_command():
    assert documented_commands("```bash\nsnakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg\n```") == [
        "snakemake --rulegraph"
    ]
    assert documented_commands("```bash\nsnakemake --dag > dag.dot\n```") == ["snakemake --dag"]


def _snakemake_dry_run(argv: list[str]) -> list[str]:
    """The command as printed, as a dry run (commands that plan nothing run as they are)."""
    if {"-n", "--dry-run", "--lint", "--unlock"} & set(argv):
        return argv
    return [*argv, "-n"]


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """A copy of the workflow whose config/paper.yaml finds stand-in folders for its local models."""
    work = copy_workflow(tmp_path_factory.mktemp("readme"))
    paper = yaml.safe_load((work / "config/paper.yaml").read_text())
    for name, entry in paper["models"].items():
        if entry.get("source") == "local":
            folder = work / "stand-in-models" / name
            folder.mkdir(parents=True)
            (folder / "config.json").write_text("{}")
            entry["path"] = str(folder)
    (work / "config/paper.yaml").write_text(yaml.safe_dump(paper))
    return work


@pytest.fixture(scope="module")
def snakemake_runs(workflow_copy) -> dict[str, subprocess.CompletedProcess]:
    """Every documented Snakemake command's dry run, four at a time."""
    commands = [c for c in COMMANDS if c.startswith("snakemake") and not NEEDS.get(c)]

    def dry_run(command: str) -> subprocess.CompletedProcess:
        argv = _snakemake_dry_run(shlex.split(command))
        return subprocess.run(
            [sys.executable, "-m", *argv], cwd=workflow_copy, capture_output=True, text=True, timeout=300
        )

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(commands, pool.map(dry_run, commands), strict=True))


@pytest.mark.workflow
@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("snakemake")])
def test_a_documented_snakemake_command_runs_as_printed(command, snakemake_runs):
    if NEEDS.get(command):
        pytest.skip(NEEDS[command])
    result = snakemake_runs[command]
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


def _alloypref_args(argv: list[str]) -> list[str]:
    return argv[1:] if argv[0] == "alloypref" else argv[3:]


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.startswith("snakemake")])
def test_a_documented_alloypref_command_runs_as_printed(command, monkeypatch, capsys):
    args = _alloypref_args(shlex.split(command))
    subcommand = next((a for a in args if not a.startswith("-")), None)
    if subcommand in SLOW_ALLOYPREF and not {"-h", "--help"} & set(args):
        parsed = []
        handler = "_" + subcommand.replace("-", "_")
        monkeypatch.setattr(cli, handler, lambda namespace: parsed.append(namespace) or 0)
        assert cli.main(args) == 0, command
        assert [namespace.command for namespace in parsed] == [subcommand]
        return
    result = subprocess.run(
        [sys.executable, "-m", "alloypref.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
