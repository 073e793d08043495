"""Picking a preset in the Platforms screen: a list with one line each, its settings as fields, then a test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.screens.platforms import PlatformForm

from ..platforms.test_presets import Platforms
from .conftest import settle, wait_for


@pytest.fixture
def platforms() -> Iterator[Platforms]:
    server = Platforms()
    yield server
    server.stop()


async def test_a_preset_is_picked_from_the_list_and_tested(settings: Settings, embedder: Embedder, demo: DemoServer,
                                                           maya: Profile, store: Store, platforms: Platforms) -> None:
    app = ShieldRecApp("maya", settings=settings, embedder=embedder, demo=demo, store=store, opener=lambda url: None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="the profile")
        await pilot.press("f4", "a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PlatformForm)
        choices = [str(label) for label, _ in form.choices]
        hn_line = next(c for c in choices if c.startswith("preset:hackernews"))
        assert "Hacker News" in hn_line and "nothing of your words" in hn_line  # what it is and what it sends
        assert sum(c.startswith("preset:") for c in choices) == 11
        await pilot.press(*"hn")
        form.query_one("#field-adapter", Select).value = "preset:hackernews"
        await pilot.pause()
        await settle(pilot)
        assert form.query("#set-base_url") and form.query("#set-list") and not form.query("#set-url")
        form.query_one("#set-base_url", Input).value = platforms.url
        form.query_one("#ok").press()
        await pilot.pause()
        cfg = store.platforms.get(maya.id, "hn")
        assert cfg.adapter == "preset:hackernews" and cfg.settings == {"base_url": platforms.url}
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=[str(table.get_row_at(i)[0]) for i in range(table.row_count)].index("hn"))
        await pilot.press("t")
        await wait_for(pilot, lambda: "answered with" in str(app.screen.query_one("#platform-result", Static).content),
                       what="the preset's test")
        result = str(app.screen.query_one("#platform-result", Static).content)
        assert "Ask HN: How do you keep a recommender honest?" in result, result
