"""The egress audit log: every request that leaves the machine, written before it is sent."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from shieldrec.store.db import tx


@dataclass
class AuditEntry:
    id: int
    at: float
    platform: str
    method: str
    url: str
    params: dict[str, Any]
    bytes_out: int
    bytes_in: int | None
    status: int | None
    error: str | None
    duration_ms: float | None
    profile_id: int | None = None

    def sent(self) -> str:
        """What the request carried, in one line: its query parameters (and a note of a body)."""
        query = self.params.get("query", {})
        words = " ".join(f"{k}={v}" for k, v in query.items()) if isinstance(query, dict) else str(query)
        return words + (" +body" if "body" in self.params else "")

    @property
    def cache(self) -> str | None:
        """How the local cache answered: "hit" (nothing was sent), "revalidated" (a 304), "stored"."""
        value = self.params.get("cache")
        return value if isinstance(value, str) else None

    def state(self) -> str:
        """The status in one word: the HTTP status, "error", or "sent" (no answer yet); "cached" when
        the answer came from the cache without asking."""
        if self.cache == "hit":
            return "cached"
        return str(self.status) if self.status is not None else ("error" if self.error else "sent")

    def outcome(self) -> str:
        """What came of it, in words: status, bytes each way, time, error, the cache's part."""
        parts = [f"status {self.state()}", f"{self.bytes_out:,} bytes out", f"{self.bytes_in or 0:,} bytes in"]
        if self.duration_ms is not None:
            parts.append(f"{self.duration_ms:.0f} ms")
        cache = {"hit": "from the cache, nothing sent", "revalidated": "not modified, the cached copy was used",
                 "stored": "kept in the cache"}.get(self.cache or "")
        return ", ".join(parts) + (f"; {cache}" if cache else "") + (f"; {self.error}" if self.error else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "platform": self.platform,
            "method": self.method,
            "url": self.url,
            "params": self.params,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        *,
        profile_id: int | None,
        platform: str,
        method: str,
        url: str,
        params: dict[str, Any],
        bytes_out: int,
    ) -> int:
        """Write the entry before the request goes out; `complete` fills in the answer."""
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO audit (profile_id, at, platform, method, url, params, bytes_out) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (profile_id, time.time(), platform, method, url, json.dumps(params, sort_keys=True), bytes_out),
            )
            return int(cur.lastrowid)

    def complete(
        self,
        entry_id: int,
        *,
        status: int | None = None,
        bytes_in: int | None = None,
        error: str | None = None,
        duration_ms: float | None = None,
        bytes_out: int | None = None,
        cache: str | None = None,
    ) -> None:
        """`bytes_out` corrects what was written before sending (0: the cache answered); `cache` notes
        how the cache took part ("hit", "revalidated", "stored")."""
        with tx(self.db):
            self.db.conn.execute(
                "UPDATE audit SET status = ?, bytes_in = ?, error = ?, duration_ms = ?, "
                "bytes_out = COALESCE(?, bytes_out), "
                "params = CASE WHEN ? IS NULL THEN params ELSE json_set(params, '$.cache', ?) END WHERE id = ?",
                (status, bytes_in, error, duration_ms, bytes_out, cache, cache, entry_id),
            )

    def entries(self, profile_id: int | None = None, limit: int | None = None) -> list[AuditEntry]:
        sql = "SELECT id, at, platform, method, url, params, bytes_out, bytes_in, status, error, duration_ms, profile_id FROM audit"
        args: list[Any] = []
        if profile_id is not None:
            sql += " WHERE profile_id = ?"
            args.append(profile_id)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [
            AuditEntry(
                id=r[0], at=r[1], platform=r[2], method=r[3], url=r[4], params=json.loads(r[5]),
                bytes_out=r[6], bytes_in=r[7], status=r[8], error=r[9], duration_ms=r[10], profile_id=r[11],
            )
            for r in self.db.execute(sql, args).fetchall()
        ]
