"""The language-model clients a process shares: one per model and configuration.

`client_for` hands out the client for what the settings name (nothing starts until a call
needs the model), `get_llm` the same with its worker started, `UsesModel` is the base of
every part that calls the model (likelihood scorer, listwise re-ranker, explainer), and
`reported` turns the model's stops into one line each for a command-line run.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import IO, Any

from shieldrec.errors import LlmUnavailable, ModelError
from shieldrec.llm.client import LlmClient, LlmStatus
from shieldrec.llm.models import BUNDLED, Progress, describe_spec
from shieldrec.settings import LlmSettings

_clients: dict[tuple[str, str, int, bool], LlmClient] = {}
_clients_lock = threading.Lock()
_loader: ThreadPoolExecutor | None = None


def client_for(settings: LlmSettings, progress: Progress | None = None) -> LlmClient:
    """The client for the model the settings name (nothing is started yet). LlmUnavailable
    when the model is turned off or its file is missing or not a usable GGUF."""
    if not settings.enabled:
        raise LlmUnavailable("the local language model is turned off in settings ([llm] enabled = false)")
    try:
        info = describe_spec(settings.model or BUNDLED, progress)
    except ModelError as exc:
        raise LlmUnavailable(str(exc)) from exc
    key = (str(info.path), settings.device or "auto", int(settings.n_ctx), bool(settings.repack_weights))
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.status.state == "closed":
            client = LlmClient(info.path, info, n_ctx=settings.n_ctx, device=settings.device or "auto",
                               repack=settings.repack_weights, timeout=settings.timeout_s)
            if not _clients:
                atexit.register(unload_all)
            _clients[key] = client
        return client


def get_llm(settings: LlmSettings, progress: Progress | None = None) -> LlmClient:
    """The model the settings name, its worker started (blocking): shared by the whole process."""
    return client_for(settings, progress).start()


def load_in_background(settings: LlmSettings) -> Future[LlmClient]:
    """Start the model off the calling (UI) thread; the Future holds it or LlmUnavailable."""
    global _loader
    with _clients_lock:
        if _loader is None:
            _loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shieldrec-llm")
        return _loader.submit(get_llm, settings)


def unload_all() -> None:
    """Stop every worker (a settings change, the end of the process, tests that need a clean slate)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


class UsesModel:
    """A part built from a model client, or from the settings that name one.

    A model that cannot be had at all (turned off, no such file) is remembered: the
    ranking goes on without this part instead of failing the same way on every request.
    A client, once had, is kept: it restarts its worker itself after a crash."""

    def __init__(self, source: Any) -> None:
        self._llm = None if isinstance(source, LlmSettings) else source
        self._settings = source if isinstance(source, LlmSettings) else None
        self._failure: LlmUnavailable | None = None

    @property
    def llm(self) -> Any:
        if self._llm is None:
            if self._failure is not None:
                raise self._failure
            assert self._settings is not None
            try:
                self._llm = client_for(self._settings)
            except LlmUnavailable as exc:
                self._failure = exc
                raise
        return self._llm


class _Repeats(logging.Filter):
    """Drops warnings that only repeat an LlmUnavailable the status already reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(isinstance(a, LlmUnavailable) for a in args)


class _ToStream(logging.Handler):
    def __init__(self, stream: Callable[[], IO[str]]) -> None:
        super().__init__(logging.WARNING)
        self._stream = stream
        self.addFilter(_Repeats())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._stream().write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging never raises
            self.handleError(record)


@contextmanager
def reported(settings: LlmSettings, stream: Callable[[], IO[str]]) -> Iterator[None]:
    """For a command that prints to a terminal or a log: while inside, each stop of the
    model the settings name is one line on `stream()` ("language model stopped: ...;
    ranking without it"), and so is giving up. shieldrec's other warnings go there too,
    except those that only repeat a model failure already said: one line per stop, not one
    per request ranked without the model."""

    def say(status: LlmStatus) -> None:
        if status.state in ("stopped", "off") and status.message:
            where = f" (its log: {status.log_path})" if status.log_path else ""
            stream().write(status.message + where + "\n")

    try:
        unwatch = client_for(settings).watch(say)
    except LlmUnavailable:
        unwatch = None  # no model to watch; the pipeline's note says why
    handler = _ToStream(stream)
    logger = logging.getLogger("shieldrec")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        if unwatch is not None:
            unwatch()
