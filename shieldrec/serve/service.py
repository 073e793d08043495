"""What stands behind the routes: the store, the profile, the models, loaded once.

Everything that touches the store or ranks runs on one worker thread (`run`): the event
loop never waits for either, and the store's connection is never used by two threads at
once. The profile is read once and read again only when it changed (feedback through the
service, or any other program's write, which SQLite's data_version reveals).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from shieldrec import __version__
from shieldrec.agent import feedback as fb
from shieldrec.batch import Requests, build_ranker, result_row, settle, with_profile
from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking import facts
from shieldrec.ranking.types import RankRequest, RankResult
from shieldrec.sanitize import clean_text
from shieldrec.serve.calls import CallLog
from shieldrec.settings import Settings
from shieldrec.store import Profile, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

ACTIONS = ("like", "dislike", "not_now", "block")
ITEMS_REMEMBERED = 20_000  # checked items kept between calls (feeds repeat); bounds the memory they take


class TooLarge(ShieldRecError):
    """A request within the byte cap that still asks for too much work."""


class Unavailable(ShieldRecError):
    """The models could not load: nothing can be ranked until the service is restarted."""


class NoProfile(ShieldRecError):
    """Feedback needs a profile to write to."""


class Service:
    def __init__(self, store: Store, profile: Profile | None, settings: Settings, *, with_llm: bool = False) -> None:
        self.store = store
        self.profile = profile
        self.settings = settings
        self.with_llm = with_llm
        self.version = __version__
        self.calls = CallLog(store, profile.id if profile else None)
        self.model_state = "loading"
        self.llm_note = "off"
        self._ranker: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shieldrec-serve")
        self._requests = Requests(ITEMS_REMEMBERED)  # used on the worker thread only
        self._profile_parts: tuple[list[HistoryEvent], list[Preference]] | None = None
        self._seen_version: int | None = None
        self._learner: Any = None  # learning from feedback, on its own thread

    # -- threads ----------------------------------------------------------------------------

    def start(self) -> Future[None]:
        """Load the models on the worker thread; calls that arrive meanwhile wait their turn."""
        return self._executor.submit(self._load)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the worker thread, awaited without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        """Finish what was accepted (queued work, the call log), then let go of the thread."""
        self._executor.submit(self.calls.flush)
        self._executor.shutdown(wait=True)
        if self._learner is not None:
            self._learner.wait(timeout=30)  # an update in progress writes whole or not at all

    # -- on the worker thread ---------------------------------------------------------------

    def _load(self) -> None:
        try:
            owner = self.profile.id if self.profile is not None else None
            ranker, note = build_ranker(self.settings, self.store, with_llm=self.with_llm, owner=owner)
            ranker.embedder.load()
        except ShieldRecError as exc:
            self.model_state = f"failed: {exc}"
            log.error("the models could not load: %s", exc)
            return
        self._ranker = ranker
        self.llm_note = note or "off"
        self.model_state = "ready"

    def _ranker_ready(self) -> Any:
        if self._ranker is None:
            raise Unavailable(f"the models are not available ({self.model_state}); restart the service")
        return self._ranker

    def _profile_now(self) -> tuple[list[HistoryEvent], list[Preference]]:
        if self.profile is None:
            return [], []
        version = self.store.db.execute("PRAGMA data_version").fetchone()[0]
        if self._profile_parts is None or version != self._seen_version:
            self._profile_parts = (self.store.history(self.profile), self.store.preferences(self.profile))
            if self._seen_version is not None and getattr(self._ranker, "personal", None) is not None:
                self._ranker.personal.reload()  # another program may have learned meanwhile
            self._seen_version = version
        return self._profile_parts

    def rank(self, request: RankRequest, top: int | None = None) -> RankResult:
        """One request with the profile applied, every candidate accounted for."""
        ranker = self._ranker_ready()
        history, preferences = self._profile_now()
        request = with_profile(request, history, preferences)
        if not request.candidates:
            return RankResult(request_id=request.request_id, ranking=[], removed=[])
        return settle(request, ranker.rank_many([request])[0], top)

    def rerank(self, raw: Any, top: int | None = None) -> dict[str, Any]:
        """One request of the `shieldrec rerank` contract -> its result row."""
        self.check_counts(raw)
        return result_row(self.rank(self._requests.parse(raw), top))

    def check_counts(self, raw: Any) -> None:
        cap = self.settings.serve.max_items
        if isinstance(raw, dict):
            for key in ("candidates", "history", "items"):
                value = raw.get(key)
                if isinstance(value, list) and len(value) > cap:
                    raise TooLarge(f"'{key}' holds {len(value):,} entries; at most {cap:,} per request")

    def feedback(self, raw: Any) -> dict[str, Any]:
        """like / dislike / not_now / block, with the effects of the app's keys."""
        if self.profile is None:
            raise NoProfile("the service runs without a profile: start it with --profile NAME to record feedback")
        if not isinstance(raw, dict):
            raise InvalidInput("feedback must be a JSON object")
        action = raw.get("action")
        if action not in ACTIONS:
            raise InvalidInput(f"'action' must be one of {', '.join(ACTIONS)}")
        instruction = raw.get("instruction")
        if instruction is not None and not isinstance(instruction, str):
            raise InvalidInput("'instruction' must be a string")
        item = None
        if raw.get("item") is not None or action != "block":
            try:
                item = Item.from_untrusted(raw.get("item"))
            except InvalidInput as exc:
                raise InvalidInput(f"'item': {exc}") from None
        if action == "block":
            target = raw.get("target", "creator")
            token = fb.record_block(self.store, self.profile, *self._block_value(target, raw.get("value"), item), item)
        else:
            assert item is not None
            token = fb.record_event(self.store, self.profile, item, action, clean_text(instruction, 1000))
        self._profile_parts = None  # our own write does not move data_version
        if token.event_id is not None:
            self.learner.schedule(self.profile)
        return {
            "action": token.action,
            "summary": token.summary(),
            "event_id": token.event_id,
            "preference_id": token.preference_id,
            "learned": [c.describe() for c in token.learned],
        }

    @staticmethod
    def _block_value(target: Any, value: Any, item: Item | None) -> tuple[str, str]:
        """What the app's block keys would block: the value named, or the item's only one."""
        if target not in fb.BLOCK_TARGETS:
            raise InvalidInput(f"'target' must be one of {', '.join(fb.BLOCK_TARGETS)}")
        if value is not None:
            if not isinstance(value, str):
                raise InvalidInput("'value' must be a string")
            return target, value
        if item is None:
            raise InvalidInput("a block needs the 'item' it comes from, or the 'value' to block")
        if target == "creator":
            values = [item.creator] if item.creator else []
        elif target == "topic":
            values = list(facts.genres(item))
        elif target == "source":
            values = list(dict.fromkeys([*item.platforms, *([item.source] if item.source else [])]))
        else:
            values = [item.item_id]
        if len(values) != 1:
            named = f": name one in 'value' ({', '.join(values)})" if values else ""
            raise InvalidInput(f"item {item.item_id!r} names {len(values) or 'no'} {target}s to block{named}")
        return target, values[0]

    @property
    def learner(self) -> Any:
        """The background learner: an update after each piece of feedback, then the ranker
        takes in what it learned."""
        if self._learner is None:
            from shieldrec.learning.worker import Learner

            self._learner = Learner(self.store, self._embedder, self.settings, on_done=self._learned)
        return self._learner

    def _embedder(self) -> Any:
        if self._ranker is not None:
            return self._ranker.embedder
        from shieldrec.ranking import Embedder

        owner = self.profile.id if self.profile is not None else None
        return Embedder(cache=self.store.embeddings.owned_by(owner), device=self.settings.embedding_device)

    def _learned(self, profile: Profile, report: Any, error: str) -> None:
        learned = getattr(self._ranker, "personal", None)
        if report is not None and learned is not None:
            learned.reload()

    # -- anywhere -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        status = {"ready": "ok", "loading": "loading"}.get(self.model_state, "unavailable")
        return {
            "status": status,
            "version": self.version,
            "profile": self.profile.name if self.profile else None,
            "models": {"embedding": self.model_state, "language_model": self.llm_note},
        }
