"""Answers people keep open all evening: paging and refilling, sorting and filtering, the compact
mode, the request history, saved conversations (rename, delete, search), export, the watch
list, ratings, "this reason is wrong", "why not X?", and blocks that ask before they empty a
list. Fixed answers where the flow is the point; real asks where the ranking is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static

from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.tui.app import ShieldRecApp
from shieldrec.tui.screens.conversations import Conversations
from shieldrec.tui.screens.modals import Ask, Choose, Form, Prompt
from shieldrec.tui.widgets import AskInput, MoreButton, TurnView

from .conftest import FIXED_TITLES, screen_text, settle, show_fixed, shows_its_turn, wait_for

SIZE = (100, 32)


@pytest.fixture
def make_app(store: Store, maya: Profile, settings: Settings, embedder: Embedder, demo: DemoServer,
             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., ShieldRecApp]:
    monkeypatch.chdir(tmp_path)

    def make(**kwargs: Any) -> ShieldRecApp:
        kwargs.setdefault("store", store)
        return ShieldRecApp("maya", settings=settings, embedder=embedder, demo=demo, opener=lambda url: None,
                            **kwargs)

    return make


async def press_button(pilot: Pilot[Any], ident: str) -> None:
    """Press a dialog's button (as Enter or a click would), wherever it is on screen."""
    from textual.widgets import Button

    pilot.app.screen.query_one(f"#{ident}", Button).press()
    await pilot.pause()


async def ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.session is not None and app.session.model_ready, what="start-up")


async def ask(pilot: Pilot[Any], text: str) -> TurnView:
    app: ShieldRecApp = pilot.app  # type: ignore[assignment]
    before = len(app.session.turns)  # type: ignore[union-attr]
    app.chat.ask_input.focus()
    await pilot.press(*text, "enter")
    await wait_for(pilot, lambda: len(app.session.turns) > before  # type: ignore[union-attr]
                   and len(app.chat.query(TurnView)) == len(app.session.turns), what=f"an answer to {text!r}")
    await pilot.pause()
    return list(app.chat.query(TurnView))[-1]


def titles(view: TurnView) -> list[str]:
    return [c.card.item.title for c in view.cards()]


def reply(view: TurnView) -> str:
    return str(view.query_one(".agent", Static).content)


async def test_show_more_pages_through_the_whole_ranking_and_feedback_refills_the_page(
        make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        every = [t[0] for t in FIXED_TITLES]
        assert titles(view) == every[:10]
        assert reply(view).startswith("10 of 23 picks from demo-books, demo-movies (3 removed by the shield)")
        more = view.query_one(MoreButton)
        assert str(more.label) == "show 10 more (13 left)"
        view.cards()[9].focus()
        await pilot.press("m")  # on a card: the next page, and the focus on its first new card
        await wait_for(pilot, lambda: len(view.turn.visible) == 20 and shows_its_turn(view), timeout=30,
                       what="the next page")
        assert titles(view) == every[:20] and app.focused is view.cards()[10]
        assert reply(view).startswith("20 of 23 picks")
        more.press()  # the button does the same
        await wait_for(pilot, lambda: len(view.turn.visible) == 23 and shows_its_turn(view), timeout=30,
                       what="the last page")
        assert titles(view) == every and not more.display
        assert reply(view).startswith("23 picks")
        # A dislike takes a card out; the rest move up and the count says so at once.
        view.cards()[0].focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: len(view.turn.visible) == 22 and shows_its_turn(view), timeout=30,
                       what="the disliked card to leave")
        assert titles(view) == every[1:] and reply(view).startswith("22 picks")
        assert "1 taken out by your feedback" in reply(view)
        assert app.focused is view.cards()[0]  # the focus stays where it was, on the next card


async def test_a_page_is_refilled_after_a_block_so_the_answer_never_runs_dry(
        make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        chambers = [c for c in view.cards() if c.card.item.creator == "Becky Chambers"]
        assert len(chambers) == 2
        chambers[0].focus()
        await pilot.press("b")  # two picks on screen: it asks first, with the count
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        assert "takes 2 of the 10 picks on screen out" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: all(c.item.creator != "Becky Chambers" for c in view.turn.visible)
                       and shows_its_turn(view), timeout=30,
                       what="the blocked creator's picks to leave")
        assert len(view.cards()) == 10  # two left, two came up from below
        assert "Becky Chambers" not in [c.card.item.creator for c in view.cards()]
        assert titles(view)[-2:] == [FIXED_TITLES[10][0], FIXED_TITLES[11][0]]
        assert reply(view).startswith("10 of 21 picks")


