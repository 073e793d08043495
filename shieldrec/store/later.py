"""The watch list ("for later"): items the user keeps, each as it was when kept."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from shieldrec.errors import InvalidInput
from shieldrec.items import Item
from shieldrec.sanitize import clean_text
from shieldrec.store.db import tx


@dataclass
class LaterEntry:
    item: Item
    instruction: str = ""  # the request it came from
    added_at: float = field(default_factory=time.time)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item.to_dict(), "instruction": self.instruction, "added_at": self.added_at}

    @classmethod
    def from_untrusted(cls, raw: Any) -> LaterEntry:
        if not isinstance(raw, dict):
            raise InvalidInput("a watch-list entry must be an object")
        added = raw.get("added_at")
        return cls(
            item=Item.from_untrusted(raw.get("item")),
            instruction=clean_text(raw.get("instruction"), 1000),
            added_at=float(added) if isinstance(added, (int, float)) and not isinstance(added, bool) else time.time(),
        )


class WatchList:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, profile_id: int, entry: LaterEntry) -> int:
        """Keep an item (once: keeping it again refreshes the snapshot). Returns the entry's id."""
        with tx(self.db):
            self.db.conn.execute(
                "INSERT INTO watch_list (profile_id, item_id, item, instruction, added_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (profile_id, item_id) DO UPDATE SET item = excluded.item",
                (profile_id, entry.item.item_id, json.dumps(entry.item.to_dict()), entry.instruction, entry.added_at),
            )
            row = self.db.conn.execute("SELECT id FROM watch_list WHERE profile_id = ? AND item_id = ?",
                                       (profile_id, entry.item.item_id)).fetchone()
        return int(row[0])

    def list(self, profile_id: int) -> list[LaterEntry]:
        """Newest first. A stored snapshot that no longer validates is left out, never shown raw."""
        rows = self.db.execute(
            "SELECT id, item, instruction, added_at FROM watch_list WHERE profile_id = ? ORDER BY added_at DESC, id DESC",
            [profile_id],
        ).fetchall()
        out = []
        for ident, item, instruction, added_at in rows:
            try:
                out.append(LaterEntry(Item.from_untrusted(json.loads(item)), instruction, added_at, ident))
            except (InvalidInput, ValueError):
                continue
        return out

    def find(self, profile_id: int, item_id: str) -> LaterEntry | None:
        return next((e for e in self.list(profile_id) if e.item.item_id == item_id), None)

    def ids(self, profile_id: int) -> set[str]:
        rows = self.db.execute("SELECT item_id FROM watch_list WHERE profile_id = ?", [profile_id]).fetchall()
        return {r[0] for r in rows}

    def remove(self, profile_id: int, entry_id: int) -> None:
        with tx(self.db):
            cur = self.db.conn.execute("DELETE FROM watch_list WHERE id = ? AND profile_id = ?", (entry_id, profile_id))
        if cur.rowcount == 0:
            raise InvalidInput(f"no entry #{entry_id} on the watch list")
