"""The agent session: one user, one profile, one conversation at a time, no UI.

    session = AgentSession(store, profile, settings)
    turn = await session.ask("something hopeful, no horror", on_status=show)
    token = session.like(turn.visible[0].item)
    session.undo()

`ask` reads the message against the conversation so far, asks the platforms for
candidates (public words only), re-ranks them locally with the profile, and saves both
messages with the ranked cards so the conversation can be resumed. Feedback is written
to the profile at once and teaches the dynamic memory; every action can be undone.
Heavy parts (torch, the embedding model) load on first use, off the caller's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from shieldrec.agent import feedback as fb
from shieldrec.agent.feedback import Feedback, NothingToUndo
from shieldrec.agent.followup import Reading, resolve
from shieldrec.agent.shield import apply_profile, prefilter
from shieldrec.agent.threads import in_thread
from shieldrec.agent.turn import Card, Dropped, Turn, turns_from_messages
from shieldrec.errors import InvalidInput, LlmUnavailable
from shieldrec.intent import Intent
from shieldrec.items import Item, Preference
from shieldrec.sanitize import clean_text
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store
from shieldrec.store.conversations import Conversation, Message
from shieldrec.store.db import tx
from shieldrec.store.learned import Impression

if TYPE_CHECKING:
    from shieldrec.learning.personalize import Personal
    from shieldrec.learning.update import Report
    from shieldrec.learning.worker import Learner
    from shieldrec.platforms import Query
    from shieldrec.ranking import Embedder, Pipeline, Ranked, RankRequest, RankResult, Scorer, Signal
    from shieldrec.ranking.types import Check
    from shieldrec.ranking.pipeline import Reorder
    from shieldrec.ranking.trust import PlatformRecord

log = logging.getLogger(__name__)

StatusCallback = Callable[[str, str], None]  # (platform name or "ranking", state in words)
IntentParser = Callable[[str], "Intent | None"]

CANDIDATES = 30  # asked of each platform
SHOWN = 10  # cards per answer
REFINE_TOP = 20  # of the first answer re-ranked by the language model
RANKING = "ranking"


def _notify(on_status: StatusCallback | None, source: str, state: str) -> None:
    if on_status is None:
        return
    try:
        on_status(source, state)
    except Exception:  # noqa: BLE001 - a display callback must never break a search
        log.debug("status callback failed", exc_info=True)


def _cards(ranking: Sequence[Ranked]) -> list[Card]:
    """Every ranked candidate becomes a card: the first page shows, the rest wait for "show more"."""
    return [Card(rank=n, item=r.item, score=r.score, reasons=r.reasons, labels=r.labels, components=r.components)
            for n, r in enumerate(ranking, 1)]


class HeadOnly:
    """A scorer that reads only the items named in `head`; the rest get its neutral 0."""

    def __init__(self, scorer: Scorer, head: frozenset[str]) -> None:
        self.scorer = scorer
        self.head = head
        from shieldrec.ranking.fusion import scorer_name

        self.name = scorer_name(scorer)

    def score(self, request: RankRequest, items: list[Item]) -> list[Signal]:
        from shieldrec.ranking import Signal

        chosen = [i for i, item in enumerate(items) if item.item_id in self.head]
        got = list(self.scorer.score(request, [items[i] for i in chosen]))
        if len(got) != len(chosen):  # the pipeline drops this scorer, as it would the bare one
            raise ValueError(f"{self.name} returned {len(got)} signals for {len(chosen)} items")
        out = [Signal(0.0) for _ in items]
        for i, signal in zip(chosen, got):
            out[i] = signal
        return out


class AgentSession:
    def __init__(
        self,
        store: Store,
        profile: Profile,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        scorers: Sequence[Scorer] = (),
        reorder: Reorder | None = None,
        explain: Reorder | None = None,
        intent_parser: IntentParser | None = None,
        candidates: int = CANDIDATES,
        shown: int = SHOWN,
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.profile = profile
        self.settings = settings
        self._embedder = embedder
        self.scorers = list(scorers)
        self.reorder = reorder  # the language model's listwise re-ranking, when it has one
        self.explain = explain  # its grounded sentences for the shown cards, when it can write
        self.intent_parser = intent_parser
        # How often the language model's process has stopped so far: a refine it did not
        # live through leaves the answer as it was instead of calling it re-ranked.
        self.model_stops: Callable[[], int] | None = None
        self.candidates = candidates
        self.shown = shown
        self.timeout = timeout
        # With a language model, answer at once without it, then re-rank the head of that
        # answer with it (`refine`): on a small CPU it costs about half a second a candidate.
        self.progressive = True
        self.refine_top = REFINE_TOP
        # agent message id -> (the request to re-rank, the ids of its head the model scores)
        self._unrefined: dict[int, tuple[RankRequest, frozenset[str]]] = {}
        self.turns: list[Turn] = []
        # What each platform was caught at so far: its public counts are weighed by it.
        self.platform_record: PlatformRecord | None = None
        self.conversation_id: int | None = None
        self._undo: list[Feedback] = []
        self.model_ready = False
        # With [privacy] query_review = "ask": shows the planned query to the user and returns
        # what they chose to send (`planning.edited_query`), or None to send nothing.
        self.review_query: Callable[[Query], Awaitable[Query | None]] | None = None
        # Learning from feedback runs on the learner's own thread; `on_learned` hears when an
        # update is done (on that thread: a UI hands it over to its own).
        self._learner: Learner | None = None
        self._personal: Personal | None = None
        self.on_learned: Callable[[Report | None, str], None] | None = None

    # -- models ---------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from shieldrec.ranking import Embedder

            # Every vector this profile's requests use is marked as its own, for `forget`.
            self._embedder = Embedder(cache=self.store.embeddings.owned_by(self.profile.id),
                                      device=self.settings.embedding_device)
        return self._embedder

    @property
    def learner(self) -> Learner:
        if self._learner is None:
            from shieldrec.learning.worker import Learner

            self._learner = Learner(self.store, lambda: self.embedder, self.settings, on_done=self._learned)
        return self._learner

    @property
    def personal(self) -> Personal:
        """What the profile learned, as the rankings use it (read again after each update)."""
        if self._personal is None:
            from shieldrec.learning.personalize import Personal

            self._personal = Personal(self.store, self.profile.id, self.embedder)
        return self._personal

    def _learned(self, profile: Profile, report: Report | None, error: str) -> None:
        if report is not None:
            self.personal.reload()
        if self.on_learned is not None:
            self.on_learned(report, error)

    def warm_up(self) -> None:
        """Load the embedding model now (blocking: call it from a worker thread)."""
        from shieldrec.platforms.public_words import warm

        self.embedder.load()
        warm()  # the word lists that decide what may be sent
        self.model_ready = True

    # -- asking ---------------------------------------------------------------------------

    def read(self, text: str, *, focused: str | None = None) -> Reading:
        """How `text` would be understood now (a follow-up or a new request), without searching."""
        from shieldrec.ranking.constraints import parse_instruction

        reading = resolve(text, self.turns[-1] if self.turns else None, parse_instruction, focused=focused)
        if self.intent_parser is not None and reading.kind == "new":
            try:
                extra = self.intent_parser(reading.instruction)
            except Exception as exc:  # noqa: BLE001 - the rule parser's reading stands alone
                log.warning("the language model could not read the request: %s", exc)
                extra = None
            if extra is not None:
                reading.intent = reading.intent.merge(extra)
        return reading

    async def ask(self, text: str, on_status: StatusCallback | None = None, *, focused: str | None = None) -> Turn:
        from shieldrec.platforms import fan_out, plan_query
        from shieldrec.platforms.planning import reviewed
        from shieldrec.ranking import Pipeline, RankRequest
        from shieldrec.ranking.types import constraint_notes

        text = clean_text(text, 1000)
        if not text:
            raise InvalidInput("type what you would like, in your own words")
        if self.intent_parser is not None:  # a language model reads it too: seconds, so off this thread
            _notify(on_status, RANKING, "reading your request")
            reading = await in_thread(self.read, text, focused=focused)
        else:
            reading = self.read(text, focused=focused)
        query = plan_query(reading.instruction, reading.intent, limit=self.candidates, vocabulary=self.catalogue())
        query = await reviewed(query, self.settings.privacy.query_review, self.review_query)
        fan = await fan_out(self.store, self.profile, query, timeout=self.timeout, on_status=on_status)

        history = self.store.history(self.profile)
        preferences = self.store.preferences(self.profile)
        checks: list[Check] = []
        candidates, dropped = prefilter(fan.items, reading.intent, history, anchor=reading.anchor, checks=checks)
        request = RankRequest(
            candidates=candidates, instruction=reading.instruction, history=history, preferences=preferences,
            request_id=f"{self.conversation_id or 0}-{len(self.turns) + 1}", intent=reading.intent,
            platform_record=self.platform_record,
        )
        later = self.progressive and self.has_language_model
        pipeline = self.personal.attach(Pipeline(self.settings.ranking, self.embedder,
                                                 scorers=[] if later else list(self.scorers),
                                                 reorder=None if later else self.reorder))
        _notify(on_status, RANKING, f"ranking {len(candidates)} candidates")
        result = await in_thread(self._rank, pipeline, request, not later)
        self.platform_record = result.record or self.platform_record
        self.model_ready = True
        _notify(on_status, RANKING, "done")

        turn = Turn(
            text=text,
            instruction=reading.instruction,
            intent=reading.intent,
            cards=_cards(result.ranking),
            removed=[Dropped(item, reason) for item, reason in dropped]
            + [Dropped(r.item, r.reason) for r in result.removed],
            errors=dict(fan.errors),
            counts=dict(fan.counts),
            sent=query.text,
            note=reading.note,
            page=self.shown,
            notes=constraint_notes([*checks, *result.checks]),
            anchor=reading.anchor,
        )
        self._save(turn)
        if result.ranking:  # what the user is shown: items passed over above a liked one teach a little
            self.store.learned.add_impression(self.profile.id, Impression(
                [r.item for r in result.ranking[: self.shown]], reading.instruction, turn.at))
        self.turns.append(turn)
        if later and turn.cards and turn.message_id is not None:
            head = frozenset(r.item.item_id for r in result.ranking[: max(self.refine_top, self.shown)])
            self._unrefined[turn.message_id] = (request, head)
        return turn

    def catalogue(self) -> frozenset[str]:
        """Words the platforms themselves sent in this conversation (titles, creators, genres):
        public, so a follow-up may name them ("more like Vellichor Quandary")."""
        from shieldrec.platforms.public_words import catalogue_words
        from shieldrec.ranking.facts import genres

        items = [c.item for t in self.turns for c in t.cards] + [d.item for t in self.turns for d in t.removed]
        return catalogue_words([text for item in items for text in (item.title, item.creator, *genres(item))])

    @property
    def has_language_model(self) -> bool:
        return bool(self.scorers) or self.reorder is not None or self.explain is not None

    def _rank(self, pipeline: Pipeline, request: RankRequest, explain: bool) -> RankResult:
        """Rank (blocking); with `explain`, the shown cards get the language model's sentences."""
        result = pipeline.rank(request)
        if explain and self.explain is not None and result.ranking:
            try:
                head = self.explain(request, result.ranking[: self.shown])
                result = replace(result, ranking=[*head, *result.ranking[self.shown:]])
            except Exception as exc:  # noqa: BLE001 - the deterministic reasons stand
                log.warning("explanations skipped: %s", exc)
        return result

    def can_refine(self, turn: Turn) -> bool:
        return turn.message_id in self._unrefined and self.has_language_model

    async def refine(self, turn: Turn, on_status: StatusCallback | None = None) -> Turn:
        """Re-rank an answer with the language model; the saved conversation gets the new order."""
        from shieldrec.ranking import Pipeline

        if turn.message_id is None or turn.message_id not in self._unrefined:
            return turn
        request, head = self._unrefined[turn.message_id]
        # Every candidate is ranked again, so the other signals keep their scale; the slow
        # scorers read only the head and leave the tail at their neutral 0.
        scorers = [HeadOnly(s, head) for s in self.scorers]
        pipeline = self.personal.attach(Pipeline(self.settings.ranking, self.embedder, scorers=scorers,
                                                 reorder=self.reorder))
        _notify(on_status, RANKING, "re-ranking with the language model")
        stops = self.model_stops() if self.model_stops is not None else 0
        result = await in_thread(self._rank, pipeline, request, True)
        _notify(on_status, RANKING, "done")
        if self.model_stops is not None and self.model_stops() != stops:
            raise LlmUnavailable("the language model stopped while re-ranking it")
        self._unrefined.pop(turn.message_id, None)
        turn.cards = _cards(result.ranking)
        turn.refined = True
        assert self.conversation_id is not None
        turn.message_id = self.store.conversations.add(self.conversation_id, Message(
            role="agent", content="Re-ranked with the language model.",
            payload={**turn.to_payload(), "replaces": turn.message_id}))
        self.refresh()
        return turn

    def _save(self, turn: Turn) -> None:
        """Both messages, in one transaction: a conversation never holds a question without its answer."""
        with tx(self.store.db):
            if self.conversation_id is None:
                self.conversation_id = self.store.conversations.start(self.profile.id)
            self.store.conversations.add(self.conversation_id, Message(
                role="user", content=turn.text, payload={"instruction": turn.instruction}, at=turn.at))
            reply = " ".join([turn.summary(), *([turn.note] if turn.note else []), *turn.notes])
            turn.message_id = self.store.conversations.add(self.conversation_id, Message(
                role="agent", content=reply, payload=turn.to_payload(), at=turn.at))

    # -- conversations --------------------------------------------------------------------

    def conversations(self) -> list[Conversation]:
        return self.store.conversations.list(self.profile.id)

    def new_conversation(self) -> None:
        self.turns = []
        self.conversation_id = None

    def resume(self, conversation_id: int | None = None) -> list[Turn]:
        """Load a saved conversation (the latest by default); its turns show as they were ranked."""
        if conversation_id is None:
            latest = self.store.conversations.latest(self.profile.id)
            if latest is None:
                raise InvalidInput("there is no saved conversation to resume")
            conversation_id = latest.id
        if conversation_id not in {c.id for c in self.conversations()}:
            raise InvalidInput(f"no conversation #{conversation_id} in profile {self.profile.name!r}")
        turns = turns_from_messages(self.store.conversations.messages(conversation_id))
        self.turns = turns
        self.conversation_id = conversation_id
        self.refresh()
        return turns

    # -- feedback -------------------------------------------------------------------------

    def _instruction_for(self, item: Item) -> str:
        for turn in reversed(self.turns):
            if turn.card(item.item_id) is not None:
                return turn.instruction
        return ""

    def _done(self, token: Feedback) -> Feedback:
        if token.wrote:
            self._undo.append(token)
            if token.event_id is not None:
                self.learner.schedule(self.profile)
        self.refresh()
        return token

    def like(self, item: Item) -> Feedback:
        return self._done(fb.record_event(self.store, self.profile, item, "like", self._instruction_for(item)))

    def dislike(self, item: Item) -> Feedback:
        return self._done(fb.record_event(self.store, self.profile, item, "dislike", self._instruction_for(item)))

    def not_now(self, item: Item) -> Feedback:
        return self._done(fb.record_event(self.store, self.profile, item, "not_now", self._instruction_for(item)))

    def rate(self, item: Item, stars: int) -> Feedback:
        """1-5 stars: 4 and 5 count as liking it, 1 and 2 as disliking it, 3 as neither."""
        return self._done(fb.record_event(self.store, self.profile, item, "rate", self._instruction_for(item),
                                          rating=stars))

    def later(self, item: Item) -> Feedback:
        """Keep the item on the watch list (or take it off again)."""
        return self._done(fb.toggle_later(self.store, self.profile, item, self._instruction_for(item)))

    def dispute(self, item: Item, reason: str) -> Feedback:
        """"This reason is wrong": remembered, and marked wherever the reason shows again."""
        return self._done(fb.record_dispute(self.store, self.profile, item, reason, self._instruction_for(item)))

    def block(self, target: str, value: str, item: Item | None = None) -> Feedback:
        return self._done(fb.record_block(self.store, self.profile, target, value, item))

    def block_impact(self, target: str, value: str) -> list[Card]:
        """The cards on screen now that blocking `target` `value` would take out."""
        from shieldrec.agent.shield import blocked_by

        visible = [c for turn in self.turns for c in turn.visible]
        return blocked_by(visible, Preference(kind="block", target=target, value=value))

    def why_not(self, text: str) -> str | None:
        """The answer to "why not X?" about the last answer; None when `text` asks something else."""
        from shieldrec.agent import whynot

        wanted = whynot.asked_about(text)
        if not wanted:
            return None
        if not self.turns:
            return f"There is no answer yet to look for “{wanted}” in: ask for something first."
        return whynot.explain(self.turns[-1], wanted)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self, token: Feedback | None = None) -> Feedback:
        """Revert the last action (or `token`) in the profile and on the turns shown."""
        if token is None:
            if not self._undo:
                raise NothingToUndo("nothing to undo")
            token = self._undo[-1]
        fb.undo(self.store, self.profile, token)
        if token in self._undo:
            self._undo.remove(token)
        if token.event_id is not None:
            self.learner.schedule(self.profile)
        self.refresh()
        return token

    def refresh(self) -> None:
        """Re-apply the profile as it is now to every turn shown (blocks, feedback, undos)."""
        if not self.turns:
            return
        prefs = self.store.preferences(self.profile)
        history = self.store.history_since(self.profile, min(turn.at for turn in self.turns))
        for turn in self.turns:
            apply_profile(turn, prefs, history)
