"""Fan-out: one query to every enabled platform at once, merged into one candidate list.

Each platform runs under its own deadline; one that hangs or breaks is cut and reported while
the others' answers are used. Duplicates (the same id, or the same normalised title and
creator) become one item that remembers every platform that offered it.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from shieldrec.errors import ShieldRecError
from shieldrec.items import Item
from shieldrec.platforms.base import Adapter, Query
from shieldrec.platforms.egress import Egress
from shieldrec.platforms.registry import build_adapter
from shieldrec.store import Profile, Store
from shieldrec.store.platform_configs import PlatformConfig

StatusCallback = Callable[[str, str], None]


@dataclass
class FanoutResult:
    items: list[Item] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # platform -> what went wrong, in words
    counts: dict[str, int] = field(default_factory=dict)  # platform -> items it returned
    warnings: dict[str, list[str]] = field(default_factory=dict)  # platform -> items left out, and why
    durations_ms: dict[str, float] = field(default_factory=dict)
    audit_ids: list[int] = field(default_factory=list)  # the audit entries this fan-out wrote

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [i.to_dict() for i in self.items],
            "errors": self.errors,
            "counts": self.counts,
            "warnings": self.warnings,
            "durations_ms": self.durations_ms,
        }


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"\w+", text))


def merge(per_platform: list[tuple[str, list[Item]]]) -> list[Item]:
    """Interleave platforms by rank and fold duplicates into one item per thing."""
    merged: list[Item] = []
    by_id: dict[str, Item] = {}
    by_name: dict[tuple[str, str], Item] = {}
    depth = max((len(items) for _, items in per_platform), default=0)
    for rank in range(depth):
        for platform, items in per_platform:
            if rank >= len(items):
                continue
            item = items[rank]
            name_key = (_norm(item.title), _norm(item.creator))
            same = by_id.get(item.item_id)
            if same is not None and platform in same.platforms:
                continue  # a platform repeating itself within one answer
            if same is None and name_key[0]:
                same = by_name.get(name_key)
                if same is not None and platform in same.platforms:
                    same = None  # one platform's two entries of the same name are two things (remakes)
            if same is None:
                same = Item(**{**item.to_dict(), "meta": dict(item.meta), "platforms": []})
                same.meta["source_ids"] = {}
                merged.append(same)
            _absorb(same, item, platform)
            by_id.setdefault(item.item_id, same)
            if name_key[0]:
                by_name.setdefault(name_key, same)
    return merged


def _absorb(into: Item, item: Item, platform: str) -> None:
    if platform not in into.platforms:
        into.platforms.append(platform)
    into.meta.setdefault("source_ids", {})[platform] = item.item_id
    # Paid anywhere means paid: one platform's disclosure covers the same item elsewhere.
    into.sponsored = into.sponsored or item.sponsored
    into.tricks = list(dict.fromkeys([*into.tricks, *item.tricks]))
    for attr in ("text", "creator", "url"):
        if not getattr(into, attr) and getattr(item, attr):
            setattr(into, attr, getattr(item, attr))
    for key, value in item.meta.items():
        into.meta.setdefault(key, value)


def _notify(on_status: StatusCallback | None, name: str, status: str) -> None:
    if on_status is None:
        return
    try:
        on_status(name, status)
    except Exception:  # a display callback must never break the fan-out
        pass


async def fan_out(
    store: Store,
    profile: Profile,
    query: Query,
    configs: list[PlatformConfig] | None = None,
    *,
    timeout: float = 10.0,
    on_status: StatusCallback | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    egress: Egress | None = None,
) -> FanoutResult:
    """Ask every enabled platform for `query` concurrently; merge what comes back in time.

    `query` comes from `plan_query`; the profile is used only to file the audit entries.
    """
    if configs is None:
        configs = store.platforms.list(profile.id)
    configs = [c for c in configs if c.enabled]
    result = FanoutResult()
    own_egress = egress is None
    egress = egress or Egress(store, profile.id, transport=transport)
    first_audit = len(egress.audit_ids)
    adapters: list[Adapter] = []
    for cfg in configs:
        try:
            adapters.append(build_adapter(cfg, egress))
            _notify(on_status, cfg.name, "pending")
        except ShieldRecError as exc:
            result.errors[cfg.name] = str(exc)
            _notify(on_status, cfg.name, f"error: {exc}")

    async def one(adapter: Adapter) -> tuple[str, list[Item]]:
        deadline = adapter.deadline or timeout
        started = time.perf_counter()
        try:
            items = await asyncio.wait_for(adapter.recommend(query), timeout=deadline)
        except asyncio.TimeoutError:
            result.errors[adapter.name] = f"{adapter.name}: timed out after {deadline:g}s"
            _notify(on_status, adapter.name, "timeout")
            return adapter.name, []
        except ShieldRecError as exc:
            result.errors[adapter.name] = str(exc)
            _notify(on_status, adapter.name, f"error: {exc}")
            return adapter.name, []
        except Exception as exc:  # a plug-in's bug is that platform's failure, not the whole search's
            message = f"{adapter.name}: the adapter failed ({type(exc).__name__})"
            result.errors[adapter.name] = message
            _notify(on_status, adapter.name, f"error: {message}")
            return adapter.name, []
        finally:
            result.durations_ms[adapter.name] = round((time.perf_counter() - started) * 1000, 1)
        items = items[: query.limit]
        result.counts[adapter.name] = len(items)
        skipped = getattr(adapter, "skipped", None)
        if skipped:
            result.warnings[adapter.name] = list(skipped)
        _notify(on_status, adapter.name, "done")
        return adapter.name, items

    try:
        answers = await asyncio.gather(*(one(a) for a in adapters))
    finally:
        if own_egress:
            await egress.aclose()
    result.items = merge([(name, items) for name, items in answers if items])
    result.audit_ids = egress.audit_ids[first_audit:]
    for name in result.errors:
        result.counts.setdefault(name, 0)
    return result


def run_fan_out(*args: Any, **kwargs: Any) -> FanoutResult:
    """`fan_out` for synchronous callers (the CLI): runs its own event loop."""
    return asyncio.run(fan_out(*args, **kwargs))
