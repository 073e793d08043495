"""The terminal app driven with Textual's Pilot against the real demo platform and the real
embedding model: chat, feedback keys, the profile, platforms, audit and settings screens."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from shieldrec.platforms import ensure_demo_platform
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.store.platform_configs import PlatformConfig
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.screens.conversations import Conversations
from shieldrec.tui.screens.help import Help
from shieldrec.tui.screens.modals import Confirm, Prompt, Removed
from shieldrec.tui.widgets import RemovedButton, ResultCard, TurnView

from .conftest import fixed_turn, screen_text, settle, wait_for

SIZE = (100, 32)


@pytest.fixture
def opened() -> list[str]:
    return []


@pytest.fixture
def make_app(settings: Settings, embedder: Embedder, demo: DemoServer,
             opened: list[str]) -> Callable[..., ShieldRecApp]:
    def make(**kwargs: Any) -> ShieldRecApp:
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("embedder", embedder)
        kwargs.setdefault("demo", demo)
        kwargs.setdefault("opener", opened.append)
        return ShieldRecApp(kwargs.pop("profile_name", "maya"), **kwargs)

    return make


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="the profile and model")


async def ask(pilot: Pilot[Any], text: str) -> TurnView:
    app: ShieldRecApp = pilot.app  # type: ignore[assignment]
    assert app.session is not None
    before = len(app.session.turns)
    app.chat.query_one("#ask", Input).focus()
    await pilot.press(*text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(app.session.turns) > before  # type: ignore[union-attr]
                   and len(app.chat.query(TurnView)) == len(app.session.turns), what=f"an answer to {text!r}")
    await pilot.pause()
    return list(app.chat.query(TurnView))[-1]


async def shown(pilot: Pilot[Any]) -> str:
    """The screen's text once pending messages (notifications included) have been drawn."""
    await settle(pilot)
    return screen_text(pilot.app)


async def toasts(pilot: Pilot[Any]) -> str:
    """The notifications on screen now, one per line."""
    from textual.widgets._toast import Toast

    await settle(pilot)
    return "\n".join(str(t.render()) for t in pilot.app.screen.query(Toast))


def body(card: ResultCard) -> str:
    return str(card.query_one(".body", Static).content)


def rows(table: DataTable) -> list[str]:
    return [" | ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def test_ask_like_and_the_profile_keeps_it_across_a_restart(make_app: Callable[..., ShieldRecApp],
                                                                   maya: Profile, store: Store) -> None:
    app = make_app(store=None)  # opens the database itself, as `shieldrec` does
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "something hopeful, no horror")
        cards = view.visible_cards()
        assert len(cards) == 10
        assert "removed — show" in str(view.query_one(RemovedButton).label)
        await pilot.press("down")
        assert app.focused is cards[0]
        title = cards[0].card.item.title
        await pilot.press("l")
        assert "♥ liked" in body(cards[0])
        await pilot.press("f3")
        await pilot.pause()
        assert any(f"liked | {title}" in r for r in rows(app.screen.query_one("#history", DataTable)))

    again = make_app(store=None)
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: again.session is not None)
        await pilot.press("f3")
        await pilot.pause()
        assert any(f"liked | {title}" in r for r in rows(again.screen.query_one("#history", DataTable)))
        # The conversation was saved too: Ctrl+R offers it and brings its cards back.
        await pilot.press("f2", "ctrl+r")
        await pilot.pause()
        assert isinstance(again.screen, Conversations)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(again.chat.query(TurnView)) == 1, what="the resumed conversation")
        resumed = again.chat.query_one(TurnView).visible_cards()
        assert resumed[0].card.item.title == title and "♥ liked" in body(resumed[0])


async def test_blocking_a_creator_removes_their_items_now_and_next_time(make_app: Callable[..., ShieldRecApp],
                                                                         maya: Profile, store: Store) -> None:
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "books about hope")
        # An author with one pick in the answer: blocking one with several asks first (with the count).
        creators = [c.item.creator for c in view.turn.visible]
        card = next(c for c in view.visible_cards() if c.card.item.creator and creators.count(c.card.item.creator) == 1)
        author = card.card.item.creator
        removed_before = len(view.turn.withheld)
        card.focus()
        await pilot.press("b")
        await pilot.pause()
        assert author not in [c.card.item.creator for c in view.visible_cards()]
        assert len(view.turn.withheld) > removed_before
        assert f"Blocked creator '{author}'" in await toasts(pilot)
        assert any(p.kind == "block" and p.value == author for p in store.preferences(maya))

        later = await ask(pilot, "more books about hope")
        assert author not in [c.card.item.creator for c in later.visible_cards()]
        # Ctrl+Z takes the block back: the first answer shows the author again.
        await pilot.press("escape", "ctrl+z")
        await pilot.pause()
        assert author in [c.card.item.creator for c in view.visible_cards()]
        assert not any(p.kind == "block" and p.value == author for p in store.preferences(maya))


