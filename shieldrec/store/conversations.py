"""Saved chat sessions, so a conversation can be resumed."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from shieldrec.store.db import tx


@dataclass
class Message:
    role: str  # user | agent
    content: str
    payload: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content, "payload": self.payload, "at": self.at}


@dataclass
class Conversation:
    id: int
    title: str
    started_at: float
    updated_at: float


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, profile_id: int, title: str = "") -> int:
        now = time.time()
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO conversations (profile_id, title, started_at, updated_at) VALUES (?, ?, ?, ?)",
                (profile_id, title, now, now),
            )
            return int(cur.lastrowid)

    def add(self, conversation_id: int, message: Message) -> int:
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO messages (conversation_id, role, content, payload, at) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, message.role, message.content, json.dumps(message.payload), message.at),
            )
            self.db.conn.execute(
                "UPDATE conversations SET updated_at = ?, title = CASE WHEN title = '' AND ? = 'user' "
                "THEN substr(?, 1, 80) ELSE title END WHERE id = ?",
                (message.at, message.role, message.content, conversation_id),
            )
            return int(cur.lastrowid)

    def list(self, profile_id: int) -> list[Conversation]:
        rows = self.db.execute(
            "SELECT id, title, started_at, updated_at FROM conversations WHERE profile_id = ? ORDER BY updated_at DESC",
            [profile_id],
        ).fetchall()
        return [Conversation(*r) for r in rows]

    def latest(self, profile_id: int) -> Conversation | None:
        convs = self.list(profile_id)
        return convs[0] if convs else None

    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.execute(
            "SELECT id, role, content, payload, at FROM messages WHERE conversation_id = ? ORDER BY id",
            [conversation_id],
        ).fetchall()
        return [Message(id=r[0], role=r[1], content=r[2], payload=json.loads(r[3]), at=r[4]) for r in rows]
