"""Key fuzz: on every screen and in every state, every bound key (and Tab, Shift+Tab, the arrows,
Enter, Esc and plain text) is pressed once. The app must not raise, must keep running, and must
stay on a screen a person can work with: the chat, one of the pages, or a dialog, with
something in focus so the next key goes somewhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.screen import ModalScreen

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.tui import keys
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.screens.base import Page
from shieldrec.tui.screens.chat import ChatScreen
from shieldrec.tui.screens.modals import Dialog
from shieldrec.tui.widgets import TurnView

from .conftest import show_fixed, wait_for

QUIT = "ctrl+q"
BOUND = sorted({k.strip() for _, (_, group) in keys.GROUPS.items() for key in group for k in key.keys.split(",")}
               - {QUIT})
EXTRA = ["tab", "shift+tab", "up", "down", "left", "right", "enter", "escape", "h", "Z", "/"]
KEYS = list(dict.fromkeys([*BOUND, *EXTRA]))


def sensible(app: ShieldRecApp) -> str:
    """What is wrong with the app's state ("" when nothing is)."""
    if not app.is_running:
        return "the app stopped"
    screen = app.screen
    if not isinstance(screen, (ChatScreen, Page, Dialog, CommandPalette)):
        return f"an unexpected screen: {screen!r}"
    if isinstance(screen, (ChatScreen, Dialog)) and screen.focused is None:
        return "nothing has the focus: typed keys would go nowhere"
    if len(app.screen_stack) > 6:
        return f"screens pile up: {app.screen_stack}"
    return ""


async def back_to_chat(pilot: Pilot[Any]) -> ChatScreen:
    app: ShieldRecApp = pilot.app  # type: ignore[assignment]
    if app.screen is not app.chat:
        while isinstance(app.screen, ModalScreen):
            app.pop_screen()
        app.action_show("chat")
        await pilot.pause()
    app.chat.ask_input.value = ""  # so that an Enter asks nothing of the platforms
    return app.chat


async def with_answer(pilot: Pilot[Any]) -> TurnView:
    chat = await back_to_chat(pilot)
    views = list(chat.query(TurnView))
    if views and views[-1].cards():
        return views[-1]
    return await show_fixed(pilot)


class State:
    """How to get into a state, and how to tell it still holds (most keys leave it as it is)."""

    def __init__(self, enter: Callable[[Pilot[Any]], Awaitable[None]], holds: Callable[[ShieldRecApp], bool]) -> None:
        self.enter, self.holds = enter, holds


def on_chat(app: ShieldRecApp) -> bool:
    return app.screen is app.chat and not app.chat.ask_input.value


def states() -> dict[str, State]:
    from shieldrec.tui.screens.conversations import Conversations
    from shieldrec.tui.screens.help import Help
    from shieldrec.tui.screens.modals import Form, Removed
    from shieldrec.tui.screens.platforms import PlatformForm
    from shieldrec.tui.widgets import AskInput, ResultCard

    async def empty_chat(pilot: Pilot[Any]) -> None:
        chat = await back_to_chat(pilot)
        if chat.query(TurnView):
            await chat.action_new_conversation()
        chat.ask_input.focus()

    async def answer(pilot: Pilot[Any]) -> None:
        await with_answer(pilot)
        pilot.app.chat.ask_input.focus()

    async def card(pilot: Pilot[Any]) -> None:
        view = await with_answer(pilot)
        if pilot.app.chat.compact:
            await pilot.app.chat.set_compact(False)
        view.cards()[1].focus()

    async def compact_card(pilot: Pilot[Any]) -> None:
        view = await with_answer(pilot)
        if not pilot.app.chat.compact:
            await pilot.app.chat.set_compact(True)
        view.cards()[0].focus()

    async def removed_list(pilot: Pilot[Any]) -> None:
        view = await with_answer(pilot)
        pilot.app.chat._show_removed(view.turn)

    async def sort_dialog(pilot: Pilot[Any]) -> None:
        view = await with_answer(pilot)
        pilot.app.chat.choose_view(view)

    async def conversations(pilot: Pilot[Any]) -> None:
        await back_to_chat(pilot)
        pilot.app.chat.action_conversations()

    def page(name: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
        async def go(pilot: Pilot[Any]) -> None:
            await back_to_chat(pilot)
            mounted = pilot.app.action_show(name)
            if mounted is not None:
                await mounted

        return go

    async def platform_form(pilot: Pilot[Any]) -> None:
        await page("platforms")(pilot)
        await pilot.pause()
        pilot.app.screen.action_add()

    async def help_screen(pilot: Pilot[Any]) -> None:
        await back_to_chat(pilot)
        pilot.app.action_help()

    def shows(kind: type) -> Callable[[ShieldRecApp], bool]:
        return lambda app: type(app.screen) is kind

    def page_is(name: str) -> Callable[[ShieldRecApp], bool]:
        return lambda app: isinstance(app.screen, Page) and app.screen.NAME == name

    return {
        "empty chat": State(empty_chat, lambda app: on_chat(app) and not app.chat.query(TurnView)
                            and isinstance(app.focused, AskInput)),
        "an answer on screen": State(answer, lambda app: on_chat(app) and bool(app.chat.query(TurnView))
                                     and isinstance(app.focused, AskInput)),
        "a card in focus": State(card, lambda app: on_chat(app) and isinstance(app.focused, ResultCard)
                                 and not app.chat.compact),
        "a compact card in focus": State(compact_card, lambda app: on_chat(app) and app.chat.compact
                                         and isinstance(app.focused, ResultCard)),
        "the removed list": State(removed_list, shows(Removed)),
        "the sort and filter dialog": State(sort_dialog, shows(Form)),
        "saved conversations": State(conversations, shows(Conversations)),
        "profile": State(page("profile"), page_is("profile")),
        "platforms": State(page("platforms"), page_is("platforms")),
        "the add-platform dialog": State(platform_form, shows(PlatformForm)),
        "audit": State(page("audit"), page_is("audit")),
        "settings": State(page("settings"), page_is("settings")),
        "help": State(help_screen, shows(Help)),
    }


@pytest.fixture
def app(store: Store, maya: Profile, settings: Settings, embedder: Embedder, demo: DemoServer,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> ShieldRecApp:
    from shieldrec.store.conversations import Message

    monkeypatch.chdir(tmp_path)  # Enter in an export dialog writes its default file here
    cid = store.conversations.start(maya.id)
    store.conversations.add(cid, Message(role="user", content="something hopeful"))
    return ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, demo=demo,
                        opener=lambda url: None)


@pytest.mark.parametrize("group", [["empty chat", "an answer on screen", "a card in focus",
                                    "a compact card in focus", "the removed list"],
                                   ["the sort and filter dialog", "saved conversations", "help"],
                                   ["profile", "platforms", "the add-platform dialog", "audit", "settings"]],
                         ids=["chat", "dialogs", "pages"])
async def test_every_key_in_every_state_leaves_a_working_app(app: ShieldRecApp, group: list[str]) -> None:
    chosen = states()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")
        for name in group:
            state = chosen[name]
            for key in KEYS:
                if not state.holds(app):
                    await state.enter(pilot)
                    await pilot.pause()
                    assert state.holds(app), f"could not get into {name!r}"
                await pilot.press(key)
                problem = sensible(app)
                assert not problem, f"in {name!r}, after {key!r}: {problem}"
        await back_to_chat(pilot)
        await pilot.press(QUIT)  # the one key that ends it, cleanly
        await pilot.pause()
        assert not app.is_running
    assert app.return_code in (0, None)
