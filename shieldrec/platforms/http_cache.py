"""Asking often and cheaply: a small on-disk HTTP cache per platform, and remembered rate limits.

The caching itself is hishel's (RFC 9111: fresh answers are reused without asking, stale ones
are revalidated with `If-None-Match` / `If-Modified-Since`, and a 304 reuses the stored body).
A platform that states no freshness of its own gets the one its adapter declares (`cache_for`),
the heuristic freshness the RFC leaves to the cache. Only answers to requests without a token
are stored (hishel keeps the request's headers), and the cache holds platform answers only,
never anything of the profile. A platform that answered 429 with a `Retry-After` is not asked
again before that time, in this process or the next.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx

from shieldrec.paths import ensure_dir, get_paths

FRESH_FOR = "shieldrec.fresh_for"  # request extension: seconds of freshness when the platform states none
CACHE_MAX_BYTES = 16 * 1024 * 1024  # per platform
_EXPLICIT = re.compile(r"\b(?:max-age|s-maxage|no-store|no-cache)\b", re.IGNORECASE)


def cache_dir() -> Path:
    return get_paths().cache / "platforms"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80] or "_"


class Freshness(httpx.AsyncBaseTransport):
    """Under the cache: gives an answer without freshness information the platform's declared one."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        seconds = request.extensions.get(FRESH_FOR)
        stated = _EXPLICIT.search(response.headers.get("cache-control", "")) or "expires" in response.headers
        if seconds and 200 <= response.status_code < 300 and not stated:
            response.headers["cache-control"] = f"max-age={int(seconds)}"
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class CachingTransport(httpx.AsyncBaseTransport):
    """Requests marked with `FRESH_FOR` go through hishel with their platform's own cache file;
    every other request goes straight to the network.

    Several of these (one per route: direct, and one per proxy) may share one `storages` dict, so a
    platform's cache file is opened once whichever way its requests leave."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, profile_id: int | None, storages: dict[str, Any] | None = None
    ) -> None:
        from hishel import CacheOptions
        from hishel.httpx import AsyncCacheTransport

        self.inner = inner
        self.profile_id = profile_id
        self._options = CacheOptions(shared=False)
        self._cached = AsyncCacheTransport(next_transport=Freshness(inner), storage=_Unused(), rfc=self._options)
        self._storages: dict[str, Any] = {} if storages is None else storages

    def _storage(self, platform: str) -> Any:
        from hishel import AsyncSqliteStorage

        if platform not in self._storages:
            folder = ensure_dir(cache_dir())
            name = f"{self.profile_id if self.profile_id is not None else 'all'}-{_slug(platform)}.sqlite"
            self._storages[platform] = AsyncSqliteStorage(database_path=folder / name, max_size=CACHE_MAX_BYTES)
        return self._storages[platform]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        platform = request.extensions.get("shieldrec.platform")
        if not request.extensions.get(FRESH_FOR) or not isinstance(platform, str):
            return await self.inner.handle_async_request(request)
        request.extensions["caching"] = {"storage": self._storage(platform), "rfc": self._options}
        return await self._cached.handle_async_request(request)

    async def aclose(self) -> None:
        # Shared storages are closed by whichever route closes first; the others find the dict empty.
        while self._storages:
            _, storage = self._storages.popitem()
            await storage.close()
        await self.inner.aclose()


class _Unused:
    """hishel's default storage, never used: every cached request names its platform's own."""

    async def close(self) -> None:
        return None


def cache_note(response: httpx.Response) -> str | None:
    """How the cache answered: "hit" (nothing sent), "revalidated" (a 304), "stored", or None."""
    status = response.extensions.get("caching")
    if status is None:
        return None
    def flag(name: str) -> bool:
        return bool(status.get(name) if isinstance(status, dict) else getattr(status, name, False))

    if flag("from_cache"):
        return "revalidated" if flag("revalidated") else "hit"
    return "stored" if flag("stored") else None


# -- rate limits ------------------------------------------------------------------------------

def _limits_file() -> Path:
    return cache_dir() / "rate-limits.json"


def _read_limits() -> dict[str, float]:
    try:
        data = json.loads(_limits_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))} if isinstance(data, dict) else {}


def blocked_for(origin: str) -> float:
    """Seconds before `origin` may be asked again (0: now)."""
    return max(0.0, _read_limits().get(origin, 0.0) - time.time())


def remember_limit(origin: str, seconds: float) -> None:
    now = time.time()
    limits = {k: v for k, v in _read_limits().items() if v > now}
    limits[origin] = now + seconds
    path = _limits_file()
    ensure_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(limits), encoding="utf-8")
    os.replace(tmp, path)
