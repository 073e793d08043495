"""Blocking work (model loads, ranking) off the event loop, in threads that never delay quitting.

asyncio's default executor joins its threads at exit, so a user who quits while torch is
still loading, or while the language model re-ranks, would wait for it to finish. These
threads are daemons: quitting is immediate, and whatever they were computing is dropped
(nothing half-written: every database write is one transaction).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile: the caller has moved on
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`await fn(*args, **kwargs)` run in a daemon thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result, error = fn(*args, **kwargs), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            result, error = None, exc
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:
            pass  # the loop is closed: the app has quit

    threading.Thread(target=run, name=f"shieldrec-{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await future


def start(fn: Callable[..., Any], *args: Any, name: str = "work") -> threading.Thread:
    """Run `fn(*args)` in a daemon thread, fire and forget (it reports back on its own)."""
    thread = threading.Thread(target=fn, args=args, name=f"shieldrec-{name}", daemon=True)
    thread.start()
    return thread
