"""Only the user's own programs may call the service: a web page, a rebinding domain, a caller
without the token, an oversized body are refused, and a refused call changes nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.serve.calls import recent_calls
from shieldrec.serve.run import NotLoopback, bind_loopback
from shieldrec.settings import ServeSettings, Settings
from shieldrec.store import Profile, Store

from .conftest import TOKEN, Running
from .test_routes import MOVIES, REQUEST

LIKE = {"action": "like", "item": MOVIES["martian"]}


def profile_state(store: Store, profile: Profile) -> tuple[Any, ...]:
    return (tuple((e.item.item_id, e.event) for e in store.history(profile)),
            tuple((p.kind, p.target, p.value) for p in store.preferences(profile)))


def refused_calls(running: Running) -> dict[str, httpx.Response]:
    url, port = running.url, running.port
    good = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, timeout=30) as c:
        return {
            "no token": c.post("/v1/feedback", json=LIKE),
            "wrong token": c.post("/v1/feedback", json=LIKE, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"}),
            "token in another scheme": c.post("/v1/feedback", json=LIKE, headers={"Authorization": f"Basic {TOKEN}"}),
            "foreign Host (DNS rebinding)": c.post("/v1/feedback", json=LIKE,
                                                   headers={**good, "Host": f"attacker.example:{port}"}),
            "loopback Host, another port": c.post("/v1/feedback", json=LIKE, headers={**good, "Host": "127.0.0.1:1"}),
            "a web page's Origin": c.post("/v1/feedback", json=LIKE,
                                          headers={**good, "Origin": "https://attacker.example"}),
            "the null Origin": c.post("/v1/feedback", json=LIKE, headers={**good, "Origin": "null"}),
            "cross-site fetch without Origin": c.post("/v1/feedback", json=LIKE,
                                                      headers={**good, "Sec-Fetch-Site": "cross-site"}),
            "rank from a web page": c.post("/v1/rerank", json=REQUEST,
                                           headers={**good, "Origin": "http://localhost:3000"}),
            "health from a rebinding domain": c.get("/v1/health", headers={"Host": f"rebind.example:{port}"}),
        }


def test_callers_other_than_the_users_programs_are_refused_and_change_nothing(
        service: Running, store: Store, maya: Profile) -> None:
    before = profile_state(store, maya)
    answers = refused_calls(service)
    expected = {"no token": 401, "wrong token": 401, "token in another scheme": 401}
    for name, got in answers.items():
        assert got.status_code == expected.get(name, 403), (name, got.status_code, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        assert "access-control-allow-origin" not in got.headers, name
        assert TOKEN not in got.text
    assert answers["no token"].headers["www-authenticate"] == "Bearer"
    assert profile_state(store, maya) == before
    # The same call with the token and a loopback Host goes through.
    with service.client() as c:
        assert c.post("/v1/feedback", json=LIKE).status_code == 200
    assert profile_state(store, maya) != before


def test_an_allowed_origin_gets_cors_and_others_do_not(start: Any, store: Store, maya: Profile) -> None:
    settings = Settings(serve=ServeSettings(allowed_origins=["https://reader.example"]))
    with start(maya, settings) as running, running.client() as c:
        pre = c.options("/v1/rerank", headers={"Origin": "https://reader.example",
                                               "Access-Control-Request-Method": "POST",
                                               "Access-Control-Request-Headers": "authorization, content-type"})
        ok = c.post("/v1/rerank", json=REQUEST, headers={"Origin": "https://reader.example"})
        no_token = c.post("/v1/rerank", json=REQUEST, headers={"Origin": "https://reader.example",
                                                               "Authorization": ""})
        other_pre = c.options("/v1/rerank", headers={"Origin": "https://other.example",
                                                     "Access-Control-Request-Method": "POST"})
        other = c.post("/v1/rerank", json=REQUEST, headers={"Origin": "https://other.example"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "https://reader.example"
    assert "authorization" in pre.headers["access-control-allow-headers"]
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://reader.example"
    assert no_token.status_code == 401  # an allowed page still needs the token
    assert other_pre.status_code == 403 and "access-control-allow-origin" not in other_pre.headers
    assert other.status_code == 403


def test_oversized_bodies_and_item_counts_get_413(start: Any, store: Store, maya: Profile) -> None:
    settings = Settings(serve=ServeSettings(max_body_bytes=50_000, max_items=30))
    before = profile_state(store, maya)
    many = {"request_id": "m", "candidates": [{"item_id": f"i{n}", "title": f"Film {n}"} for n in range(31)]}

    def trickle() -> Iterator[bytes]:  # no Content-Length: the cap holds while reading
        yield b'{"action": "like", "item": {"item_id": "x", "title": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}}'

    with start(maya, settings) as running, running.client() as c:
        declared = c.post("/v1/feedback", content=b'{"pad": "' + b"x" * 60_000 + b'"}',
                          headers={"Content-Type": "application/json"})
        streamed = c.post("/v1/feedback", content=trickle(), headers={"Content-Type": "application/json"})
        counted = c.post("/v1/rerank", json=many)
        counted_prc = c.post("/rank", json={"items": [{}] * 31})
        fits = c.post("/v1/rerank", json={**many, "candidates": many["candidates"][:30]})
    assert declared.status_code == 413 and "50,000 bytes" in declared.json()["detail"]
    assert streamed.status_code == 413
    assert counted.status_code == 413 and "'candidates' holds 31 entries; at most 30" in counted.json()["detail"]
    assert counted_prc.status_code == 413
    assert fits.status_code == 200
    assert profile_state(store, maya) == before


def test_every_call_is_logged_without_the_token(start: Any, store: Store, maya: Profile) -> None:
    with start(maya) as running:
        with running.client(headers={"User-Agent": "my-feed-reader/1.0"}) as c:
            c.post("/v1/rerank", json=REQUEST)
            c.post("/v1/feedback", json=LIKE)
        refused_calls(running)
    # (the fixture's own health checks while the models loaded come first)
    rows = [r for r in recent_calls(store, 1000) if r["route"] != "/v1/health" or r["refused"]]
    assert [(r["route"], r["status"]) for r in rows[:2]] == [("/v1/rerank", 200), ("/v1/feedback", 200)]
    first = rows[0]
    assert first["caller"].startswith("127.0.0.1:") and first["user_agent"] == "my-feed-reader/1.0"
    assert first["items"] == len(REQUEST["candidates"]) and first["bytes_in"] > 500 and first["bytes_out"] > 100
    assert first["refused"] is None
    refused = [r for r in rows[2:]]
    assert len(refused) == 10 and all(r["refused"] for r in refused)
    assert {r["refused"] for r in refused} == {"Unauthorized", "Host not allowed", "Origin not allowed"}
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in store.path.parent.iterdir():
        assert TOKEN.encode() not in path.read_bytes(), path


def test_only_loopback_addresses_can_be_bound() -> None:
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        with pytest.raises(NotLoopback):
            bind_loopback(host, 0)
    res = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"],
                             env={"SHIELDREC_SERVE_TOKEN": TOKEN})
    assert res.exit_code == 1 and "not a loopback address" in res.output
    for host in ("127.0.0.1", "localhost", "::1"):
        try:
            sock = bind_loopback(host, 0)
        except Exception as exc:  # noqa: BLE001 - a machine without IPv6 loopback
            assert host == "::1", exc
            continue
        sock.close()


def test_the_token_is_made_once_kept_in_the_keyring_and_printed(memory_keyring: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIELDREC_SERVE_TOKEN", raising=False)
    first = CliRunner().invoke(cli, ["serve", "token"])
    second = CliRunner().invoke(cli, ["serve", "token"])
    assert first.exit_code == 0 and first.output == second.output
    token = first.output.strip()
    assert len(token) >= 32 and list(memory_keyring.secrets.values()) == [token]
    monkeypatch.setenv("SHIELDREC_SERVE_TOKEN", TOKEN)
    assert CliRunner().invoke(cli, ["serve", "token"]).output.strip() == TOKEN


def test_without_a_keyring_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                shieldrec_home: Path) -> None:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        monkeypatch.delenv("SHIELDREC_SERVE_TOKEN", raising=False)
        res = CliRunner().invoke(cli, ["serve", "--port", "0"])
        assert res.exit_code == 1 and "SHIELDREC_SERVE_TOKEN" in res.output
        monkeypatch.setenv("SHIELDREC_SERVE_TOKEN", "short")
        assert "shorter than 16" in CliRunner().invoke(cli, ["serve", "token"]).output
    finally:
        keyring.set_keyring(previous)
    assert not list(shieldrec_home.rglob("*token*"))


# -- the real command, stopped by SIGTERM ------------------------------------------------------

def test_sigterm_stops_the_service_cleanly_without_losing_a_write(shieldrec_home: Path, profiles_dir: Path) -> None:
    env = {**os.environ, "SHIELDREC_HOME": str(shieldrec_home), "SHIELDREC_SERVE_TOKEN": TOKEN}
    run = [sys.executable, "-c", "from shieldrec.cli import main; main()"]
    subprocess.run([*run, "profile", "import", str(profiles_dir / "maya.toml")], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([*run, "serve", "--port", "0", "--profile", "maya"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "ShieldRec serving on http://127.0.0.1:" in first, first
        url = first.split("serving on ")[1].split(" ")[0]
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
            while c.get("/v1/health").json()["status"] != "ok":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            acknowledged: list[str] = []

            def like(n: int) -> None:
                item = {"item_id": f"sig{n}", "title": f"Film number {n}"}
                try:
                    if c.post("/v1/feedback", json={"action": "like", "item": item}).status_code == 200:
                        acknowledged.append(item["item_id"])
                except httpx.HTTPError:
                    pass  # refused once shutdown began: never acknowledged, so never promised

            senders = [threading.Thread(target=like, args=(n,)) for n in range(40)]
            for t in senders:
                t.start()
            time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            for t in senders:
                t.join(60)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert acknowledged, "no call finished before the signal"
    store = Store()
    try:
        saved = {e.item.item_id for e in store.history(store.profile("maya"))}
        logged = [r for r in recent_calls(store, 1000) if r["route"] == "/v1/feedback" and r["status"] == 200]
    finally:
        store.close()
    assert set(acknowledged) <= saved
    assert len(logged) == len(acknowledged)
    with socket.socket() as s:  # the port is free again
        assert s.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) != 0
