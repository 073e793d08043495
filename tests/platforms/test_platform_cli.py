"""`shieldrec platform ...`, `shieldrec audit` and `shieldrec demo-platform` as a user runs them."""

from __future__ import annotations

import pytest

import csv
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.platforms import DemoServer
from shieldrec.platforms.demo_catalog import Catalog

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


def test_add_list_test_remove(demo: DemoServer, profiles_dir: Path) -> None:
    assert run("profile", "import", str(profiles_dir / "maya.toml"))[0] == 0
    code, out = run("platform", "add", "films", "--adapter", "demo", "--set", f"base_url={demo.url}",
                    "--set", "section=movies", "--set", "retries=1")
    assert code == 0 and "Added platform 'films' (demo)" in out
    code, out = run("platform", "add", "films", "--adapter", "demo", "--set", f"base_url={demo.url}")
    assert code == 1 and "already exists" in out

    code, out = run("platform", "list", "--format", "json")
    (row,) = json.loads(out)
    assert row["settings"] == {"base_url": demo.url, "section": "movies", "retries": 1} and row["enabled"]

    code, out = run("platform", "test", "films", "robots for my son who is 7", "--limit", "3")
    assert code == 0, out
    assert "text='robots'" in out and "GET http://127.0.0.1" in out and '"q": "robots"' in out
    assert "-> status 200" in out and "Came back: 3 item(s)" in out
    assert "son" not in json.dumps(demo.request_log)

    assert run("platform", "disable", "films")[0] == 0
    assert json.loads(run("platform", "list", "--format", "json")[1])[0]["enabled"] is False
    assert run("platform", "test", "films", "space")[0] == 0  # a test still asks a disabled platform
    assert run("platform", "enable", "films")[0] == 0

    code, out = run("platform", "remove", "films")
    assert code == 0 and run("platform", "list")[1].startswith("no platforms in 'maya'")
    code, out = run("platform", "remove", "films")
    assert code == 1 and "no platform named 'films'" in out and "Traceback" not in out


def test_add_rejects_bad_settings_with_a_clear_message() -> None:
    run("profile", "create", "ana")
    cases = [
        (["--adapter", "nope"], "unknown adapter 'nope'"),
        (["--adapter", "demo"], "needs the setting 'base_url'"),
        (["--adapter", "demo", "--set", "base_url"], "--set expects key=value"),
        (["--adapter", "demo", "--set", "base_url=http://x", "--set", "colour=red"], "has no setting 'colour'"),
        (["--adapter", "demo", "--set", "base_url=http://x", "--set", "retries=lots"], "expects a whole number"),
        (["--adapter", "http-json", "--set", "url=https://x/", "--set", "params={bad json"], "expects a JSON object"),
    ]
    for args, message in cases:
        code, out = run("platform", "add", "p", *args)
        assert code == 1 and message in out and "Traceback" not in out, (args, out)


def test_test_reports_a_broken_platform(catalog: Catalog) -> None:
    run("profile", "create", "ana")
    with DemoServer(catalog=catalog, fault="error") as broken:
        run("platform", "add", "bad", "--adapter", "demo", "--set", f"base_url={broken.url}", "--set", "retries=0")
        code, out = run("platform", "test", "bad", "space")
    assert code == 1 and "-> status 500" in out and "Error: bad: the platform answered HTTP 500" in out


def test_adapters_lists_settings() -> None:
    code, out = run("platform", "adapters", "--format", "json")
    adapters = {a["adapter"]: a for a in json.loads(out)}
    assert {"http-json", "rss", "file", "demo"} <= set(adapters)
    assert {"name": "base_url", "required": True} .items() <= adapters["demo"]["settings"][0].items()
    assert "url*" in run("platform", "adapters")[1]


