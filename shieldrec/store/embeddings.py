"""Embedding cache: each text is encoded at most once per model.

An entry is keyed by an HMAC of its text under a secret made for this installation and kept
beside the database (`<database>.key`, 0600), so the file alone cannot be searched for a
given text. Each entry also records which profiles used it; `forget` removes every vector
that the forgotten profile, and no other, used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from shieldrec.store.db import tx

_CHUNK = 500  # SQLite's bound-parameter limit is far above this; keeps statements small
KEY_BYTES = 32


def key_path(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def _read_key(path: Path) -> bytes | None:
    for _ in range(50):  # another process may be writing it this very moment
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(key) == KEY_BYTES:
            return key
        time.sleep(0.01)
    return None


def install_key(database: Path) -> bytes:
    """This installation's cache secret, created on first use (atomically: two processes
    starting at once end up with the same one)."""
    path = key_path(database)
    key = _read_key(path)
    if key is not None:
        return key
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process made one first: then theirs is the key
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    key = _read_key(path)
    if key is None:
        raise OSError(f"the cache key {path} could not be created")
    return key


class EmbeddingCache:
    def __init__(self, db: Database, secret: bytes, owner: int | None = None) -> None:
        self.db = db
        self._secret = secret
        self.owner = owner

    @property
    def secret(self) -> bytes:
        """For processes that read this cache on the owner's behalf (Ray workers): never stored elsewhere."""
        return self._secret

    def owned_by(self, profile_id: int | None) -> EmbeddingCache:
        """The same cache, recording that `profile_id` used every vector it reads or writes."""
        return EmbeddingCache(self.db, self._secret, profile_id)

    def key(self, text: str) -> str:
        """The entry's key for `text`: nothing about the text can be learned from it without the secret."""
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def fingerprint(self) -> str:
        return hmac.new(self._secret, b"shieldrec embedding cache", hashlib.sha256).hexdigest()[:16]

    def check_key(self) -> None:
        """Drop entries made under another secret (a database moved without its key file):
        they could never be found again."""
        current = self.fingerprint()
        row = self.db.execute("SELECT value FROM store_meta WHERE name = 'embedding_key'").fetchone()
        if row is not None and row[0] == current:
            return
        with tx(self.db):
            row = self.db.conn.execute("SELECT value FROM store_meta WHERE name = 'embedding_key'").fetchone()
            if row is not None and row[0] == current:
                return
            if row is not None:
                self.db.conn.execute("DELETE FROM embedding_owners")
                self.db.conn.execute("DELETE FROM embeddings")
            self.db.conn.execute(
                "INSERT OR REPLACE INTO store_meta (name, value) VALUES ('embedding_key', ?)", (current,)
            )

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT content_hash, dim, vector FROM embeddings "
                f"WHERE model_id = ? AND content_hash IN ({marks})",
                [model_id, *chunk],
            ).fetchall()
            for h, dim, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:
                    found[h] = vec
        self.claim(model_id, list(found))
        return found

    def claim(self, model_id: str, hashes: Sequence[str]) -> None:
        """Record that this cache's owner used these entries (read elsewhere, e.g. by a Ray worker)."""
        if hashes and self.owner is not None:
            with tx(self.db):
                self._own(model_id, list(hashes))

    def put_many(self, model_id: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [
            (model_id, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
            for h, v in items
        ]
        if not rows:
            return
        with tx(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (model_id, content_hash, dim, vector) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            self._own(model_id, [r[1] for r in rows])

    def _own(self, model_id: str, hashes: list[str]) -> None:
        if self.owner is None:
            return
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO embedding_owners (profile_id, model_id, content_hash) VALUES (?, ?, ?)",
            [(self.owner, model_id, h) for h in hashes],
        )

    def delete_texts(self, texts: Iterable[str]) -> int:
        hashes = list({self.key(t) for t in texts if t})
        deleted = 0
        with tx(self.db):
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                self.db.conn.execute(f"DELETE FROM embedding_owners WHERE content_hash IN ({marks})", chunk)
                cur = self.db.conn.execute(f"DELETE FROM embeddings WHERE content_hash IN ({marks})", chunk)
                deleted += cur.rowcount
        return deleted

    def delete_owned(self, profile_id: int) -> int:
        """Remove every vector `profile_id` used that no other profile used."""
        with tx(self.db):
            cur = self.db.conn.execute(
                "DELETE FROM embeddings WHERE (model_id, content_hash) IN ("
                " SELECT o.model_id, o.content_hash FROM embedding_owners o WHERE o.profile_id = ?"
                " AND NOT EXISTS (SELECT 1 FROM embedding_owners x WHERE x.model_id = o.model_id"
                "  AND x.content_hash = o.content_hash AND x.profile_id != o.profile_id))",
                (profile_id,),
            )
            self.db.conn.execute("DELETE FROM embedding_owners WHERE profile_id = ?", (profile_id,))
            return cur.rowcount

    def count(self) -> int:
        return self.db["embeddings"].count
