"""Embedding cache: each text is encoded at most once per model, ever."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
from sqlite_utils import Database

from shieldrec.store.db import tx

_CHUNK = 500  # SQLite's bound-parameter limit is far above this; keeps statements small


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, db: Database) -> None:
        self.db = db

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
        return found

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

    def delete_texts(self, texts: Iterable[str]) -> int:
        hashes = list({content_hash(t) for t in texts if t})
        deleted = 0
        with tx(self.db):
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cur = self.db.conn.execute(
                    f"DELETE FROM embeddings WHERE content_hash IN ({marks})", chunk
                )
                deleted += cur.rowcount
        return deleted

    def count(self) -> int:
        return self.db["embeddings"].count