async def test_a_platform_that_is_down_is_a_notice_and_the_others_still_answer(
        make_app: Callable[..., ShieldRecApp], maya: Profile, store: Store, demo: DemoServer) -> None:
    ensure_demo_platform(store, maya, demo)
    store.platforms.save(maya.id, PlatformConfig(name="broken", adapter="http-json", settings={
        "url": "http://127.0.0.1:9/recommend", "retries": 0, "connect_timeout": 1.0}))
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "space adventure")
        assert view.visible_cards()
        assert "broken" in view.turn.errors
        text = await toasts(pilot)
        assert "broken did not answer" in text and "Platforms screen (F4)" in text
        assert {c.card.item.platforms[0] for c in view.visible_cards()} <= {"demo-movies", "demo-books"}


HOSTILE_TITLE = "[bold red]Totally Normal[/bold red] \x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07"


async def test_a_title_with_markup_and_escapes_renders_literally(make_app: Callable[..., ShieldRecApp],
                                                                 maya: Profile, store: Store,
                                                                 json_platform: Any) -> None:
    platform = json_platform([
        {"id": "evil-1", "title": HOSTILE_TITLE, "creator": "[link=https://evil.example]Click[/link]",
         "description": "[reverse]fake button[/reverse] \x1b[2J cleared?", "url": "https://example.org/evil-1"},
        {"id": "fine-1", "title": "An Ordinary Film", "description": "A gentle story about a lighthouse."},
    ])
    store.platforms.save(maya.id, PlatformConfig(name="odd-shop", adapter="http-json", settings={"url": platform.url}))
    app = make_app(store=store, demo=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "a gentle film")
        card = next(c for c in view.visible_cards() if c.card.item.item_id == "evil-1")
        text = body(card)
        assert "[bold red]Totally Normal[/bold red] red link" in text
        assert "[link=https://evil.example]Click[/link]" in text
        assert "\x1b" not in text and "\x07" not in text
        text = await shown(pilot)
        assert "[bold red]Totally Normal[/bold red] red link" in text
        card.focus()
        await pilot.press("enter")  # details: the description, literally
        assert "[reverse]fake button[/reverse] cleared?" in body(card)
        await pilot.press("o")
        assert pilot.app.opener.__self__[-1] == "https://example.org/evil-1"  # type: ignore[attr-defined]


async def test_card_keys_not_now_dislike_open_and_the_removed_view(make_app: Callable[..., ShieldRecApp],
                                                                   maya: Profile, opened: list[str]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "space adventure")
        first, second, third = view.visible_cards()[:3]
        ids = lambda: [c.item_id for c in view.visible_cards()]  # noqa: E731
        await pilot.press("down", "o")
        assert opened == [first.card.item.url]
        await pilot.press("n")
        await pilot.pause()
        assert first.item_id not in ids() and app.focused is second  # gone from the list; focus moved on
        assert len(ids()) == 10  # the next one came up
        await pilot.press("d")
        await pilot.pause()
        assert second.item_id not in ids() and app.focused is third
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, Removed)
        text = await shown(pilot)
        assert "you said not now" in text and "you disliked it" in text
        await pilot.press("escape")
        await pilot.press("ctrl+o")  # the same view from anywhere in the chat, by its own key
        await pilot.pause()
        assert isinstance(app.screen, Removed) and "you disliked it" in await shown(pilot)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("u")  # undo the dislike: the card is back, in its place
        await pilot.pause()
        assert ids()[0] == second.item_id


async def test_keys_can_be_remapped_in_the_settings(make_app: Callable[..., ShieldRecApp], maya: Profile,
                                                     settings: Settings, store: Store) -> None:
    settings.tui.keys = {"card.like": "plus", "app.help": "f9", "no.such.binding": "x"}
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        assert "no.such.binding" in await toasts(pilot)  # an unknown id is reported, not ignored
        view = await ask(pilot, "space adventure")
        await pilot.press("down", "plus")
        assert view.visible_cards()[0].card.mark == "liked"
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, Help)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-keys Static", Static).content)
        [line] = [x for x in console.export_text().splitlines() if "card.like" in x]
        assert line.split()[0] == "+"


