"""Learning in the background: every feedback path (the terminal app, `shieldrec profile`, the
local service) calls `Learner.schedule` after it writes; the update runs on the learner's own
thread, never on the caller's. Requests that arrive while one runs are folded into one more
run: feedback given in a burst costs two updates, not one per key press.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from shieldrec.errors import ShieldRecError

if TYPE_CHECKING:
    from shieldrec.learning.update import Report
    from shieldrec.ranking import Embedder
    from shieldrec.settings import Settings
    from shieldrec.store import Profile, Store

log = logging.getLogger(__name__)
CACHE_LISTS = 20_000  # replayed lists kept per profile (a few MB)


class Learner:
    """One background thread per process that updates profiles' learned parts."""

    def __init__(self, store: Store, embedder: Callable[[], Embedder], settings: Settings | None = None,
                 on_done: Callable[[Profile, Report | None, str], None] | None = None) -> None:
        self.store = store
        self._embedder = embedder
        self.settings = settings
        self.on_done = on_done  # called on the learner's thread: (profile, report, error text)
        self._lock = threading.Lock()
        self._wanted: dict[str, tuple[Profile, Future[Report | None]]] = {}
        self._thread: threading.Thread | None = None
        self.thread_ident: int | None = None  # the thread updates run on (tests check it is not the UI's)
        self.last: Report | None = None
        self._replayed: dict[str, dict[Any, Any]] = {}  # per profile: lists replayed by earlier updates

    def schedule(self, profile: Profile) -> Future[Report | None]:
        """Ask for an update of `profile`; returns at once. The future settles when an update
        that started after this call has finished."""
        with self._lock:
            if profile.name in self._wanted:
                return self._wanted[profile.name][1]
            future: Future[Report | None] = Future()
            self._wanted[profile.name] = (profile, future)
            if self._thread is None or not self._thread.is_alive():
                # A daemon: quitting never waits for learning; an update cut short wrote nothing.
                self._thread = threading.Thread(target=self._run, name="shieldrec-learner", daemon=True)
                self._thread.start()
            return future

    def wait(self, timeout: float | None = None) -> None:
        """Block until nothing is pending (for a command that exits after its feedback)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        from shieldrec.learning.update import update

        self.thread_ident = threading.get_ident()
        while True:
            with self._lock:
                if not self._wanted:
                    self._thread = None
                    return
                name = next(iter(self._wanted))
                profile, future = self._wanted.pop(name)
            report, error = None, ""
            try:
                cache = self._replayed.setdefault(f"{profile.id}:{profile.name}", {})
                if len(cache) > CACHE_LISTS:
                    cache.clear()
                report = update(self.store, profile, self._embedder(), self.settings, cache)
                self.last = report
            except ShieldRecError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - learning must never take the app down
                log.debug("learning from feedback failed", exc_info=True)  # the details, for a debug log
                error = f"{type(exc).__name__}: {exc}"
            if error:
                log.warning("profile %s: learning from feedback failed: %s", profile.name, error)
            future.set_result(report)
            if self.on_done is not None:
                try:
                    self.on_done(profile, report, error)
                except Exception as exc:  # noqa: BLE001 - a closing UI must not stop the learner
                    log.debug("the learner's callback failed: %s", exc, exc_info=True)
