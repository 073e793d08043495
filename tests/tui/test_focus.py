"""Focus, the way terminal apps of this kind handle it: Tab never crashes, every dialog opens
on its first field, Tab and Shift+Tab walk a dialog in order, the field in focus is visible, and
text typed after Ctrl+N reaches the request line whatever had the focus before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.screens.modals import Dialog
from shieldrec.tui.widgets import AskInput, ResultCard, TurnView

from .conftest import settle, show_fixed, wait_for

SIZE = (100, 32)


@pytest.fixture
def app(store: Store, maya: Profile, settings: Settings, embedder: Embedder, demo: DemoServer,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> ShieldRecApp:
    monkeypatch.chdir(tmp_path)  # dialogs that offer a file name offer it here
    return ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=demo,
                        opener=lambda url: None)


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")


async def test_tab_and_shift_tab_on_the_chat_never_crash_and_walk_the_cards_in_order(app: ShieldRecApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("tab", "shift+tab", "tab")  # nothing but the request line yet
        assert isinstance(app.focused, AskInput)
        await pilot.press("ctrl+n", "tab")
        assert isinstance(app.focused, AskInput)
        view = await show_fixed(pilot)
        cards = view.cards()
        app.chat.ask_input.focus()
        seen = []
        for _ in range(len(cards) + 1):
            await pilot.press("tab")
            seen.append(app.focused)
        # From the request line Tab goes to card 1, 2, 3 ... in order, then the answer's buttons.
        assert seen[: len(cards)] == cards
        assert app.focused is view.query_one(".turn-buttons").children[0]
        await pilot.press("shift+tab")
        assert app.focused is cards[-1]
        await pilot.press("shift+tab")
        assert app.focused is cards[-2]


async def test_text_typed_after_ctrl_n_reaches_the_request_line_from_any_focus(app: ShieldRecApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        starts: list[Callable[[], Awaitable[Any]]] = []

        async def on_a_card() -> None:
            view = await show_fixed(pilot)
            view.cards()[3].focus()

        async def on_a_card_after_another_screen() -> None:
            await on_a_card()
            await pilot.press("f4", "f2")  # the reported path: a card, Platforms, back to the chat

        async def on_a_button() -> None:
            view = await show_fixed(pilot)
            view.query_one(".turn-buttons").children[0].focus()

        async def on_nothing() -> None:
            app.screen.set_focus(None)

        starts += [on_a_card, on_a_card_after_another_screen, on_a_button, on_nothing]
        for start in starts:
            await start()
            await pilot.press("ctrl+n")
            await pilot.pause()
            await pilot.press(*"lighthouses")
            await pilot.pause()
            field = app.chat.query_one("#ask", Input)
            assert field.value == "lighthouses", start.__name__
            assert not app.chat.query(TurnView)
            field.value = ""


def dialogs() -> list[tuple[str, Callable[[Pilot[Any]], Awaitable[None]], str]]:
    """(name, how to open it with the keyboard, the id of the field that must have the focus)."""
    async def keys(pilot: Pilot[Any], *pressed: str) -> None:
        await pilot.press(*pressed)
        await settle(pilot)

    async def on_card(pilot: Pilot[Any], *pressed: str) -> None:
        views = list(pilot.app.chat.query(TurnView))
        view = views[-1] if views else await show_fixed(pilot)
        view.cards()[0].focus()
        await keys(pilot, *pressed)

    return [
        ("add a belief", lambda p: keys(p, "f3", "a"), "field-kind"),
        ("edit a belief", lambda p: keys(p, "f3", "e"), "field-kind"),
        ("delete a belief", lambda p: keys(p, "f3", "x"), "yes"),
        ("export the profile", lambda p: keys(p, "f3", "ctrl+e"), "value"),
        ("forget the profile", lambda p: keys(p, "f3", "ctrl+f"), "word"),
        ("add a platform", lambda p: keys(p, "f4", "a"), "field-name"),
        ("edit a platform", lambda p: keys(p, "f4", "e"), "field-name"),
        ("store a token", lambda p: keys(p, "f4", "k"), "value"),
        ("remove a platform", lambda p: keys(p, "f4", "x"), "word"),
        ("block a whole platform", lambda p: on_card(p, "s"), "yes"),
        ("block which topic", lambda p: on_card(p, "t"), "options"),
        ("which reason is wrong", lambda p: on_card(p, "x"), "options"),
        ("sort and filter", lambda p: on_card(p, "v"), "field-sort"),
        ("save the answer", lambda p: on_card(p, "ctrl+s"), "field-format"),
        ("what was removed", lambda p: on_card(p, "r"), "removed-list"),
        ("saved conversations", lambda p: keys(p, "ctrl+r"), "search"),
    ]


async def test_every_dialog_opens_on_its_first_field_and_tab_walks_it_in_order(
        app: ShieldRecApp, store: Store, maya: Profile) -> None:
    from shieldrec.store.conversations import Message

    cid = store.conversations.start(maya.id)  # so that Ctrl+R has something to list
    store.conversations.add(cid, Message(role="user", content="something hopeful"))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for name, open_it, first in dialogs():
            app.action_show("chat")
            await pilot.pause()
            await open_it(pilot)
            dialog = app.screen
            assert isinstance(dialog, Dialog), name
            chain = list(dialog.focus_chain)
            assert app.focused is not None and app.focused.id == first, (name, app.focused)
            assert chain[0] is app.focused, name  # the first field is the first stop of Tab
            # Tab walks every field and button and comes back round; Shift+Tab goes back.
            walked: list[Widget] = []
            for _ in chain:
                walked.append(app.focused)  # type: ignore[arg-type]
                await pilot.press("tab")
            assert walked == chain and app.focused is chain[0], name
            await pilot.press("shift+tab")
            assert app.focused is chain[-1], name
            # ... in the dialog's own order, top to bottom, left to right (no jumping about).
            assert chain == [w for w in dialog.walk_children(method="depth") if w in chain], name
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, Dialog), f"{name}: Esc did not close it"


async def test_focus_is_visible_on_every_field_of_a_dialog_even_without_colour(
        store: Store, maya: Profile, settings: Settings, embedder: Embedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The field in focus has a bar on its left edge, a character and not only a colour, and only it."""
    from .conftest import screen_text

    monkeypatch.setenv("NO_COLOR", "1")
    app = ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=False)
    assert app.no_color
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3", "a")
        await settle(pilot)
        fields = [w for w in app.screen.focus_chain if w.id and w.id.startswith("field-")]
        assert len(fields) == 4
        for widget in fields:
            widget.focus()
            await settle(pilot)
            lines = screen_text(app).splitlines()
            marks = {w.id: lines[w.region.y][w.region.x: w.region.x + 1] for w in fields}
            assert marks[widget.id].strip(), (widget.id, marks)
            assert all(mark.strip() == "" for wid, mark in marks.items() if wid != widget.id), marks


async def test_a_field_keeps_its_text_when_tab_moves_into_it(app: ShieldRecApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3", "a", "tab", "tab")  # kind, about a, then the value field
        await pilot.press(*"lighthouses", "tab", "tab", "shift+tab", "shift+tab")
        await pilot.press(*" at dawn")
        assert app.screen.query_one("#field-value", Input).value == "lighthouses at dawn"


async def test_the_profile_screens_tables_and_platforms_start_focused(app: ShieldRecApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for key, first in (("f3", "prefs"), ("f4", "platforms"), ("f5", "audit"), ("f6", "llm-enabled")):
            await pilot.press(key)
            await settle(pilot)
            focused = app.focused
            assert focused is not None, key
            assert focused.id == first or any(a.id == first for a in focused.ancestors), (key, focused)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.focused, (AskInput, ResultCard))