async def test_help_palette_and_screens_are_reachable(make_app: Callable[..., ShieldRecApp], maya: Profile) -> None:
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = await shown(pilot)
        assert "app.help" in text and "card.like" in text
        await pilot.press("end")  # the list scrolls: its end holds the dialogs' keys
        text = await shown(pilot)
        assert "conversations.rename" in text and "dialog.close" in text
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"export")
        await settle(pilot)
        assert "Profile: export" in await shown(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, Prompt), what="the export prompt")
        for key, title in (("escape", ""), ("f4", "platforms"), ("f5", "audit"), ("f6", "settings"),
                           ("f3", "profile")):
            await pilot.press(key)
            await pilot.pause()
            if title:
                assert title in app.screen.sub_title


async def test_export_writes_the_profile_and_forget_removes_it(make_app: Callable[..., ShieldRecApp], maya: Profile,
                                                               store: Store, tmp_path: Path) -> None:
    app = make_app(store=store)
    target = tmp_path / "out" / "maya.json"
    target.parent.mkdir()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f3", "ctrl+e")
        await pilot.pause()
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        doc = json.loads(target.read_text())
        assert doc["profile"]["name"] == "maya" and len(doc["history"]) == 5

        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press(*"nope", "enter")
        await pilot.pause()
        assert isinstance(app.screen, Confirm) and [p.name for p in store.profiles()] == ["maya"]
        app.screen.query_one(Input).value = "maya"
        await pilot.press("enter")
        await pilot.pause()
        assert store.profiles() == []
        assert app.session is None and "There is no profile yet" in await shown(pilot)


async def test_profile_entries_can_be_added_edited_and_deleted(make_app: Callable[..., ShieldRecApp],
                                                               maya: Profile, store: Store) -> None:
    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await pilot.pause()
        prefs = app.screen.query_one("#prefs", DataTable)
        assert rows(prefs)[0].startswith("likes topic 'hopeful science fiction' | 1 | you said so")
        assert any("blocks creator 'Stephenie Meyer'" in r for r in rows(prefs))
        await pilot.press("a")
        await pilot.pause()
        await pilot.click("#field-value")
        await pilot.press(*"lighthouses", "enter")
        await pilot.pause()
        assert any(p.value == "lighthouses" and p.kind == "like" for p in store.preferences(maya))
        prefs = app.screen.query_one("#prefs", DataTable)
        prefs.move_cursor(row=prefs.row_count - 1)
        await pilot.press("e")
        await pilot.pause()
        weight = app.screen.query_one("#field-weight", Input)
        weight.value = ""
        weight.focus()
        await pilot.press(*"eleven", "enter")
        await pilot.pause()
        assert "weight must be a number" in await shown(pilot)  # the form stays open and says why
        weight.value = "2.5"
        await pilot.press("enter")
        await pilot.pause()
        assert [p.weight for p in store.preferences(maya) if p.value == "lighthouses"] == [2.5]
        await pilot.press("x", "enter")  # delete asks first; Enter says yes
        await pilot.pause()
        assert not [p for p in store.preferences(maya) if p.value == "lighthouses"]
        history = app.screen.query_one("#history", DataTable)
        history.focus()
        history.move_cursor(row=0)
        await pilot.press("x", "enter")
        await pilot.pause()
        assert len(store.history(maya)) == 4


async def test_platforms_screen_toggles_tests_and_keeps_tokens_out_of_sight(
        make_app: Callable[..., ShieldRecApp], maya: Profile, store: Store, memory_keyring: Any) -> None:
    app = make_app(store=store)
    secret = "tok-5be1f0c2-NEVER-SHOWN"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert rows(app.screen.query_one(DataTable))[0].startswith("demo-movies | demo | yes")
        await pilot.press("t")
        await wait_for(pilot, lambda: "answered with" in str(app.screen.query_one("#platform-result", Static).content),
                       what="the platform test")
        result = str(app.screen.query_one("#platform-result", Static).content)
        # What was sent, as the CLI's `platform test` shows it: the request and what came of it.
        assert result.startswith("Sent (1 request):\n  GET http://127.0.0.1:")
        assert "/v1/recommend limit=5 section=movies" in result and "→ status 200" in result
        await pilot.press("space")
        await pilot.pause()
        assert not store.platforms.get(maya.id, "demo-movies").enabled
        await pilot.press("k")
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.password
        field.value = secret
        await pilot.press("enter")
        await pilot.pause()
        assert memory_keyring.secrets[("shieldrec", "demo-movies")] == secret
        assert secret not in await shown(pilot)
        assert secret not in json.dumps([c.to_dict() for c in store.platforms.list(maya.id)])


