"""Learning from feedback in the terminal app: the update runs off the UI thread while the user
keeps typing, and the Profile screen says what was learned, lets the user pin or delete an
interest, and resets the learned part alone."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from shieldrec.items import HistoryEvent
from shieldrec.store import Profile, Store
from shieldrec.tui.screens.modals import Ask

from .conftest import wait_for
from .test_app import SIZE, ask, make_app, opened, ready, rows  # noqa: F401 - fixtures used by name

pytestmark = pytest.mark.slow


def _busy_history(store: Store, maya: Profile, catalog: Any, n: int) -> None:
    """Feedback on `n` catalogue items whose texts were never embedded: the update embeds them all."""
    from shieldrec.items import Item

    entries = [e for e in catalog.sections["movies"] if not e.hostile][-n:]
    items = [Item(item_id=e.id, title=e.title, text=e.description, creator=e.creator, source="demo-movies",
                  meta={"genres": list(e.genres)}) for e in entries]
    start = time.time() - 86400.0
    for i, item in enumerate(items):
        store.add_event(maya, HistoryEvent(item=item, event="liked" if i % 3 else "disliked", at=start + i))


async def test_an_update_never_runs_on_the_ui_thread_and_typing_stays_responsive(
        make_app: Any, maya: Profile, store: Store, catalog: Any) -> None:
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "something hopeful")
        # After the answer: only the update reads it. The lock below, not its size, keeps it in flight.
        _busy_history(store, maya, catalog, n=80)
        # Hold the store's write lock from the UI thread (re-entrant there, so the app's own writes
        # pass): the update cannot finish, and write what it learned, before the typing is checked.
        with store.db.lock:
            await pilot.press("down", "l")  # like the first card: the learner starts
            learner = app.session.learner
            await wait_for(pilot, lambda: learner.busy, timeout=60, what="the update to start")
            box = app.chat.query_one("#ask", Input)
            box.focus()
            await pilot.press(*"robots in space")
            assert box.value == "robots in space"  # typed, shown, while the update is in flight
            assert learner.busy
        await wait_for(pilot, lambda: not learner.busy, timeout=600, what="the update to finish")
        assert learner.thread_ident is not None and learner.thread_ident != threading.get_ident()
        assert learner.last is not None and learner.last.events > 80  # the like, and the history
        assert view.visible_cards()
    model = store.learned.model(maya.id)
    assert model is not None and model.events == learner.last.events


async def test_the_profile_screen_names_interests_pins_deletes_and_resets(
        make_app: Any, maya: Profile, store: Store, catalog: Any) -> None:
    from shieldrec.learning.update import update

    _busy_history(store, maya, catalog, n=60)
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        update(store, maya, app.session.embedder)
        app.session.personal.reload()
        await pilot.press("f3")
        await pilot.pause()
        head = str(app.screen.query_one("#profile-head", Static).content)
        assert "Interests it learned: you tend to like" in head
        model = store.learned.model(maya.id)
        assert model is not None and model.events >= 60
        assert f"Personal ranking model: learned from {model.events} feedback events (liked" in head
        assert f"It weighs {model.blend:.2f} against the shipped ranker" in head
        table = app.screen.query_one("#facets", DataTable)
        first = rows(table)[0]
        table.focus()
        await pilot.press("p")
        await pilot.pause()
        assert "(pinned)" in rows(table)[0]
        count = table.row_count
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, Ask)  # a delete asks first
        await pilot.press("enter")
        await pilot.pause()
        assert table.row_count == count - 1 and first.split(" | ")[0] not in " ".join(rows(table))
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert table.row_count == count

        stated = [p.value for p in store.preferences(maya) if p.origin == "stated"]
        history = len(store.history(maya))
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        await pilot.press("enter")
        await pilot.pause()
        assert store.learned.model(maya.id) is None and store.learned.facets(maya.id) == []
        assert [p.value for p in store.preferences(maya) if p.origin == "stated"] == stated
        assert len(store.history(maya)) == history
        head = str(app.screen.query_one("#profile-head", Static).content)
        assert "Interests it learned" not in head
