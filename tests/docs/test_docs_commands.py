"""Every command the README and docs/ show is checked, so the documentation cannot drift from the code.

The convention (docs/development.md): commands live in ```console blocks as `$ ` lines, or in a table's cells. A `shieldrec` line
is run for real, in order, against a throw-away home; one marked `# parse-only` (it serves forever, needs a
keyring or a network, or takes longer than CI allows) is parsed by the CLI's own click parser instead. A
`python scripts/X.py` line, and a command in a table, is checked by the script existing and its `--help` naming every flag shown
(a script shown without flags is only checked to exist).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHIELDREC = {"shieldrec", ".venv/bin/shieldrec"}
PARSE_ONLY = "# parse-only"


@dataclass(frozen=True)
class Command:
    page: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: {self.text}"

    def words(self) -> list[str]:
        return shlex.split(self.text, comments=True)


def console_commands(page: Path) -> list[Command]:
    """The `$ ` lines of a page's console blocks; a line that is neither `$ ` nor `#` continues the last."""
    found: list[Command] = []
    in_block = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```console" if not in_block else False
            continue
        if not in_block or not stripped or stripped.startswith("#"):
            continue
        if line.startswith("$ "):
            found.append(Command(page, number, line[2:]))
        elif found:
            last = found[-1]
            text = last.text.rstrip()
            joined = text[:-1] + " " + stripped if text.endswith("\\") else last.text + "\n" + line
            found[-1] = Command(page, last.line, joined)
    return found


TABLE_COMMAND = re.compile(r"`((?:\.venv/bin/)?(?:shieldrec|python scripts/)[^`]*)`")


def table_commands(page: Path) -> list[Command]:
    """Commands in a table's cells (the figures' tables): parsed, never run, as they take minutes."""
    return [Command(page, number, f"{match}   {PARSE_ONLY}")
            for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
            if line.startswith("|") for match in TABLE_COMMAND.findall(line)]


def _all() -> list[Command]:
    return [c for page in PAGES for c in (*console_commands(page), *table_commands(page))]


def _is_shieldrec(command: Command) -> bool:
    words = command.words()
    return bool(words) and words[0] in SHIELDREC


def _is_script(command: Command) -> bool:
    return "scripts/" in command.text and re.match(r"\s*(\.venv/bin/)?python3? scripts/\S+\.py", command.text) is not None


def _flags(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if w.startswith("-") and w not in {"-", "--"}]


def test_every_page_has_checked_commands_and_none_hide_in_other_blocks() -> None:
    assert any(_is_shieldrec(c) for c in _all())
    for page in PAGES:
        in_other = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("```"):
                in_other = stripped in {"```bash", "```sh", "```shell"} if not in_other else False
                continue
            if in_other:
                first = stripped.split(" ", 1)[0]
                assert first not in SHIELDREC, (
                    f"{page.relative_to(ROOT)}:{number}: a shieldrec command outside a ```console block is not checked")


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(readme) if line.startswith("# 2. "))
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.startswith("bash scripts/setup.sh")]
    assert ci == [readme[marker + 1]], "README.md's command 2 and .ci/run's command differ"


def _resolve(words: list[str]) -> click.Command:
    from shieldrec.cli import cli

    command: click.Command = cli
    ctx = click.Context(cli, info_name="shieldrec")
    for word in words[1:]:
        if not isinstance(command, click.Group) or word.startswith("-"):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            break
        command = sub
    return command


PARSED = [c for c in _all() if _is_shieldrec(c) and PARSE_ONLY in c.text]


@pytest.mark.parametrize("command", PARSED, ids=[c.where for c in PARSED])
def test_a_parse_only_command_names_only_options_its_command_has(command: Command) -> None:
    leaf = _resolve(command.words())
    known = {opt for param in leaf.params for opt in (*param.opts, *param.secondary_opts)}
    unknown = [flag for flag in _flags(command.words()) if flag not in known]
    assert not unknown, f"{command.where}: `{leaf.name}` has no option {unknown}"


SCRIPTS = [c for c in _all() if _is_script(c)]


@pytest.mark.slow
@pytest.mark.parametrize("command", SCRIPTS, ids=[c.where for c in SCRIPTS])
def test_a_script_command_exists_and_accepts_its_flags(command: Command) -> None:
    words = command.words()
    script = ROOT / next(w for w in words if w.startswith("scripts/"))
    assert script.is_file(), f"{command.where}: {script.relative_to(ROOT)} does not exist"
    if not _flags(words):
        return
    shown = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert shown.returncode == 0, f"{command.where}: --help failed: {shown.stderr[-500:]}"
    missing = [f for f in _flags(words) if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", shown.stdout)]
    assert not missing, f"{command.where}: its --help does not list {missing}"


RUN_PAGES = [p for p in PAGES if any(_is_shieldrec(c) and PARSE_ONLY not in c.text for c in console_commands(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=[str(p.relative_to(ROOT)) for p in RUN_PAGES])
def test_every_runnable_command_of_a_page_exits_0(page: Path, tmp_path: Path) -> None:
    for name in ("profiles", "scripts", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "HOME": str(tmp_path), "SHIELDREC_HOME": str(tmp_path / "home"),
           "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    commands = [c for c in console_commands(page) if _is_shieldrec(c) and PARSE_ONLY not in c.text]
    if not any("profile import profiles/maya.toml" in c.text for c in commands):
        commands.insert(0, Command(page, 0, "shieldrec profile import profiles/maya.toml"))
    for command in commands:
        done = subprocess.run(["bash", "-c", command.text], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"{command.where}: exited {done.returncode}: {done.stderr[-800:]}"
