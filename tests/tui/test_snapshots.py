"""SVG snapshots of the main screens (pytest-textual-snapshot).

Content is held still for them: a fixed answer (fixed items, scores and reasons: no platform
and no model decides what shows), maya's history with fixed dates, platform addresses that do
not change, no notifications at the moment of capture. Every main screen is also taken at
80×24, where each shows all its function keys.
Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing the new SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store, load_profile_file
from shieldrec.store.audit import AuditLog
from shieldrec.store.platform_configs import PlatformConfig
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.widgets import AskInput

from .conftest import REPO, settle, show_fixed, wait_for

SIZE = (100, 32)
SMALL = (80, 24)
SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates on screen in one time zone, whatever the machine's."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def maya(store: Store) -> Profile:
    """maya.toml with its history dated once and for all, fixed platforms and a fixed audit log."""
    doc = load_profile_file(REPO / "profiles" / "maya.toml")
    for n, entry in enumerate(doc["history"]):
        entry["at"] = 1_735_700_000 + 86_400 * n  # early January 2025
    profile = store.import_profile(doc)
    for name, section in (("demo-movies", "movies"), ("demo-books", "books")):
        settings_ = {"base_url": "http://127.0.0.1:8765", "section": section}
        store.platforms.save(profile.id, PlatformConfig(name=name, adapter="demo", settings=settings_))
    store.platforms.save(profile.id, PlatformConfig(name="my-shop", adapter="http-json", enabled=False,
                                                    settings={"url": "https://shop.example/api/recs", "auth": "bearer"}))
    audit: AuditLog = store.audit
    for n, (name, status) in enumerate((("demo-movies", 200), ("demo-books", 200), ("my-shop", None))):
        entry = audit.record(profile_id=profile.id, platform=name, method="GET",
                             url="http://127.0.0.1:8765/v1/recommend" if name.startswith("demo")
                             else "https://shop.example/api/recs",
                             params={"query": {"q": "hopeful", "limit": 30}}, bytes_out=180 + n)
        audit.complete(entry, status=status, bytes_in=24_000 + 1000 * n if status else None,
                       error=None if status else "timed out", duration_ms=40.0 + n)
        store.db.conn.execute("UPDATE audit SET at = ? WHERE id = ?", (1_735_800_000 + 60 * n, entry))
    return profile


def still(run: Callable[[Pilot[Any]], Any]) -> Callable[[Pilot[Any]], Any]:
    """Wait for the profile and model, do `run`, then clear anything that moves or times out."""
    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")
        app.chat.query_one("#ask", AskInput).cursor_blink = False  # a blinking cursor is a coin toss
        await run(pilot)
        for field in app.screen.query(Input):  # a dialog's focused field blinks too
            field.cursor_blink = False
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause()

    return before


async def _answer(pilot: Pilot[Any]) -> None:
    await show_fixed(pilot)


async def _card(pilot: Pilot[Any]) -> None:
    view = await show_fixed(pilot)
    view.cards()[1].focus()
    await pilot.press("enter")  # its details: year, runtime, genres, the plot's credit


def make(store: Store, settings: Settings, embedder: Embedder) -> ShieldRecApp:
    # No demo platform: the fixed answer's links stay as saved, and nothing is asked of a platform.
    return ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=False,
                        opener=lambda url: None)


def page(key: str) -> Callable[[Pilot[Any]], Any]:
    async def go(pilot: Pilot[Any]) -> None:
        await pilot.press(key)

    return go


def test_chat_with_an_answer(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                             embedder: Embedder) -> None:
    assert snap_compare(make(store, settings, embedder), terminal_size=SIZE, run_before=still(_answer))


def test_chat_with_a_card_open(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                               embedder: Embedder) -> None:
    assert snap_compare(make(store, settings, embedder), terminal_size=SIZE, run_before=still(_card))


def test_removed_items_dialog(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                              embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await show_fixed(pilot)
        await pilot.press("ctrl+o")

    assert snap_compare(make(store, settings, embedder), terminal_size=SIZE, run_before=still(run))


def test_help_screen(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                     embedder: Embedder) -> None:
    assert snap_compare(make(store, settings, embedder), terminal_size=SIZE, run_before=still(page("f1")))


def test_add_platform_dialog(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                             embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f4", "a")

    assert snap_compare(make(store, settings, embedder), terminal_size=SIZE, run_before=still(run))


# -- 80×24: every function key on every main screen -------------------------------------------

def test_small_chat_with_a_card_in_focus(snap_compare: SnapCompare, maya: Profile, store: Store,
                                         settings: Settings, embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await show_fixed(pilot)
        await pilot.press("down", "down")

    assert snap_compare(make(store, settings, embedder), terminal_size=SMALL, run_before=still(run))


def test_small_chat_compact(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                            embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await show_fixed(pilot)
        await pilot.press("ctrl+t")

    settings.tui.compact = False
    assert snap_compare(make(store, settings, embedder), terminal_size=SMALL, run_before=still(run))


@pytest.mark.parametrize("key", ["f3", "f4", "f5", "f6"], ids=["profile", "platforms", "audit", "settings"])
def test_small_screens(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                       embedder: Embedder, key: str) -> None:
    assert snap_compare(make(store, settings, embedder), terminal_size=SMALL, run_before=still(page(key)))


async def test_every_function_key_shows_on_every_screen_at_80x24(maya: Profile, store: Store, settings: Settings,
                                                                  embedder: Embedder) -> None:
    """The same as the small snapshots show, as an assertion that names what is missing."""
    from .conftest import screen_text

    app = make(store, settings, embedder)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")
        await show_fixed(pilot)
        for key in ("f2", "f3", "f4", "f5", "f6"):
            await pilot.press(key)
            await settle(pilot)
            lines = screen_text(app).splitlines()
            bar = next((line for line in lines if "F1 Help" in line), "")
            for fkey in ("F1 Help", "F2 Chat", "F3 Profile", "F4 Platforms", "F5 Audit", "F6 Settings"):
                assert fkey in bar, f"{fkey!r} missing after {key}: {bar!r}"
        await pilot.press("f2")
        await settle(pilot)
        assert "(F1: help)" in screen_text(app)  # the request line's own hint fits too
        await pilot.press("f5")
        await settle(pilot)
        header = next(line for line in screen_text(app).splitlines() if "when" in line and "to" in line)
        assert header.split()[:6] == ["when", "to", "status", "in", "ms", "sent"]
