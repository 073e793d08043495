"""Files a user imports are untrusted: deep nesting, broken encodings, huge or odd values end in
one clear line and nothing imported, through the real command (file, standard input, TOML)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.errors import InvalidInput
from shieldrec.store import Store, load_profile_file, parse_profile_document

DEEP = 5000


def run(*args: str, input: str | bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output + (repr(result.exception) if result.exception and
                                              not isinstance(result.exception, SystemExit) else "")


def deep_json() -> str:
    return '{"profile": {"name": "deep"}, "history": ' + "[" * DEEP + "]" * DEEP + "}"


def deep_toml() -> str:
    return '[profile]\nname = "deep"\nabout = ' + "[" * DEEP + "]" * DEEP + "\n"


@pytest.mark.parametrize(("suffix", "content"), [(".json", deep_json()), (".toml", deep_toml()),
                                                 (".toml", "[profile]\nname = 'deep'\nx = " + "{a = " * DEEP + "1"
                                                  + "}" * DEEP + "\n")], ids=["json", "toml list", "toml table"])
def test_deeply_nested_files_are_refused_in_one_line(tmp_path: Path, suffix: str, content: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text(content)
    code, out = run("profile", "import", str(path))
    assert code == 1 and "nested too deeply" in out and "Traceback" not in out and "RecursionError" not in out
    assert json.loads(run("profile", "list", "--format", "json")[1]) == []


def test_deeply_nested_standard_input_is_refused(tmp_path: Path) -> None:
    code, out = run("profile", "import", "-", input=deep_json())
    assert code == 1 and "standard input" in out and "nested too deeply" in out and "RecursionError" not in out


def test_nesting_below_the_parser_limit_is_refused_too(store: Store) -> None:
    # Deep enough to be absurd, shallow enough for the JSON parser: a payload nested 200 levels.
    payload: object = {}
    for _ in range(200):
        payload = {"x": payload}
    doc = {"profile": {"name": "p"}, "conversations": [{"messages": [{"role": "user", "content": "hi",
                                                                      "payload": payload}]}]}
    with pytest.raises(InvalidInput, match="nested too deeply"):
        parse_profile_document(doc)


def test_the_command_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(deep_json())
    done = subprocess.run([sys.executable, "-c", "from shieldrec.cli import main; main()", "profile", "import",
                           str(path)], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "nested too deeply" in done.stderr


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.json", b"\xff\xfe{}", "not UTF-8"),
    ("bad.json", b'{"profile": {"name": "x"}, "history": [1e999999]}', "history entry 1"),
    ("bad.json", b"[1, 2, 3]", "must be an object"),
    ("bad.toml", b"[profile\nname = 'x'", "not valid TOML"),
    ("nul.json", b'{"profile": {"name": "x\\u0000y"}}', "not valid"),
])
def test_broken_files_give_one_clear_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out = run("profile", "import", str(path))
    assert code == 1 and message in out and "Traceback" not in out


def test_standard_input_is_read_with_the_same_size_limit(tmp_path: Path) -> None:
    code, out = run("profile", "import", "-", input=b" " * (50 * 1024 * 1024 + 10))
    assert code == 1 and "larger than 50 MB" in out


def test_a_file_that_is_fine_still_imports(tmp_path: Path, profiles_dir: Path) -> None:
    doc = load_profile_file(profiles_dir / "maya.toml")
    path = tmp_path / "maya.json"
    path.write_text(json.dumps(doc))
    code, out = run("profile", "import", "-", input=path.read_text())
    assert code == 0 and "Imported profile 'maya'" in out