async def test_a_platform_is_added_from_a_form_that_checks_it(make_app: Callable[..., ShieldRecApp],
                                                               maya: Profile, store: Store) -> None:
    from shieldrec.tui.screens.platforms import PlatformForm

    app = make_app(store=store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f4", "a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PlatformForm) and app.focused is form.query_one("#field-name", Input)
        await pilot.press(*"my-shop")
        # One field per setting of the chosen adapter, each with its help: no raw JSON to write.
        text = await shown(pilot)
        assert "url (required): endpoint URL; may contain {query}, {limit}, {kind}" in text
        url = form.query_one("#set-url", Input)
        url.value = "ftp://shop.example/recs"
        await pilot.click("#ok")
        await pilot.pause()
        assert "must be an http:// or https:// URL" in await shown(pilot)  # the form stays, saying why
        url.value = "https://shop.example/recs"
        form.query_one("#set-auth", Select).value = "bearer"
        form.query_one("#set-params", Input).value = '{"q": "{query}", "n": "{limit}"'
        form.query_one("#ok").press()
        await pilot.pause()
        assert "expects a JSON object" in await shown(pilot)
        form.query_one("#set-params", Input).value = '{"q": "{query}", "n": "{limit}"}'
        form.query_one("#ok").press()
        await pilot.pause()
        cfg = store.platforms.get(maya.id, "my-shop")
        assert cfg.adapter == "http-json" and cfg.settings == {
            "url": "https://shop.example/recs", "auth": "bearer", "params": {"q": "{query}", "n": "{limit}"}}
        assert any(r.startswith("my-shop | http-json | yes | none") for r in rows(app.screen.query_one(DataTable)))
        # Switching the adapter switches the fields; a local feed file is one of the choices.
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#field-adapter", Select).value = "file"
        await pilot.pause()
        assert app.screen.query("#set-path") and not app.screen.query("#set-url")
        assert "feed" in str(app.screen.query_one("#set-format", Select)._options)


async def test_the_audit_screen_lists_what_was_sent(make_app: Callable[..., ShieldRecApp], maya: Profile) -> None:
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await ask(pilot, "something for my daughter who is 9, about space")
        await pilot.press("escape", "f5")
        await pilot.pause()
        sent = rows(app.screen.query_one(DataTable))
        assert len(sent) == 2 and all("q=space" in r for r in sent)
        assert "daughter" not in await shown(pilot)  # the private part never left


