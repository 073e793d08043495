"""Reasons the user said were wrong ("this reason is wrong"), kept with the item and request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from shieldrec.errors import InvalidInput
from shieldrec.sanitize import clean_text
from shieldrec.store.db import tx


@dataclass
class Dispute:
    item_id: str
    title: str
    reason: str  # the reason exactly as it was shown
    instruction: str = ""
    at: float = field(default_factory=time.time)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "title": self.title, "reason": self.reason,
                "instruction": self.instruction, "at": self.at}

    @classmethod
    def from_untrusted(cls, raw: Any) -> Dispute:
        if not isinstance(raw, dict):
            raise InvalidInput("a disputed reason must be an object")
        item_id, reason = clean_text(raw.get("item_id"), 200), clean_text(raw.get("reason"), 400)
        if not item_id or not reason:
            raise InvalidInput("a disputed reason needs 'item_id' and 'reason'")
        at = raw.get("at")
        return cls(item_id=item_id, title=clean_text(raw.get("title"), 300), reason=reason,
                   instruction=clean_text(raw.get("instruction"), 1000),
                   at=float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else time.time())


class Disputes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, profile_id: int, dispute: Dispute) -> int:
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO disputed_reasons (profile_id, item_id, title, reason, instruction, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (profile_id, dispute.item_id, dispute.title, dispute.reason, dispute.instruction, dispute.at),
            )
            return int(cur.lastrowid)

    def list(self, profile_id: int) -> list[Dispute]:
        """Newest first."""
        rows = self.db.execute(
            "SELECT id, item_id, title, reason, instruction, at FROM disputed_reasons WHERE profile_id = ? "
            "ORDER BY at DESC, id DESC", [profile_id],
        ).fetchall()
        return [Dispute(id=r[0], item_id=r[1], title=r[2], reason=r[3], instruction=r[4], at=r[5]) for r in rows]

    def marked(self, profile_id: int) -> set[tuple[str, str]]:
        """(item id, reason) pairs the user disputed, to mark them wherever they show again."""
        rows = self.db.execute("SELECT item_id, reason FROM disputed_reasons WHERE profile_id = ?",
                               [profile_id]).fetchall()
        return {(r[0], r[1]) for r in rows}

    def remove(self, profile_id: int, dispute_id: int) -> None:
        with tx(self.db):
            cur = self.db.conn.execute("DELETE FROM disputed_reasons WHERE id = ? AND profile_id = ?",
                                       (dispute_id, profile_id))
        if cur.rowcount == 0:
            raise InvalidInput(f"no disputed reason #{dispute_id}")
