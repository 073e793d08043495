"""The agent session against the real demo platform and the real embedding model: asking,
follow-ups, feedback that writes to the profile at once, undo, learned memory, resuming."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from shieldrec.agent import AgentSession, NothingToUndo
from shieldrec.agent.shield import item_kind
from shieldrec.items import HistoryEvent, Item
from shieldrec.platforms import ensure_demo_platform
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder, Signal
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.store.conversations import Message


@pytest.fixture
def session(store: Store, maya: Profile, settings: Settings, embedder: Embedder, demo: DemoServer) -> AgentSession:
    ensure_demo_platform(store, maya, demo)
    return AgentSession(store, maya, settings, embedder=embedder)


def fresh(store: Store) -> Store:
    """The same database through a second connection: what a restart would see."""
    return Store(store.path)


async def test_a_request_is_ranked_saved_and_can_be_resumed(session: AgentSession, store: Store,
                                                            demo: DemoServer) -> None:
    statuses: list[tuple[str, str]] = []
    turn = await session.ask("something hopeful, no horror", on_status=lambda s, t: statuses.append((s, t)))
    # Every candidate that was not removed is ranked and kept; the first ten show.
    assert len(turn.visible) == 10 and turn.counts == {"demo-movies": 30, "demo-books": 30}
    assert len(turn.cards) + len(turn.removed) == 60 and turn.remaining == len(turn.cards) - 10
    assert turn.summary().startswith(f"10 of {len(turn.cards)} picks from demo-books, demo-movies")
    assert ("demo-movies", "pending") in statuses and ("demo-books", "done") in statuses
    assert statuses[-1] == ("ranking", "done")
    # The app's status line says which model loads; the session only says what it ranks.
    [ranking] = [t for who, t in statuses if who == "ranking" and t != "done"]
    assert re.fullmatch(r"ranking \d+ candidates", ranking), ranking
    # The shield kept things out, each with its reason: horror, maya's blocked author.
    reasons = [d.reason for d in turn.removed]
    assert any("horror" in r.lower() for r in reasons)
    assert all(c.reasons for c in turn.cards)
    # Only public words reached the platform.
    assert {e["query"]["q"] for e in demo.request_log if e["path"] == "/v1/recommend"} == {"hopeful"}

    other = fresh(store)
    resumed = AgentSession(other, session.profile, session.settings, embedder=session.embedder)
    [again] = resumed.resume()
    assert [c.item.item_id for c in again.cards] == [c.item.item_id for c in turn.cards]
    assert [c.reasons for c in again.cards] == [c.reasons for c in turn.cards]
    assert again.text == "something hopeful, no horror" and len(again.removed) == len(turn.removed)
    other.close()


async def test_follow_ups_use_the_conversation(session: AgentSession) -> None:
    first = await session.ask("something hopeful, no horror")
    second_title = first.visible[1].item.title
    anchored = await session.ask("more like the second one")
    assert second_title in anchored.instruction and second_title in anchored.note
    assert first.visible[1].item.item_id not in [c.item.item_id for c in anchored.cards]
    assert anchored.intent.avoided == ["horror"]

    books = await session.ask("only books")
    assert books.cards and all(item_kind(c.item) == "book" for c in books.cards)
    assert any("you asked for books" in d.reason for d in books.removed)
    assert books.intent.avoided == ["horror"]


async def test_like_is_written_at_once_and_undo_takes_it_back(session: AgentSession, store: Store) -> None:
    turn = await session.ask("space adventure")
    item = turn.visible[0].item
    token = session.like(item)
    assert turn.visible[0].mark == "liked"
    other = fresh(store)
    assert [ev.event for ev in other.history(session.profile) if ev.item.item_id == item.item_id] == ["liked"]
    session.undo()
    assert token.undone and turn.visible[0].mark == ""
    assert not [ev for ev in other.history(session.profile) if ev.item.item_id == item.item_id]
    other.close()
    with pytest.raises(NothingToUndo):
        session.undo()


async def test_blocking_a_creator_hides_their_items_now_and_in_the_next_answer(session: AgentSession) -> None:
    turn = await session.ask("only books about hope")
    author = next(c.item.creator for c in turn.visible if c.item.creator)
    shown_before = [c for c in turn.visible if c.item.creator == author]
    session.block("creator", author)
    assert all(c.hidden.startswith(f"removed: blocked creator '{author}'") for c in shown_before)
    assert author not in [c.item.creator for c in turn.visible]
    assert any(d.item.creator == author for d in turn.withheld)

    later = await session.ask("books about hope")
    assert author not in [c.item.creator for c in later.cards]
    session.undo()
    assert [c for c in turn.visible if c.item.creator == author] == shown_before


async def test_not_now_hides_the_item_from_later_answers(session: AgentSession) -> None:
    turn = await session.ask("space adventure")
    # An organic catalogue pick: the platform sends it again for the same words (its paid slots and
    # hand-placed hostile items, ids like movie-h1, rotate between answers).
    item = next(c.item for c in turn.visible
                if c.item.item_id.split("-")[1].isdigit() and not {"sponsored", "native ad?"} & set(c.labels))
    session.not_now(item)
    assert turn.card(item.item_id).hidden == "removed: you said not now"  # type: ignore[union-attr]
    again = await session.ask("space adventure")
    assert item.item_id not in [c.item.item_id for c in again.cards]
    assert any(d.item.item_id == item.item_id and "not now" in d.reason for d in again.removed)


def movie(n: int, title: str, genres: list[str], creator: str = "") -> Item:
    return Item.from_untrusted({"id": f"m-{n}", "title": title, "creator": creator, "meta": {"genres": genres}})


def test_the_memory_learns_a_recurring_interest_and_says_where_from(session: AgentSession, store: Store) -> None:
    a = movie(1, "Paddington", ["Comedy", "Family Film"])
    b = movie(2, "Hot Fuzz", ["Comedy", "Crime"])
    first = session.like(a)
    assert not [p for p in store.preferences(session.profile) if p.value == "comedy"]  # one like is not a pattern
    second = session.like(b)
    [learned] = [p for p in store.preferences(session.profile) if p.value == "comedy"]
    assert (learned.kind, learned.target, learned.origin) == ("like", "topic", "learned")
    assert "'Hot Fuzz'" in learned.evidence and "'Paddington'" in learned.evidence
    assert any("learned: likes comedy" in line for line in [second.summary()])
    # Maya liked The Iron Giant (a family film) before: Paddington made that a pattern.
    assert [c.preference.value for c in first.learned] == ["family film"]
    assert "'The Iron Giant'" in first.learned[0].preference.evidence
    session.undo()  # the second like: the belief it created goes with it
    assert not [p for p in store.preferences(session.profile) if p.value == "comedy"]


def test_repeated_dislikes_become_a_learned_avoid_and_stated_words_win(session: AgentSession, store: Store) -> None:
    session.dislike(movie(3, "Grim One", ["Slasher", "Thriller"], creator="A. Director"))
    session.dislike(movie(4, "Grim Two", ["Slasher"], creator="A. Director"))
    prefs = store.preferences(session.profile)
    assert {(p.kind, p.target, p.value) for p in prefs if p.origin == "learned"} == {
        ("avoid", "topic", "slasher"), ("avoid", "creator", "A. Director")}
    # Maya said "horror" herself: dislikes of horror films never add a learned duplicate.
    session.dislike(movie(5, "Night Terror", ["Horror"]))
    session.dislike(movie(6, "Night Terror 2", ["Horror"]))
    assert not [p for p in store.preferences(session.profile) if p.origin == "learned" and p.value == "horror"]


def test_a_liked_again_item_weakens_a_learned_avoid(session: AgentSession, store: Store) -> None:
    for n in range(3):
        session.dislike(movie(10 + n, f"Musical {n}", ["Musical"]))
    assert [p.value for p in store.preferences(session.profile) if p.kind == "avoid" and p.origin == "learned"] == [
        "musical"]
    session.like(movie(20, "Singin' in the Rain", ["Musical"]))
    session.like(movie(21, "The Sound of Music", ["Musical"]))
    assert not [p for p in store.preferences(session.profile) if p.origin == "learned" and p.value == "musical"]
    session.undo()
    assert [p.value for p in store.preferences(session.profile) if p.kind == "avoid" and p.origin == "learned"] == [
        "musical"]


def test_a_tampered_saved_conversation_is_read_safely(session: AgentSession, store: Store) -> None:
    cid = store.conversations.start(session.profile.id)
    store.conversations.add(cid, Message(role="user", content="hi"))
    store.conversations.add(cid, Message(role="agent", content="?", payload={"version": 1, "cards": [
        {"rank": 1, "item": {"id": "ok-1", "title": "Fine \x1b[31mred\x1b[0m"}, "score": 0.5, "reasons": ["r"]},
        {"rank": "two", "item": {"title": "no id"}},
        "not a card",
        {"rank": 3, "item": {"id": "ok-3", "title": "Also fine"}, "score": "high", "labels": [1, "new to you"]},
    ], "intent": {"wanted": "not a list", "max_minutes": "soon"}}))
    store.conversations.add(cid, Message(role="agent", content="from the future", payload={"version": 99}))
    [turn] = session.resume(cid)
    assert [c.item.title for c in turn.cards] == ["Fine red", "Also fine"]
    assert turn.cards[1].score == 0.0 and turn.cards[1].labels == ["new to you"]
    assert turn.intent.wanted == [] and turn.intent.max_minutes is None


def test_feedback_on_a_resumed_card_is_kept(session: AgentSession, store: Store) -> None:
    arrival = movie(30, "Arrival", ["Science Fiction"])
    cid = store.conversations.start(session.profile.id)
    store.conversations.add(cid, Message(role="user", content="clever aliens"))
    store.conversations.add(cid, Message(role="agent", content="1 pick", payload={
        "version": 1, "instruction": "clever aliens", "cards": [
        {"rank": 1, "item": arrival.to_dict(), "score": 0.8, "reasons": ["matches clever aliens"]}]}))
    # A restart: a new connection and a new session resume the saved conversation.
    other = fresh(store)
    resumed = AgentSession(other, session.profile, session.settings, embedder=session.embedder)
    [turn] = resumed.resume(cid)
    [card] = turn.cards
    assert card.mark == ""
    token = resumed.like(card.item)
    assert token.wrote and card.mark == "liked"  # the resumed card shows the feedback at once
    reader = fresh(store)
    [last] = [e for e in reader.history(session.profile) if e.item.item_id == arrival.item_id]
    assert (last.event, last.item.title, last.item.meta) == ("liked", "Arrival", arrival.meta)
    assert last.instruction == "clever aliens"  # recorded against the request it answered
    resumed.undo()
    assert card.mark == ""
    assert not [e for e in reader.history(session.profile) if e.item.item_id == arrival.item_id]
    reader.close()
    other.close()


class ShortTitlesFirst:
    """A real (if whimsical) scorer plug-in standing in for the slow language model."""

    name = "llm"

    def __init__(self) -> None:
        self.scored: list[str] = []

    def score(self, request: Any, items: list[Item]) -> list[Signal]:
        self.scored += [i.item_id for i in items]
        return [Signal(value=1.0 - min(len(i.title), 60) / 30, reason="short title") for i in items]


async def test_with_a_language_model_the_answer_comes_first_and_is_re_ranked_after(
        session: AgentSession, store: Store) -> None:
    slow = ShortTitlesFirst()
    session.scorers = [slow]
    session.settings.ranking.weights["llm"] = 3.0
    turn = await session.ask("space adventure")
    assert all("llm" not in c.components for c in turn.cards) and session.can_refine(turn)
    assert sum(turn.counts.values()) > session.refine_top and not slow.scored
    first_order = [c.item.item_id for c in turn.cards]
    await session.refine(turn)
    assert all("llm" in c.components for c in turn.visible) and turn.refined
    # Only the head of the first answer waits for the slow model; the tail is ranked as before.
    assert len(slow.scored) == session.refine_top and set(first_order[:session.refine_top]) == set(slow.scored)
    assert sorted(c.item.item_id for c in turn.cards) == sorted(first_order)  # every candidate, still ranked
    assert [c.item.item_id for c in turn.cards] != first_order
    assert not session.can_refine(turn)
    # The saved conversation holds the re-ranked order in place of the first one.
    other = fresh(store)
    [again] = AgentSession(other, session.profile, session.settings, embedder=session.embedder).resume()
    assert [c.item.item_id for c in again.cards] == [c.item.item_id for c in turn.cards] and again.refined
    other.close()


async def test_with_every_platform_off_the_answer_says_so(session: AgentSession, store: Store) -> None:
    for cfg in store.platforms.list(session.profile.id):
        cfg.enabled = False
        store.platforms.save(session.profile.id, cfg)
    turn = await session.ask("space adventure")
    assert turn.cards == [] and turn.summary() == "Nothing to show: no platform is switched on."


async def test_explanations_lead_the_shown_cards_and_a_failing_writer_changes_nothing(
        session: AgentSession) -> None:
    def explain(request: Any, ranking: list[Any]) -> list[Any]:
        return [replace(r, reasons=[f"written for {r.item.title}", *r.reasons]) for r in ranking]

    session.progressive = False
    session.explain = explain
    turn = await session.ask("space adventure")
    head, tail = turn.cards[:session.shown], turn.cards[session.shown:]
    assert tail and not any(r.startswith("written for") for c in tail for r in c.reasons)
    assert all(c.reasons[0] == f"written for {c.item.title}" for c in head)
    assert all(len(c.reasons) > 1 for c in head)  # the deterministic reasons stay after it

    def broken(request: Any, ranking: list[Any]) -> list[Any]:
        raise RuntimeError("the model wrote nonsense")

    session.explain = broken
    again = await session.ask("space adventure")
    assert again.cards and not any(r.startswith("written for") for c in again.cards for r in c.reasons)


# -- what is sent, as the user chose to see it ------------------------------------------------


async def test_ask_mode_shows_the_query_and_sends_what_the_user_chose(session: AgentSession,
                                                                      demo: DemoServer) -> None:
    from shieldrec.platforms.planning import QueryCancelled, edited_query

    session.settings.privacy.query_review = "ask"
    with pytest.raises(QueryCancelled, match="nothing was sent"):  # no way to ask: nothing goes out
        await session.ask("something hopeful for Zorbulonne, no horror")
    assert demo.request_log == []

    shown: list[str] = []

    async def review(query: Any) -> Any:
        shown.append(query.text)
        return None if len(shown) == 1 else edited_query(query, "hopeful robots")

    session.review_query = review
    with pytest.raises(QueryCancelled, match="cancelled"):
        await session.ask("something hopeful for Zorbulonne, no horror")
    assert demo.request_log == []
    turn = await session.ask("something hopeful for Zorbulonne, no horror")
    assert shown == ["hopeful", "hopeful"] and turn.sent == "hopeful robots"
    assert {e["query"]["q"] for e in demo.request_log if e["path"] == "/v1/recommend"} == {"hopeful robots"}


async def test_words_the_platform_sent_may_be_named_in_a_follow_up(session: AgentSession,
                                                                   demo: DemoServer) -> None:
    first = await session.ask("space adventure")
    title = first.visible[0].item.title
    rare = [w for w in title.lower().split() if w.isalpha() and len(w) > 3]
    assert set(rare) <= session.catalogue()
    turn = await session.ask(f"more like {title}")
    assert turn.sent  # its title's words were the platform's own, so they may go back to it
