"""Several writers on one profile at once: processes (the app and the command line) and
threads inside one process (ranking, its vector cache, feedback). Nobody sees a traceback,
no acknowledged write is lost, the file stays sound."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shieldrec.agent.feedback import record_event, undo
from shieldrec.errors import ProfileExists
from shieldrec.items import Item
from shieldrec.store import Store


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def test_the_command_line_and_the_app_write_one_profile_at_once(home: Path, profiles_dir: Path,
                                                                 tools: Any) -> None:
    # The app's feedback path (like, undo, block) in a process of its own, as busy as a person
    # clicking a hundred times a second, while the command line imports, creates and adds.
    writer = tools.start_writer("maya", "feedback", seconds=60, pause=0.01)
    # It is writing before the first command starts: its first acknowledged commit, not a pause.
    first = writer.stdout.readline()  # type: ignore[union-attr]
    assert first.startswith(("ack", "undoing")), first + writer.stderr.read()  # type: ignore[union-attr]
    problems: list[str] = []
    added: list[str] = []
    try:
        for round_ in range(2):
            for args in (
                ("profile", "add", "like", f"slow cinema {round_}", "--profile", "maya"),
                ("profile", "import", str(profiles_dir / "sam.toml"), "--name", f"sam-{round_}"),
                ("profile", "create", f"guest-{round_}"),
            ):
                done = tools.shieldrec(*args)
                if done.returncode != 0 or "Traceback" in done.stderr + done.stdout:
                    problems.append(f"{' '.join(args[:2])}: exit {done.returncode}: {done.stderr[-400:]}")
            added.append(f"slow cinema {round_}")
    finally:
        writer.terminate()
        out, err = writer.communicate(timeout=30)
        out = first + out
    assert problems == []
    assert "Traceback" not in err, err[-2000:]
    store = Store()
    try:
        maya = store.profile("maya")
        check_acknowledged = tools.check_acknowledged
        check_acknowledged(store, maya, tools.acknowledged(out.splitlines()))
        assert len(tools.acknowledged(out.splitlines())["event"]) > 20  # the writer really was writing throughout
        likes = {p.value for p in store.preferences(maya) if p.kind == "like"}
        assert set(added) <= likes
        names = {p.name for p in store.profiles()}
        assert {f"sam-{n}" for n in range(2)} | {f"guest-{n}" for n in range(2)} <= names
        assert len(store.history(store.profile("sam-1"))) == len(store.history(store.profile("sam-0"))) > 0
    finally:
        store.close()
    assert _integrity(Path(home) / "data" / "profiles.db") == "ok"


def test_threads_of_one_process_rank_cache_and_give_feedback_at_once(store: Store) -> None:
    """What the app does at once: a ranking worker reads and writes the vector cache, the
    interface thread likes and undoes, a third imports over an existing name (a rollback) and
    forgets another profile (a VACUUM of the whole file)."""
    profile = store.create_profile("maya")
    cache = store.embeddings.owned_by(profile.id)
    errors: list[BaseException] = []
    likes: list[str] = []
    undone: list[str] = []
    vectors: dict[str, np.ndarray] = {}
    stop = time.monotonic() + 4.0

    def guarded(fn):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
        return run

    @guarded
    def ranking() -> None:
        rng = np.random.default_rng(0)
        n = 0
        while time.monotonic() < stop:
            batch = {cache.key(f"candidate {n}-{k}"): rng.random(384).astype(np.float32) for k in range(20)}
            cache.put_many("model", batch.items())
            vectors.update(batch)
            assert len(cache.get_many("model", list(batch))) == 20
            store.history(profile)
            n += 1

    @guarded
    def feedback() -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            fb = record_event(store, profile, Item(item_id=f"i{n}", title=f"Item {n}",
                                                   meta={"genres": ["Drama"]}), "like")
            likes.append(f"i{n}")
            if n % 3 == 0:
                undo(store, profile, fb)
                undone.append(f"i{n}")

    forgotten: list[str] = []

    @guarded
    def profiles() -> None:
        while time.monotonic() < stop:
            with pytest.raises(ProfileExists):
                store.import_profile({"profile": {"name": "maya"},
                                      "history": [{"item_id": "x", "title": "X", "event": "liked"}] * 50})
            guest = store.create_profile(f"guest-{len(forgotten)}")
            record_event(store, guest, Item(item_id="g", title="Guest item"), "like")
            store.forget(guest.name)
            forgotten.append(guest.name)

    threads = [threading.Thread(target=t) for t in (ranking, feedback, profiles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(likes) > 10 and len(vectors) > 100 and forgotten
    present = {ev.item.item_id for ev in store.history(profile)}
    assert present == set(likes) - set(undone)
    assert len(store.embeddings.get_many("model", list(vectors))) == len(vectors)
    assert _integrity(store.path) == "ok"


async def test_a_second_question_while_the_first_is_ranked_and_feedback_meanwhile(
        store: Store, profiles_dir: Path, catalog: object) -> None:
    """Two questions at once on the real demo platform and the real model, and likes given
    while they rank: both answers are saved whole, every like is kept, the cache is filled."""
    from shieldrec.agent import AgentSession
    from shieldrec.platforms import ensure_demo_platform
    from shieldrec.platforms.demo_server import DemoServer
    from shieldrec.settings import Settings
    from shieldrec.store import load_profile_file

    maya = store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
    settings = Settings()
    settings.llm.enabled = False
    settings.embedding_device = "cpu"
    with DemoServer(catalog=catalog) as demo:  # type: ignore[arg-type]
        ensure_demo_platform(store, maya, demo)
        session = AgentSession(store, maya, settings)
        session.candidates = 5  # per platform: enough to rank, few to encode
        liked: list[str] = []
        done = threading.Event()

        def like_meanwhile() -> None:
            n = 0
            while not done.is_set():
                n += 1
                fb = session.like(Item(item_id=f"meanwhile-{n}", title=f"Meanwhile {n}"))
                liked.append(fb.item.item_id)  # type: ignore[union-attr]
                time.sleep(0.02)

        liker = threading.Thread(target=like_meanwhile)
        liker.start()
        try:
            first, second = await asyncio.gather(session.ask("hopeful space adventures"),
                                                 session.ask("a cozy mystery book"))
        finally:
            done.set()
            liker.join()
    assert first.cards and second.cards and liked
    conversation = store.conversations.latest(maya.id)
    assert conversation is not None
    messages = store.conversations.messages(conversation.id)
    assert [m.role for m in messages].count("agent") == 2 and len(messages) == 4
    assert set(liked) <= {ev.item.item_id for ev in store.history(maya)}
    # The ranking threads' cache writes all landed, each marked as maya's.
    shown = {c.item.item_id for turn in (first, second) for c in turn.cards}
    assert store.embeddings.count() >= len(shown) > 5
    owned = store.db.execute("SELECT COUNT(*) FROM embedding_owners WHERE profile_id = ?", [maya.id]).fetchone()[0]
    assert owned == store.embeddings.count()
    assert _integrity(store.path) == "ok"


def test_a_writer_that_never_lets_go_is_a_clear_message_and_nothing_is_written(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from shieldrec.cli import cli
    from shieldrec.store import db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(db, "BEGIN_RETRIES", 1)
    holder = sqlite3.connect(home / "data" / "profiles.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holding the write lock, and keeping it
    try:
        result = CliRunner().invoke(cli, ["profile", "add", "like", "slow cinema", "--profile", "maya"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert "is busy" in result.output and "Nothing was changed" in result.output
    store = Store()
    try:
        assert "slow cinema" not in {p.value for p in store.preferences(store.profile("maya"))}
    finally:
        store.close()


CLOSE_WHILE_READING = """
import sys, threading, time
from shieldrec.store import Store
store = Store()
started, outcome = threading.Event(), []
def reader():
    conn = store.db.conn
    started.set()
    try:
        for _ in range(100):
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
                         "SELECT SUM(x) FROM c").fetchone()
        outcome.append("done")
    except Exception as exc:
        outcome.append(type(exc).__name__)
thread = threading.Thread(target=reader)
thread.start()
started.wait()
time.sleep(0.05)
store.close()
thread.join()
print(outcome[0])
"""


def test_closing_the_store_while_a_background_thread_reads_is_no_crash(home: Path) -> None:
    """The learner or a ranking thread may still be reading when the app or a command closes
    the store; the interpreter must survive it (in a child: a crash would end this run)."""
    result = subprocess.run([sys.executable, "-c", CLOSE_WHILE_READING], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "done"  # the reader finished its work on the connection it held