async def test_blocking_a_platform_asks_with_the_count_and_cancel_changes_nothing(
        make_app: Callable[..., ShieldRecApp], store: Store, maya: Profile) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        books = [c for c in view.cards() if "demo-books" in c.card.item.platforms]
        books[0].focus()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, Ask)
        text = screen_text(app)
        assert "Block the platform 'demo-books'?" in text and f"takes {len(books)} of the 10 picks" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not [p for p in store.preferences(maya) if p.target == "source"]
        assert len(view.cards()) == 10 and app.focused is books[0]
        await pilot.press("s")
        await pilot.pause()
        await press_button(pilot, "yes")
        # The block is a write: it may wait its turn for the store (a background update of what
        # the profile learned), so the cards change when it is done, not after a fixed pause.
        await wait_for(pilot, lambda: all("demo-books" not in c.card.item.platforms for c in view.cards()),
                       timeout=30, what="the blocked platform's picks to leave the screen")
        # What is left: the 11 movies, 10 on screen, and the header says so.
        assert reply(view).startswith("10 of 11 picks from demo-books, demo-movies (3 removed by the shield; "
                                      "12 taken out by your feedback)")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: titles(view) == [t[0] for t in FIXED_TITLES[:10]], timeout=30,
                       what="the undo to bring the platform's picks back")


async def test_an_answer_can_be_sorted_and_filtered_and_put_back(make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        view.cards()[0].focus()
        await pilot.press("v")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, Form)
        form.query_one("#field-sort", Select).value = "newest"
        form.query_one("#field-kind", Select).value = "book"
        form.query_one("#field-year_from", Input).value = "2000"
        await press_button(pilot, "ok")
        await wait_for(pilot, lambda: shows_its_turn(view) and view.turn.view.kind == "book", timeout=30,
                       what="the filtered cards")
        shown = [c.card for c in view.cards()]
        years = [c.item.meta["year"] for c in shown]
        assert shown and all(c.item.meta["section"] == "books" for c in shown)
        assert years == sorted(years, reverse=True) and min(years) >= 2000
        assert "books only, 2000–…, newest first" in reply(view)
        # "the second one" means the second card on screen, in this order.
        from shieldrec.agent.followup import find_card

        assert find_card("the second one", view.turn.visible)[1] is shown[1]  # type: ignore[index]
        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one("#field-year_from", Input).value = "99"
        await press_button(pilot, "ok")
        assert "is a year" in str(app.screen.query_one("#error", Static).content)  # stays open, says why
        for field, value in (("sort", "rank"), ("kind", "")):
            app.screen.query_one(f"#field-{field}", Select).value = value
        app.screen.query_one("#field-year_from", Input).value = ""
        await press_button(pilot, "ok")
        await wait_for(pilot, lambda: shows_its_turn(view) and view.turn.view.sort == "rank", timeout=30,
                       what="the ranking put back")
        assert titles(view) == [t[0] for t in FIXED_TITLES[:10]]


