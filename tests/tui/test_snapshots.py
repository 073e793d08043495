"""SVG snapshots of the main screens at a fixed size (pytest-textual-snapshot).

Content is held still for them: a fresh demo platform (seeded), maya's history with fixed
dates, platform addresses that do not change, no notifications at the moment of capture.
Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing the new SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store, load_profile_file
from shieldrec.store.platform_configs import PlatformConfig
from shieldrec.tui.app import ShieldRecApp

from .conftest import REPO, wait_for

SIZE = (100, 32)
SnapCompare = Callable[..., bool]


@pytest.fixture
def maya(store: Store) -> Profile:
    """maya.toml with its history dated once and for all (the profile screen shows dates)."""
    doc = load_profile_file(REPO / "profiles" / "maya.toml")
    for n, entry in enumerate(doc["history"]):
        entry["at"] = 1_735_700_000 + 86_400 * n  # early January 2025
    return store.import_profile(doc)


def still(run: Callable[[Pilot[Any]], Any]) -> Callable[[Pilot[Any]], Any]:
    """Wait for the profile and model, do `run`, then clear anything that moves or times out."""
    async def before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")
        app.chat.query_one("#ask", Input).cursor_blink = False  # a blinking cursor is a coin toss
        await run(pilot)
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause()

    return before


async def _nothing(pilot: Pilot[Any]) -> None:
    return None


async def _ask(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await pilot.press(*"something hopeful, no horror", "enter")
    await wait_for(pilot, lambda: bool(app.session.turns) and bool(app.chat.query("TurnView")), what="an answer")


def make(store: Store, settings: Settings, embedder: Embedder, demo: DemoServer | bool) -> ShieldRecApp:
    return ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=demo, opener=lambda url: None)


def test_chat_with_an_answer(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                             embedder: Embedder, demo: DemoServer) -> None:
    assert snap_compare(make(store, settings, embedder, demo), terminal_size=SIZE, run_before=still(_ask))


def test_chat_at_80x24_with_a_card_in_focus(snap_compare: SnapCompare, maya: Profile, store: Store,
                                           settings: Settings, embedder: Embedder, demo: DemoServer) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _ask(pilot)
        await pilot.press("down", "down")

    assert snap_compare(make(store, settings, embedder, demo), terminal_size=(80, 24), run_before=still(run))


def test_removed_items_dialog(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                              embedder: Embedder, demo: DemoServer) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _ask(pilot)
        await pilot.press("ctrl+o")

    assert snap_compare(make(store, settings, embedder, demo), terminal_size=SIZE, run_before=still(run))


def test_profile_screen(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                        embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")

    assert snap_compare(make(store, settings, embedder, False), terminal_size=SIZE, run_before=still(run))


def test_platforms_screen(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                          embedder: Embedder) -> None:
    for name, section in (("demo-movies", "movies"), ("demo-books", "books")):
        settings_ = {"base_url": "http://127.0.0.1:8765", "section": section}
        store.platforms.save(maya.id, PlatformConfig(name=name, adapter="demo", settings=settings_))
    store.platforms.save(maya.id, PlatformConfig(name="my-shop", adapter="http-json", enabled=False,
                                                 settings={"url": "https://shop.example/api/recs", "auth": "bearer"}))

    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")

    assert snap_compare(make(store, settings, embedder, False), terminal_size=SIZE, run_before=still(run))


def test_help_screen(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                     embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f1")

    assert snap_compare(make(store, settings, embedder, False), terminal_size=SIZE, run_before=still(run))


def test_settings_screen(snap_compare: SnapCompare, maya: Profile, store: Store, settings: Settings,
                         embedder: Embedder) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await pilot.press("f6")

    assert snap_compare(make(store, settings, embedder, False), terminal_size=SIZE, run_before=still(run))
