"""`shieldrec profile ...` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shieldrec.cli import cli


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_import_show_export_forget(profiles_dir: Path, tmp_path: Path) -> None:
    code, out = run("profile", "import", str(profiles_dir / "maya.toml"))
    assert code == 0 and "6 preferences" in out
    code, out = run("profile", "show")
    assert code == 0 and "avoids horror" in out and "blocks creator 'Stephenie Meyer'" in out
    assert "liked: The Iron Giant" in out

    target = tmp_path / "maya.json"
    code, _ = run("profile", "export", "maya", "-o", str(target))
    assert code == 0 and json.loads(target.read_text())["profile"]["name"] == "maya"

    code, out = run("profile", "forget", "maya", input="n\n")
    assert code != 0  # declined
    code, out = run("profile", "forget", "maya", "--yes")
    assert code == 0
    code, out = run("profile", "show", "maya")
    assert code == 1 and "no profile named 'maya'" in out and "Traceback" not in out

    code, out = run("profile", "import", str(target))  # the export comes back whole
    assert code == 0 and "5 history entries" in out


def test_every_persona_imports(profiles_dir: Path) -> None:
    personas = sorted(profiles_dir.glob("*.toml"))
    assert len(personas) >= 3
    for path in personas:
        code, out = run("profile", "import", str(path))
        assert code == 0, out
    code, out = run("profile", "list", "--format", "json")
    assert len(json.loads(out)) == len(personas)


def test_import_is_idempotent_with_if_missing(profiles_dir: Path) -> None:
    assert run("profile", "import", str(profiles_dir / "sam.toml"))[0] == 0
    code, out = run("profile", "import", str(profiles_dir / "sam.toml"))
    assert code == 1 and "already exists" in out
    assert run("profile", "import", str(profiles_dir / "sam.toml"), "--if-missing")[0] == 0


def test_add_and_remove_entries(profiles_dir: Path) -> None:
    run("profile", "create", "ana")
    code, out = run("profile", "add", "block", "Some Studio", "--target", "source")
    assert code == 0 and "blocks source 'Some Studio'" in out
    pref_id = out.split(":")[0].lstrip("#")
    assert run("profile", "remove", pref_id)[0] == 0
    code, out = run("profile", "remove", "history:999")
    assert code == 1 and "no history entry #999" in out


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"profile": {"name": "x"}, "history": [42]}')
    code, out = run("profile", "import", str(bad))
    assert code == 1 and "history entry 1" in out and "Traceback" not in out


def test_paths_honours_shieldrec_home(shieldrec_home: Path) -> None:
    code, out = run("paths", "--json")
    assert code == 0
    paths = json.loads(out)
    assert all(v.startswith(str(shieldrec_home)) for v in paths.values())