def test_audit_in_every_format(demo: DemoServer) -> None:
    run("profile", "create", "ana")
    run("platform", "add", "films", "--adapter", "demo", "--set", f"base_url={demo.url}")
    run("platform", "test", "films", "space")
    run("platform", "test", "films", "robots")
    code, table = run("audit")
    lines = table.strip().splitlines()
    assert code == 0 and lines[0].split()[:4] == ["ID", "AT", "PLATFORM", "REQUEST"] and len(lines) == 3
    assert "q=robots" in lines[2] and "200" in lines[2]
    rows = json.loads(run("audit", "--format", "json")[1])
    assert [r["params"]["query"]["q"] for r in rows] == ["space", "robots"]
    assert [json.loads(line)["id"] for line in run("audit", "--format", "jsonl", "--limit", "1")[1].splitlines()] == [2]
    parsed = list(csv.DictReader(io.StringIO(run("audit", "--format", "csv")[1])))
    assert len(parsed) == 2 and json.loads(parsed[0]["params"])["query"]["q"] == "space"
    run("profile", "create", "ben")
    assert run("audit", "--profile", "ben")[1].strip() == "no requests recorded yet"
    assert len(json.loads(run("audit", "--all", "--format", "json")[1])) == 2


def test_demo_platform_command_serves_logs_and_stops_cleanly(tmp_path: Path, shieldrec_home: Path) -> None:
    log = tmp_path / "requests.jsonl"
    run("profile", "create", "ana")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from shieldrec.cli import main; main()", "demo-platform", "--port", "0", "--log", str(log), "--profile", "ana"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )
    lines: queue.Queue[str] = queue.Queue()  # its output, read as it comes: a silent process fails the test
    reader = threading.Thread(target=lambda: [lines.put(line) for line in iter(proc.stdout.readline, "")],  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=60)
        assert first.startswith("Demo platform running at http://127.0.0.1:"), first
        url = first.split()[4]
        assert "demo-movies, demo-books" in lines.get(timeout=60)
        reply = httpx.get(f"{url}/v1/recommend", params={"q": "space", "limit": 3}, timeout=30)
        assert reply.status_code == 200 and len(reply.json()["items"]) == 3
        code, out = run("platform", "list", "--format", "json")
        assert {r["settings"]["base_url"] for r in json.loads(out)} == {url}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        reader.join(20)
    err = proc.stderr.read()  # type: ignore[union-attr]
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    out = "".join(lines.queue)
    assert proc.returncode == 0 and "Stopped." in out and "Traceback" not in err
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["path"] == "/v1/recommend" and entry["query"] == {"q": "space", "limit": "3"}


def test_demo_platform_reports_a_busy_port(catalog: Catalog) -> None:
    with DemoServer(catalog=catalog) as busy:
        code, out = run("demo-platform", "--port", str(busy.port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{busy.port}" in out


def test_plan_shows_what_would_be_sent_and_sends_nothing(demo: DemoServer) -> None:
    code, out = run("platform", "plan", "a book for Zorbulonne who turns 40, something with dragons")
    assert code == 0 and "sent: 'dragons'" in out and "kind: book" in out
    code, out = run("platform", "plan", "para mi hija Ximenorra, dinosaurios", "--json")
    assert code == 0 and json.loads(out) == {"text": "dinosaurios", "limit": 20, "kind": ""}
    assert demo.request_log == []


def test_review_mode_ask_lets_the_user_edit_or_cancel_before_anything_goes(demo: DemoServer,
                                                                          profiles_dir: Path) -> None:
    assert run("profile", "import", str(profiles_dir / "maya.toml"))[0] == 0
    assert run("platform", "add", "films", "--adapter", "demo", "--set", f"base_url={demo.url}")[0] == 0
    assert run("platform", "review")[1].strip() == "query review: show"
    assert run("platform", "review", "ask")[1].strip() == "query review: ask"
    code, out = run("platform", "test", "films", "hopeful robots for my son", input="gentle robots\n")
    assert code == 0 and "About to send 'hopeful robots' to films" in out
    assert [e["query"]["q"] for e in demo.request_log] == ["gentle robots"]
    result = CliRunner().invoke(cli, ["platform", "test", "films", "space"], input="")
    assert result.exit_code != 0 and len(demo.request_log) == 1  # cancelled: nothing more was sent