async def test_settings_are_validated_and_persisted(make_app: Callable[..., ShieldRecApp], maya: Profile,
                                                    shieldrec_home: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        await pilot.pause()
        # The language model switch says its state in words, so it reads without colour.
        switch_row = next(line for line in (await shown(pilot)).splitlines() if "Use it" in line)
        assert switch_row.rstrip().endswith(" off")
        await pilot.click("#llm-enabled Switch")
        assert next(line for line in (await shown(pilot)).splitlines() if "Use it" in line).rstrip().endswith(" on")
        await pilot.click("#llm-enabled Switch")
        app.screen.query_one("#diversity", Input).value = "7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "diversity must be between 0 and 1" in await toasts(pilot)
        assert not (shieldrec_home / "config" / "config.toml").exists()
        app.screen.query_one("#diversity", Input).value = "0.6"
        app.screen.query_one("#llm-model", Input).value = "/no/such/model.gguf"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "does not exist" in await toasts(pilot)
        app.screen.query_one("#llm-model", Input).value = "bundled"
        app.screen.query_one("#weight-popularity", Input).value = "0"
        app.screen.query_one("#popularity", Input).value = "1.5"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "public counts must be between 0 and 1" in await toasts(pilot)
        app.screen.query_one("#popularity", Input).value = "0.2"
        app.screen.query_one("#ranker", Select).value = "fusion"
        app.screen.query_one("#theme", Select).value = "textual-light"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.theme == "textual-light"
    saved = Settings.load()
    assert saved.ranking.diversity == 0.6 and saved.ranking.weights["popularity"] == 0.0
    assert saved.ranking.popularity == 0.2 and saved.ranking.ranker == "fusion"
    assert saved.tui.theme == "textual-light"
    assert app.settings.ranking.diversity == 0.6  # the next search uses it


async def test_the_status_line_says_each_thing_once_and_keeps_the_models_on_the_right() -> None:
    from textual.app import App

    from shieldrec.tui.widgets import StatusLine

    class Bare(App[None]):
        def compose(self) -> Any:
            yield StatusLine()

    app = Bare()
    async with app.run_test(size=(100, 3)) as pilot:
        line = app.query_one(StatusLine)
        line.set("model", "loading the embedding model", busy=True)
        line.set("rank", "ranking 53 candidates", busy=True)
        line.set("llm", "model stopped")  # where the language model's worker reports
        await pilot.pause()
        text = screen_text(app).splitlines()[0]
        assert text.count("loading the embedding model") == 1 and "ranking 53 candidates" in text
        assert text.rstrip().endswith("loading the embedding model  ·  model stopped")
        line.set("model", "")
        await pilot.pause()
        assert "loading" not in screen_text(app)


async def test_with_no_profile_the_app_says_how_to_make_one(make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app(store=None, profile_name=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: not app.opening, what="start-up")
        await pilot.pause()
        text = await shown(pilot)
        assert "There is no profile yet" in text and "shieldrec profile import profiles/maya.toml" in text
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        assert "No profile is open" in await toasts(pilot)


async def test_a_small_terminal_without_colour_still_works(make_app: Callable[..., ShieldRecApp], maya: Profile,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    assert app.no_color
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await ready(pilot)
        view = await ask(pilot, "no, something hopeful")
        assert view.visible_cards()
        await pilot.press("down", "l")
        assert view.visible_cards()[0].card.mark == "liked"
        assert "Liked" in await toasts(pilot)


@pytest.mark.llm
@pytest.mark.slow
async def test_the_language_model_loads_in_a_worker_and_joins_the_ranking(
        make_app: Callable[..., ShieldRecApp], maya: Profile, settings: Settings) -> None:
    settings.llm.enabled = True
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: bool(app.session.scorers), what="the language model")  # type: ignore[union-attr]
        # the status line says which model is in use (told by the loading thread, a moment later)
        await wait_for(pilot, lambda: "LLM:" in screen_text(app), what="the model named on screen")
        view = await ask(pilot, "a gentle story about robots")
        # The answer is on screen at once; the model's re-ranking replaces it when done.
        assert not view.turn.refined and all("llm" not in c.card.components for c in view.visible_cards())
        await wait_for(pilot, lambda: view.turn.refined, timeout=300, what="the language model's re-ranking")
        await settle(pilot)
        assert all("llm" in c.card.components for c in view.visible_cards())
        assert "Re-ranked with the language model." in await shown(pilot)


async def test_a_corrupt_profile_database_is_a_notice_not_a_crash(make_app: Callable[..., ShieldRecApp],
                                                                  shieldrec_home: Path) -> None:
    database = shieldrec_home / "data" / "profiles.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not SQLite" * 100)
    app = make_app(store=None)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: not app.opening, what="start-up")
        text = await toasts(pilot)
        assert "cannot be read" in text and "move it aside" in text
        assert "Cannot open the profile" in await shown(pilot)
        # Still the user's app: the request line takes what is typed, and a request says what is wrong.
        app.chat.ask_input.focus()
        await pilot.press(*"hello")
        assert app.chat.ask_input.value == "hello"
        await pilot.press("enter")
        assert "No profile is open" in await toasts(pilot)


async def test_a_missing_model_file_is_a_notice_and_ranking_goes_on(make_app: Callable[..., ShieldRecApp],
                                                                    maya: Profile, settings: Settings,
                                                                    tmp_path: Path) -> None:
    settings.llm.enabled = True
    settings.llm.model = str(tmp_path / "gone.gguf")
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ready(pilot)
        from textual.widgets._toast import Toast

        await wait_for(pilot, lambda: any("Language model not loaded" in str(t.render())
                                          for t in app.screen.query(Toast)), what="the notice")
        assert "gone.gguf" in await toasts(pilot)
        view = await ask(pilot, "space adventure")
        assert view.visible_cards() and not app.session.has_language_model  # type: ignore[union-attr]


async def test_an_answer_taken_off_the_screen_while_its_cards_go_up_leaves_the_app_running(
        make_app: Callable[..., ShieldRecApp], store: Store, maya: Profile) -> None:
    # A new conversation (Ctrl+N) or a deleted profile clears the transcript whenever the user
    # asks for it, also while an answer that has just arrived is still putting its cards up.
    app = make_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        turn = fixed_turn()
        view = TurnView(turn)
        transcript = app.chat.query_one("#transcript")
        mounting = transcript.mount(view)  # not awaited: the view puts its cards up meanwhile
        for _ in range(2000):
            if view.cards():
                break
            await asyncio.sleep(0)
        assert 0 < len(view.cards()) < len(turn.visible)  # caught half-way
        await view.remove()
        await mounting
        await pilot.pause(0.2)
        assert app.is_running and not app.chat.views
        await pilot.press("ctrl+n")  # and the chat still answers keys
        assert app.is_running