async def test_compact_mode_shows_one_line_a_pick_and_is_remembered(make_app: Callable[..., ShieldRecApp],
                                                                    shieldrec_home: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        tall = [c.region.height for c in view.cards()]
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert all(c.region.height == 1 for c in view.cards()) and min(tall) >= 3
        text = screen_text(app)
        assert f"{FIXED_TITLES[0][0]}  — Becky Chambers  +0.86  demo-books" in text
    assert Settings.load().tui.compact  # the next start opens compact too


async def test_up_recalls_earlier_requests_across_a_restart(make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, "space adventure")
        await ask(pilot, "only books")
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        field = again.chat.query_one("#ask", AskInput)
        await pilot.press(*"half-typed")
        await pilot.press("up")
        assert field.value == "only books"
        await pilot.press("up")
        assert field.value == "space adventure"
        await pilot.press("up")  # the oldest stays
        assert field.value == "space adventure"
        await pilot.press("down")
        assert field.value == "only books"
        await pilot.press("down")  # back past the newest: what was being typed
        assert field.value == "half-typed"
        field.value = ""
        await pilot.press("up", "enter")  # Enter on a recalled request asks it again
        await wait_for(pilot, lambda: len(again.chat.query(TurnView)) == 1, what="the repeated request")
        assert again.session.turns[-1].text == "only books"  # type: ignore[union-attr]


async def test_conversations_can_be_searched_renamed_deleted_and_opened(make_app: Callable[..., ShieldRecApp],
                                                                        store: Store, maya: Profile) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await ask(pilot, "space adventure")
        await pilot.press("ctrl+n")
        await ask(pilot, "a gentle film about robots")
        await pilot.press("ctrl+n")
        await ask(pilot, "books about hope")
        await pilot.press("ctrl+r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, Conversations)
        options = dialog.query_one(OptionList)
        assert options.option_count == 3
        await pilot.press(*"robots")  # the search field has the focus
        await pilot.pause()
        assert options.option_count == 1 and "a gentle film about robots" in str(options.get_option_at_index(0).prompt)
        await pilot.press("down", "r")  # into the list, rename
        await pilot.pause()
        assert isinstance(app.screen, Prompt)
        field = app.screen.query_one(Input)
        assert field.value == "a gentle film about robots" and app.focused is field
        field.value = ""
        await pilot.press(*"Robot evening", "enter")
        await pilot.pause()
        assert [c.title for c in store.conversations.list(maya.id)].count("Robot evening") == 1
        # The search finds a conversation by a title it showed, too.
        search = dialog.query_one("#search", Input)
        search.value = ""
        search.focus()
        first_pick = app.session.turns[-1].visible[0].item.title.split()[0]  # type: ignore[union-attr]
        await pilot.press(*first_pick)
        await pilot.pause()
        assert any("books about hope" in str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count))
        # Delete asks; the open conversation being deleted clears the chat.
        search.value = "books about hope"
        await pilot.pause()
        await pilot.press("down", "x")
        await pilot.pause()
        assert isinstance(app.screen, Ask) and app.focused.id == "no"  # type: ignore[union-attr]
        await pilot.press("enter")  # it cannot be undone, so Enter alone keeps it
        await pilot.pause()
        assert "books about hope" in [c.title for c in store.conversations.list(maya.id)]
        await pilot.press("x", "shift+tab", "enter")
        await pilot.pause()
        assert "books about hope" not in [c.title for c in store.conversations.list(maya.id)]
        assert not app.chat.query(TurnView) and app.session.conversation_id is None  # type: ignore[union-attr]
        search.value = "Robot"
        await pilot.pause()
        await pilot.press("enter")  # Enter in the search field opens the one it found
        await wait_for(pilot, lambda: len(app.chat.query(TurnView)) == 1, what="the opened conversation")
        assert app.session.turns[0].text == "a gentle film about robots"  # type: ignore[union-attr]


async def test_an_answer_is_saved_as_markdown_or_json_and_copied_whole(make_app: Callable[..., ShieldRecApp],
                                                                       tmp_path: Path) -> None:
    app = make_app()
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        view.cards()[0].focus()
        await pilot.press("d")  # taken out: the export follows what is on screen
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, Form) and app.focused.id == "field-format"  # type: ignore[union-attr]
        path = app.screen.query_one("#field-path", Input)
        path.value = str(tmp_path / "answer")
        await press_button(pilot, "ok")
        text = (tmp_path / "answer.md").read_text()
        assert text.startswith("# something hopeful, no horror\n")
        assert f"1. **{FIXED_TITLES[1][0]}**" in text and FIXED_TITLES[0][0] not in text.split("Kept out")[0]
        assert "Kept out (4):" in text and "you disliked it" in text and "you said no horror" in text
        assert "<http://127.0.0.1:" in text  # links, as links
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#field-format", Select).value = "json"
        await press_button(pilot, "copy")
        doc = json.loads(copied[-1])
        assert [p["title"] for p in doc["picks"]] == [t[0] for t in FIXED_TITLES[1:11]]
        assert doc["picks"][0]["year"] == FIXED_TITLES[1][3] and doc["sent_to_platforms"] == "hopeful"


async def test_markdown_export_keeps_platform_text_literal() -> None:
    from shieldrec.agent.export import render

    from .conftest import fixed_turn

    turn = fixed_turn()
    turn.cards[0].item.title = "[click me](https://evil.example) *now* <b>"
    text = render([turn], "markdown")
    assert "\\[click me\\](https://evil.example) \\*now\\* \\<b\\>" in text


