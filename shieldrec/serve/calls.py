"""The service's own audit log: one row per call, refused calls included.

Rows wait in memory and are written together (a commit per call would cost the service
more than the ranking): on every `flush`, which the service runs on its store thread at
least once a second and when it stops. The table keeps the latest KEEP rows.
"""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass
from typing import Any

from shieldrec.sanitize import clean_text
from shieldrec.store import Store
from shieldrec.store.db import tx

KEEP = 100_000


@dataclass
class Call:
    at: float
    caller: str  # the peer's address and port: on loopback, which local program called
    user_agent: str
    method: str
    route: str
    status: int
    bytes_in: int
    bytes_out: int
    items: int | None
    duration_ms: float
    refused: str | None = None  # why, for a call turned away before any route ran

    @classmethod
    def of(cls, *, caller: str, user_agent: str, method: str, route: str, **rest: Any) -> "Call":
        """A row whose texts (all chosen by the caller) are sanitized and capped."""
        return cls(caller=clean_text(caller, 100), user_agent=clean_text(user_agent, 200),
                   method=clean_text(method, 10), route=clean_text(route, 200), **rest)


_COLUMNS = "at, caller, user_agent, method, route, status, bytes_in, bytes_out, items, duration_ms, refused"


class CallLog:
    def __init__(self, store: Store, profile_id: int | None) -> None:
        self.store = store
        self.profile_id = profile_id
        self._pending: list[Call] = []
        self._lock = threading.Lock()

    def add(self, call: Call) -> None:
        with self._lock:
            self._pending.append(call)

    def flush(self) -> int:
        """Write what is waiting (call on the thread that owns the store)."""
        with self._lock:
            rows, self._pending = self._pending, []
        if not rows:
            return 0
        with tx(self.store.db):
            self.store.db.conn.executemany(
                f"INSERT INTO service_calls (profile_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.profile_id, *astuple(r)) for r in rows],
            )
            self.store.db.conn.execute(
                "DELETE FROM service_calls WHERE id <= (SELECT MAX(id) FROM service_calls) - ?", (KEEP,)
            )
        return len(rows)


def recent_calls(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest calls, oldest first."""
    rows = store.db.execute(
        f"SELECT id, {_COLUMNS} FROM service_calls ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    names = ["id", *(c.strip() for c in _COLUMNS.split(","))]
    return [dict(zip(names, r)) for r in reversed(rows)]
