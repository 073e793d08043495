"""Saved chat sessions, so a conversation can be resumed."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from shieldrec.errors import InvalidInput
from shieldrec.sanitize import clean_text
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


TITLE_MAX = 120
# A conversation matches a word when its title, one of the user's requests or the title of an
# item it showed contains it. Payloads of imported profiles may be anything: only objects count.
_SEARCH = """
SELECT c.id FROM conversations c WHERE c.profile_id = :profile AND (
    c.title LIKE :pattern ESCAPE '\\'
    OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user'
               AND m.content LIKE :pattern ESCAPE '\\')
    OR EXISTS (SELECT 1 FROM messages m, json_each(CASE WHEN json_valid(m.payload) THEN m.payload ELSE '{}' END,
                                                 '$.cards') j
               WHERE m.conversation_id = c.id AND m.role = 'agent' AND j.type = 'object'
               AND json_extract(j.value, '$.item.title') LIKE :pattern ESCAPE '\\')
)
"""


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
                "THEN ? ELSE title END WHERE id = ?",
                # A title is one line: the first request's first 80 characters, as a title is cleaned.
                (message.at, message.role, clean_text(message.content, 80), conversation_id),
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

    def get(self, profile_id: int, conversation_id: int) -> Conversation:
        row = self.db.execute(
            "SELECT id, title, started_at, updated_at FROM conversations WHERE id = ? AND profile_id = ?",
            [conversation_id, profile_id],
        ).fetchone()
        if row is None:
            raise InvalidInput(f"no conversation #{conversation_id} in this profile")
        return Conversation(*row)

    def rename(self, profile_id: int, conversation_id: int, title: str) -> str:
        """Give a conversation the user's own title; returns it as stored."""
        title = clean_text(title, TITLE_MAX)
        if not title:
            raise InvalidInput("a conversation's title cannot be empty")
        self.get(profile_id, conversation_id)
        with tx(self.db):
            self.db.conn.execute("UPDATE conversations SET title = ? WHERE id = ? AND profile_id = ?",
                                 (title, conversation_id, profile_id))
        return title

    def delete(self, profile_id: int, conversation_id: int) -> None:
        """The conversation and its messages (the profile's feedback stays: it is history, not chat)."""
        self.get(profile_id, conversation_id)
        with tx(self.db):
            self.db.conn.execute("DELETE FROM conversations WHERE id = ? AND profile_id = ?",
                                 (conversation_id, profile_id))

    def search(self, profile_id: int, text: str) -> list[Conversation]:
        """Conversations whose title, requests or shown titles hold every word of `text`
        (case-insensitive), newest first."""
        words = clean_text(text, 200).split()
        if not words:
            return self.list(profile_id)
        found: set[int] | None = None
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute(_SEARCH, {"profile": profile_id, "pattern": pattern}).fetchall()
            ids = {r[0] for r in rows}
            found = ids if found is None else found & ids
        return [c for c in self.list(profile_id) if c.id in (found or set())]

    def recent_inputs(self, profile_id: int, limit: int = 200) -> list[str]:
        """What the user typed, newest first, each text once: the chat input's history."""
        rows = self.db.execute(
            "SELECT m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.profile_id = ? AND m.role = 'user' ORDER BY m.at DESC, m.id DESC LIMIT ?",
            [profile_id, limit * 4],
        ).fetchall()
        return list(dict.fromkeys(r[0] for r in rows if r[0]))[:limit]

    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.execute(
            "SELECT id, role, content, payload, at FROM messages WHERE conversation_id = ? ORDER BY id",
            [conversation_id],
        ).fetchall()
        return [Message(id=r[0], role=r[1], content=r[2], payload=json.loads(r[3]), at=r[4]) for r in rows]