async def test_watch_list_ratings_and_a_wrong_reason_are_kept_shown_and_undone(
        make_app: Callable[..., ShieldRecApp], store: Store, maya: Profile) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        first = view.cards()[0]
        first.focus()
        await pilot.press("w", "4")
        await pilot.pause()
        assert [e.item.title for e in store.later.list(maya.id)] == [FIXED_TITLES[0][0]]
        [rated] = [ev for ev in store.history(maya) if ev.event == "rated" and ev.item.title == FIXED_TITLES[0][0]]
        assert rated.rating == 4.0
        body = str(first.query_one(".body", Static).content)
        assert "★ 4/5" in body and "◷ for later" in body
        assert "new to you" not in body  # no longer true once rated
        # One reason: marked wrong at once. The card says so; the profile lists it.
        third = view.cards()[2]
        assert len(third.card.reasons) == 1
        third.focus()
        await pilot.press("x")
        await pilot.pause()
        [dispute] = store.disputes.list(maya.id)
        assert dispute.reason == third.card.reasons[0] and dispute.instruction == "something hopeful, no horror"
        assert "you said this reason is wrong" in str(third.query_one(".body", Static).content)
        # Two reasons: it asks which.
        first.focus()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, Choose)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert {d.reason for d in store.disputes.list(maya.id)} == {third.card.reasons[0], first.card.reasons[1]}
        await pilot.press("f3")
        await pilot.pause()
        from textual.widgets import DataTable

        def table(ident: str) -> str:
            found = app.screen.query_one(ident, DataTable)
            return "\n".join(" | ".join(map(str, found.get_row_at(i))) for i in range(found.row_count))

        assert FIXED_TITLES[0][0] in table("#later")
        assert f"rated 4 | {FIXED_TITLES[0][0]}" in table("#history") and first.card.reasons[1] in table("#disputes")
        await pilot.press("f2")
        for _ in range(4):  # undo, newest first: the reason, the other reason, the rating, the watch list
            await pilot.press("ctrl+z")
        await pilot.pause()
        assert not store.later.list(maya.id) and not store.disputes.list(maya.id)
        assert not [ev for ev in store.history(maya) if ev.item.title == FIXED_TITLES[0][0]]
        first.focus()
        await pilot.press("w")
        await pilot.pause()
        assert len(store.later.list(maya.id)) == 1
        await pilot.press("w")  # w again takes it off the list
        await pilot.pause()
        assert not store.later.list(maya.id) and "◷ for later" not in str(first.query_one(".body", Static).content)


async def test_why_not_x_answers_from_the_rankings_own_evidence(make_app: Callable[..., ShieldRecApp],
                                                                 demo: DemoServer) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        twelfth = FIXED_TITLES[11][0]
        app.chat.ask_input.focus()
        requests_before = len(demo.request_log)
        for question in (f"why not {twelfth}?", "why isn't Twilight here", "why not Solaris",
                         f"why not {FIXED_TITLES[0][0]}"):
            await pilot.press(*question, "enter")
            await pilot.pause()
        notes = [str(n.content) for n in app.chat.query(".note").results(Static)]
        assert len(notes) == 4 and len(demo.request_log) == requests_before  # nothing was asked of a platform
        assert f"“{twelfth}” ranked #12 of 23 (score +0.42): 2 below the last card on screen" in notes[0]
        assert (f"The last card shown, “{FIXED_TITLES[9][0]}” (#10, +0.50) outranked it on matching what you asked "
                "(+0.25 vs +0.21); closeness to what you liked (+0.25 vs +0.21)") in notes[0]
        assert "taken out before ranking: blocked creator 'Stephenie Meyer'" in notes[1]
        assert "was not among the 26 candidates the platforms sent for “hopeful”" in notes[2]
        assert "is on screen as #1" in notes[3]
        assert len(app.session.turns) == 1 and titles(view)[0] == FIXED_TITLES[0][0]  # type: ignore[union-attr]


async def test_card_details_show_year_runtime_genres_credit_and_a_working_link(
        make_app: Callable[..., ShieldRecApp], demo: DemoServer) -> None:
    app = make_app()
    opened: list[str] = []
    app.opener = opened.append
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        movie = view.cards()[1]  # Arrival: a movie with a runtime
        movie.focus()
        await pilot.press("enter")
        await pilot.pause()
        body = str(movie.query_one(".body", Static).content)
        assert "2016 · 1h 42m · Science Fiction, Drama" in body
        assert "Plot: Wikipedia, CC BY-SA 4.0" in body
        # Saved with the demo platform's old port (8765); it runs elsewhere now: the link follows it.
        assert movie.card.item.url.startswith("http://127.0.0.1:8765/")
        await pilot.press("o")
        assert opened == [f"{demo.url}/v1/items/fixed-2"]
        assert f"{demo.url}/v1/items/fixed-2" in body


