"""One output convention across the CLI, and commands that check before they start: lists print a
table and take --format jsonl|json|csv; one thing shown takes --format text|json; the terminal
app refuses a profile that does not exist before drawing anything."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.items import Item
from shieldrec.settings import Settings
from shieldrec.store import Store
from shieldrec.store.conversations import Message
from shieldrec.store.later import LaterEntry

REPO = Path(__file__).resolve().parents[2]
LISTS = [("profile", "list"), ("platform", "list"), ("platform", "adapters"), ("audit",), ("conversations", "list"),
         ("later", "list"), ("models", "list")]


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def seeded(profiles_dir: Path) -> None:
    assert run("profile", "import", str(profiles_dir / "maya.toml"))[0] == 0
    store = Store()
    maya = store.profile("maya")
    cid = store.conversations.start(maya.id)
    store.conversations.add(cid, Message(role="user", content="something hopeful"))
    store.conversations.add(cid, Message(role="agent", content="1 pick", payload={"version": 1, "cards": [
        {"rank": 1, "item": {"id": "m1", "title": "Arrival", "url": "https://example.org/a"}, "score": 0.5,
         "reasons": ["close to 'hopeful', which you asked for"]}]}))
    store.later.add(maya.id, LaterEntry(Item.from_untrusted({"id": "m1", "title": "Arrival"}, platform="demo")))
    store.close()


def test_every_list_command_prints_a_table_and_each_format_on_request(profiles_dir: Path) -> None:
    seeded(profiles_dir)
    for command in LISTS:
        code, table = run(*command)
        assert code == 0, (command, table)
        assert not table.lstrip().startswith(("{", "[")), f"{command}: a table is the default"
        code, out = run(*command, "--format", "json")
        assert code == 0 and isinstance(json.loads(out), list), command
        code, out = run(*command, "--format", "jsonl")
        assert code == 0 and all(isinstance(json.loads(line), dict) for line in out.splitlines()), command
        code, out = run(*command, "--format", "csv")
        assert code == 0, command
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == len(json.loads(run(*command, "--format", "json")[1])), command
    code, out = run("profile", "list")
    assert out.splitlines()[0].split() == ["NAME", "DEFAULT", "PREFERENCES", "HISTORY", "ABOUT"]
    assert out.splitlines()[1].startswith("maya  True")


def test_shown_things_take_format_text_or_json(profiles_dir: Path) -> None:
    seeded(profiles_dir)
    for command in (("paths",), ("profile", "show", "maya")):
        code, text = run(*command)
        assert code == 0 and not text.startswith("{"), command
        code, out = run(*command, "--format", "json")
        assert code == 0 and isinstance(json.loads(out), dict), command
        assert run(*command, "--json")[1] == out  # the older spelling still works


def test_conversations_and_the_watch_list_from_the_command_line(profiles_dir: Path, tmp_path: Path) -> None:
    seeded(profiles_dir)
    [row] = json.loads(run("conversations", "list", "--format", "json")[1])
    cid = str(row["id"])
    assert row["title"] == "something hopeful" and row["requests"] == 1
    assert run("conversations", "rename", cid, "Evening picks")[0] == 0
    assert "Evening picks" in run("conversations", "search", "arrival")[1]
    assert "no conversation matches" in run("conversations", "search", "solaris")[1]
    code, text = run("conversations", "show", cid)
    assert code == 0 and text.startswith("# Evening picks") and "1. **Arrival**" in text
    target = tmp_path / "evening.json"
    assert run("conversations", "show", cid, "--format", "json", "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["answers"][0]["picks"][0]["url"] == "https://example.org/a"
    assert run("conversations", "delete", cid, input="n\n")[0] != 0  # asks first
    assert run("conversations", "delete", cid, "--yes")[0] == 0
    assert "no saved conversation yet" in run("conversations", "list")[1]
    code, out = run("conversations", "show", cid)
    assert code == 1 and "no conversation #" in out and "Traceback" not in out
    [entry] = json.loads(run("later", "list", "--format", "json")[1])
    assert entry["title"] == "Arrival"
    assert run("later", "remove", str(entry["id"]))[0] == 0
    assert "nothing kept for later yet" in run("later", "list")[1]


def test_the_app_refuses_a_profile_that_does_not_exist_before_it_opens(profiles_dir: Path,
                                                                        shieldrec_home: Path) -> None:
    seeded(profiles_dir)
    for args in (["tui", "--profile", "nobody"], ["--profile", "nobody"]):
        done = subprocess.run([sys.executable, "-c", "from shieldrec.cli import main; main()", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "SHIELDREC_HOME": str(shieldrec_home)})
        assert done.returncode == 1, args
        assert "no profile named 'nobody' (profiles: maya)" in done.stderr
        assert "\x1b[?1049h" not in done.stdout  # the terminal was never switched to the app's screen


def test_a_chosen_model_is_not_called_in_use_while_the_language_model_is_off(profiles_dir: Path) -> None:
    settings = Settings()
    settings.llm.enabled = False
    settings.save()
    rows = json.loads(run("models", "list", "--format", "json")[1])
    bundled = next(r for r in rows if r["source"] == "bundled")
    assert bundled["chosen"] is True and bundled["in_use"] is False
    code, out = run("models", "list")
    assert "(* in use; - chosen, but the language model is off: [llm] enabled = false)" in out
    assert "* " not in out.splitlines()[0][:2]
