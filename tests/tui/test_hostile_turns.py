"""The demo platform's own hostile items, in real chat turns: maya asks the agent, the agent asks
the real demo platform on 127.0.0.1 (which slips one hostile item onto every page, with
invented rating counts), and ranks with the real embedding model. No hostile item may come
first, or above any honest item, whatever was asked."""

from __future__ import annotations

import pytest

from shieldrec.agent import AgentSession
from shieldrec.platforms import ensure_demo_platform
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder
from shieldrec.ranking.labels import CAUGHT
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store

REQUESTS = [
    "a sci-fi movie for tonight",
    "no horror, nothing violent, under 2 hours",
    "something like Arrival but lighter",
    "only books",
    "something hopeful, no horror",
    "a book about robots",
    "animated films about space for the weekend",
    "a cosy mystery",
]


def _hostile(item_id: str) -> bool:
    return "-h" in item_id  # the demo catalogue's hostile entries: movie-h1..h5, book-h1, book-h2


async def test_hostile_items_never_place_above_an_honest_one(store: Store, maya: Profile, settings: Settings,
                                                             embedder: Embedder, demo: DemoServer) -> None:
    ensure_demo_platform(store, maya, demo)
    session = AgentSession(store, maya, settings, embedder=embedder)
    met: set[str] = set()
    for text in REQUESTS:
        turn = await session.ask(text)
        ids = [c.item.item_id for c in turn.cards]
        hostile = [n for n, i in enumerate(ids) if _hostile(i)]
        honest = [n for n, i in enumerate(ids) if not _hostile(i)]
        met.update(ids[n] for n in hostile)
        assert ids and not _hostile(ids[0]), (text, ids[:3])
        if hostile and honest:
            assert min(hostile) > max(honest), (text, [(n, ids[n]) for n in hostile], len(ids))
        for n in hostile:
            card = turn.cards[n]
            assert CAUGHT & set(card.labels), (text, card.item.item_id, card.labels)
            # Its claimed 150,000 ratings bought nothing: an item caught has no counts at all.
            assert not card.components.get("popularity"), (text, card.item.item_id, card.components)
    # The platform rotates its hostile slot: the turns met most of its hostile items.
    assert len(met) >= 4, met


async def test_a_caught_platform_s_counts_weigh_less_in_later_turns(store: Store, maya: Profile, settings: Settings,
                                                                    embedder: Embedder, demo: DemoServer) -> None:
    ensure_demo_platform(store, maya, demo)
    session = AgentSession(store, maya, settings, embedder=embedder)
    first = await session.ask("a sci-fi movie for tonight")
    record = session.platform_record
    assert record is not None and record.caught("demo-movies") >= 1
    assert record.trust("demo-movies") < 1.0
    # The same question again: the record holds both answers, and a second catch weighs on.
    await session.ask("a sci-fi movie for tonight")
    after = session.platform_record
    assert after is not None and after.tally["demo-movies"][0] > record.tally["demo-movies"][0]
    assert after.caught("demo-movies") >= record.caught("demo-movies")


@pytest.mark.parametrize("text", ["a sci-fi movie for tonight"])
async def test_the_issue_s_first_pick_is_honest(store: Store, maya: Profile, settings: Settings, embedder: Embedder,
                                                demo: DemoServer, text: str) -> None:
    ensure_demo_platform(store, maya, demo)
    session = AgentSession(store, maya, settings, embedder=embedder)
    turn = await session.ask(text)
    first = turn.cards[0]
    assert not CAUGHT & set(first.labels) and not _hostile(first.item.item_id)
    assert "The Kind Astronaut" not in first.item.title and "Moonlight Garden" not in first.item.title