async def test_the_profile_screen_says_what_the_memory_holds_after_feedback(
        make_app: Callable[..., ShieldRecApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        view = await show_fixed(pilot)
        # The report's evening: a like, two dislikes, a not-now and a topic block.
        for key in ("l", "d", "d", "n"):
            view.cards()[0].focus()
            await pilot.press(key)
            await pilot.pause()
        view.cards()[0].focus()
        await pilot.press("t")  # several topics on the card: pick one
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        if isinstance(app.screen, Ask):
            await pilot.press("enter")
            await pilot.pause()
        await pilot.press("f3")
        await settle(pilot)
        head = str(app.screen.query_one("#profile-head", Static).content)
        assert "Nothing learned" not in head and "No feedback yet" not in head
        # maya.toml's own history (2 liked, 1 rated, 1 finished, 1 disliked) plus this evening's.
        assert "Your feedback so far: liked 3, disliked 3, rated 1, finished 1, not now 1, 2 blocks." in head
        assert "Noticed, not yet a belief:" in head and "(liked 1, disliked 1)" in head
        from textual.widgets import DataTable

        beliefs = [str(app.screen.query_one("#prefs", DataTable).get_row_at(i)[0])
                   for i in range(app.screen.query_one("#prefs", DataTable).row_count)]
        assert any(b.startswith("blocks topic '") for b in beliefs)  # says it is a topic


async def test_deleting_a_history_row_asks_first_and_can_be_undone(make_app: Callable[..., ShieldRecApp],
                                                                    store: Store, maya: Profile) -> None:
    from textual.widgets import DataTable

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await pilot.pause()
        history = app.screen.query_one("#history", DataTable)
        history.focus()
        history.move_cursor(row=0)
        newest = store.history(maya)[-1]
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, Ask) and newest.item.title in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert len(store.history(maya)) == 5  # Esc: nothing deleted
        await pilot.press("x", "enter")
        await pilot.pause()
        assert len(store.history(maya)) == 4 and newest.item.title not in [e.item.title for e in store.history(maya)]
        await pilot.press("ctrl+z")
        await pilot.pause()
        back = store.history(maya)
        assert len(back) == 5 and back[-1].item.title == newest.item.title and back[-1].at == newest.at


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_demo_platform_keeps_its_port_so_links_in_saved_conversations_work(
        store: Store, maya: Profile, settings: Settings, embedder: Embedder) -> None:
    import socket

    import httpx

    settings.tui.demo_port = free_port()

    def start() -> ShieldRecApp:
        return ShieldRecApp("maya", store=store, settings=settings, embedder=embedder, opener=lambda url: None)

    app = start()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.demo is not None and app.demo.port == settings.tui.demo_port
        view = await ask(pilot, "space adventure")
        link = view.cards()[0].card.item.url
        assert link.startswith(f"http://127.0.0.1:{settings.tui.demo_port}/v1/items/")
    again = start()
    async with again.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert again.demo is not None and again.demo.port == settings.tui.demo_port  # the same address
        [turn] = again.session.resume()  # type: ignore[union-attr]
        async with httpx.AsyncClient(timeout=60) as client:  # the server shares a busy CPU with the app
            assert (await client.get(again.resolve_link(turn.visible[0].item))).status_code == 200
    with socket.socket() as taken:  # something else listens on the port now
        # A kept-alive connection the last app's server accepted may still be open on this port:
        # only a socket with SO_REUSEADDR (as the demo platform's own server has) can bind it then.
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", settings.tui.demo_port))
        taken.listen()
        moved = start()
        async with moved.run_test(size=SIZE, notifications=True) as pilot:
            await ready(pilot)
            assert moved.demo is not None and moved.demo.port != settings.tui.demo_port
            from textual.widgets._toast import Toast

            await wait_for(pilot, lambda: any("is taken" in str(t.render()) for t in moved.screen.query(Toast)),
                           what="the notice that the demo platform moved")
            [turn] = moved.session.resume()  # type: ignore[union-attr]
            item = turn.visible[0].item
            assert item.url == link or item.url.startswith(f"http://127.0.0.1:{settings.tui.demo_port}/")
            fixed = moved.resolve_link(item)
            assert fixed.startswith(f"{moved.demo.url}/v1/items/")
            async with httpx.AsyncClient() as client:
                assert (await client.get(fixed)).status_code == 200


def test_only_the_demo_platforms_own_item_links_are_pointed_at_its_new_address() -> None:
    from shieldrec.platforms.demo import relink

    base = "http://127.0.0.1:40001"
    assert relink("http://127.0.0.1:8765/v1/items/movie-1", base) == f"{base}/v1/items/movie-1"
    assert relink("http://localhost:9/v1/items/book-2", base) == f"{base}/v1/items/book-2"
    for other in ("https://example.org/v1/items/x", "http://127.0.0.1:8765/elsewhere", "javascript:alert(1)", ""):
        assert relink(other, base) == other
