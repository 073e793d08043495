"""What the profile learned from its own user: the personal model, interest facets, the user's
choices about facets, and the lists the user was shown. Rows only; `shieldrec.learning` decides
what goes in them."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlite_utils import Database

from shieldrec.errors import InvalidInput
from shieldrec.items import Item
from shieldrec.sanitize import clean_text
from shieldrec.store.db import tx

IMPRESSION_ITEMS = 20  # the head of a list is what a person looks at
IMPRESSIONS_KEPT = 2000  # per profile; older lists are dropped as new ones come


@dataclass
class PersonalModel:
    """A linear correction over the ranker's features, fitted on one profile's feedback."""

    prior: str  # the shipped ranker's version it was fitted against
    features: tuple[str, ...]
    weights: np.ndarray
    events: int  # feedback events it read
    pairs: int  # "this above that" comparisons those events gave
    blend: float  # how much it counts (0: not at all; see learning.personal.blend)
    taught_by: dict[str, int] = field(default_factory=dict)  # events by kind: {"liked": 12, ...}
    newest_event: int = 0  # the newest history id it read
    held_out: dict[str, float] = field(default_factory=dict)  # its check on feedback it did not fit
    bias: float = 0.0
    trained_at: float = field(default_factory=time.time)
    seconds: float = 0.0
    format: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "prior": self.prior, "features": list(self.features),
            "weights": [round(float(v), 7) for v in self.weights], "bias": self.bias, "events": self.events,
            "pairs": self.pairs, "blend": self.blend, "taught_by": dict(self.taught_by),
            "newest_event": self.newest_event, "held_out": dict(self.held_out), "trained_at": self.trained_at,
            "seconds": self.seconds,
        }

    @classmethod
    def from_untrusted(cls, raw: Any) -> PersonalModel:
        """From an export file or the database: every number finite, the shapes agreeing."""
        if not isinstance(raw, dict):
            raise InvalidInput("a personal model must be an object")
        try:
            features = tuple(clean_text(n, 64) for n in raw["features"])
            weights = np.asarray([float(v) for v in raw["weights"]], dtype=np.float32)
            numbers = [float(raw.get(k, 0.0)) for k in ("bias", "blend", "trained_at", "seconds")]
            events, pairs = int(raw["events"]), int(raw["pairs"])
            taught = {clean_text(k, 20): int(v) for k, v in dict(raw.get("taught_by") or {}).items()}
            held = {clean_text(k, 40): float(v) for k, v in dict(raw.get("held_out") or {}).items()}
            fmt = int(raw.get("format", 1))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"the personal model is not readable ({exc})") from None
        if weights.shape != (len(features),) or not np.all(np.isfinite(weights)):
            raise InvalidInput("the personal model needs one finite weight per feature")
        if not all(math.isfinite(v) for v in numbers) or not 0.0 <= numbers[1] <= 1.0 or events < 0 or pairs < 0:
            raise InvalidInput("the personal model holds a number out of range")
        if fmt != 1:
            raise InvalidInput(f"personal model format {fmt} is not supported (expected 1)")
        return cls(prior=clean_text(raw.get("prior"), 64) or "dev", features=features, weights=weights,
                   events=events, pairs=pairs, blend=numbers[1], taught_by=taught,
                   newest_event=int(raw.get("newest_event", 0) or 0), held_out=held, bias=numbers[0],
                   trained_at=numbers[2], seconds=numbers[3])


@dataclass
class Facet:
    """A cluster of items the user liked (kind "like") or disliked ("avoid"), with its label."""

    key: str
    kind: str
    label: str
    words: tuple[str, ...]  # the evidence an item must show to be said to fit it
    strength: float  # the decayed weight of its items' feedback
    last_at: float
    items: list[tuple[int, str]]  # (history id, title), newest first
    centroid: np.ndarray | None = None
    pinned: bool = False
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "label": self.label, "words": list(self.words),
                "strength": round(self.strength, 4), "last_at": self.last_at,
                "items": [{"event_id": i, "title": t} for i, t in self.items], "pinned": self.pinned}


@dataclass
class Impression:
    """One list the user was shown: the items in the order shown, and the request."""

    items: list[Item]
    instruction: str = ""
    at: float = field(default_factory=time.time)
    id: int | None = None


class Learned:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the personal model -------------------------------------------------------------------

    def model(self, profile_id: int) -> PersonalModel | None:
        row = self.db.execute(
            "SELECT format, prior, features, weights, bias, events, pairs, taught_by, newest_event, blend, held_out, "
            "trained_at, seconds FROM personal_models WHERE profile_id = ?", [profile_id]).fetchone()
        if row is None:
            return None
        raw = dict(zip(("format", "prior", "features", "weights", "bias", "events", "pairs", "taught_by",
                        "newest_event", "blend", "held_out", "trained_at", "seconds"), row))
        for k in ("features", "weights", "taught_by", "held_out"):
            raw[k] = json.loads(raw[k])
        try:
            return PersonalModel.from_untrusted(raw)
        except InvalidInput:
            return None  # a row this version cannot read ranks as the prior until it is refitted

    def save_model(self, profile_id: int, m: PersonalModel) -> None:
        with tx(self.db):
            self.db.conn.execute(
                "INSERT OR REPLACE INTO personal_models (profile_id, format, prior, features, weights, bias, events, "
                "pairs, taught_by, newest_event, blend, held_out, trained_at, seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (profile_id, m.format, m.prior, json.dumps(list(m.features)),
                 json.dumps([float(v) for v in m.weights]), m.bias, m.events, m.pairs, json.dumps(m.taught_by),
                 m.newest_event, m.blend, json.dumps(m.held_out), m.trained_at, m.seconds))

    # -- facets -------------------------------------------------------------------------------

    def facets(self, profile_id: int, *, with_deleted: bool = False) -> list[Facet]:
        """Strongest first; pinned ones marked; deleted ones left out unless asked for."""
        choices = self.choices(profile_id)
        rows = self.db.execute(
            "SELECT id, key, kind, label, words, strength, last_at, items, centroid FROM interest_facets "
            "WHERE profile_id = ? ORDER BY strength DESC, id", [profile_id]).fetchall()
        out = []
        for r in rows:
            choice = choices.get(r[1], ("", ""))[0]
            if choice == "deleted" and not with_deleted:
                continue
            centroid = np.frombuffer(r[8], dtype=np.float32).copy() if r[8] else None
            out.append(Facet(key=r[1], kind=r[2], label=r[3], words=tuple(json.loads(r[4])), strength=r[5],
                             last_at=r[6], items=[(int(i), str(t)) for i, t in json.loads(r[7])],
                             centroid=centroid, pinned=choice == "pinned", id=r[0]))
        return out

    def replace_facets(self, profile_id: int, facets: list[Facet]) -> None:
        now = time.time()
        with tx(self.db):
            self.db.conn.execute("DELETE FROM interest_facets WHERE profile_id = ?", [profile_id])
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO interest_facets (profile_id, key, kind, label, words, strength, last_at, items, "
                "centroid, built_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(profile_id, f.key, f.kind, f.label, json.dumps(list(f.words)), f.strength, f.last_at,
                  json.dumps([[i, t] for i, t in f.items]),
                  None if f.centroid is None else np.asarray(f.centroid, dtype=np.float32).tobytes(), now)
                 for f in facets])

    def choices(self, profile_id: int) -> dict[str, tuple[str, str]]:
        """Facet key -> (choice, label when chosen)."""
        rows = self.db.execute("SELECT key, choice, label FROM facet_choices WHERE profile_id = ?",
                               [profile_id]).fetchall()
        return {k: (c, label) for k, c, label in rows}

    def choose(self, profile_id: int, key: str, choice: str | None, label: str = "") -> None:
        """Pin or delete a facet by key; None takes the choice back."""
        with tx(self.db):
            if choice is None:
                self.db.conn.execute("DELETE FROM facet_choices WHERE profile_id = ? AND key = ?", (profile_id, key))
                return
            if choice not in ("pinned", "deleted"):
                raise InvalidInput(f"a facet is pinned or deleted, not {choice!r}")
            self.db.conn.execute(
                "INSERT OR REPLACE INTO facet_choices (profile_id, key, choice, label, at) VALUES (?, ?, ?, ?, ?)",
                (profile_id, key, choice, clean_text(label, 200), time.time()))

    # -- what was shown -----------------------------------------------------------------------

    def add_impression(self, profile_id: int, imp: Impression) -> int:
        items = [it.to_dict() for it in imp.items[:IMPRESSION_ITEMS]]
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO impressions (profile_id, at, instruction, items) VALUES (?, ?, ?, ?)",
                (profile_id, imp.at, clean_text(imp.instruction, 1000), json.dumps(items)))
            self.db.conn.execute(
                "DELETE FROM impressions WHERE profile_id = ? AND id NOT IN "
                "(SELECT id FROM impressions WHERE profile_id = ? ORDER BY at DESC, id DESC LIMIT ?)",
                (profile_id, profile_id, IMPRESSIONS_KEPT))
            return int(cur.lastrowid)

    def impressions(self, profile_id: int) -> list[Impression]:
        """Oldest first; an item snapshot that no longer validates is left out."""
        rows = self.db.execute("SELECT id, at, instruction, items FROM impressions WHERE profile_id = ? "
                               "ORDER BY at, id", [profile_id]).fetchall()
        out = []
        for ident, at, instruction, items in rows:
            kept = []
            for raw in json.loads(items):
                try:
                    kept.append(Item.from_untrusted(raw))
                except InvalidInput:
                    continue
            out.append(Impression(kept, instruction, at, ident))
        return out

    # -- the learned part as a whole ------------------------------------------------------------

    def reset(self, profile_id: int, at: float | None = None) -> None:
        """Drop what was learned (model, facets, the user's facet choices, the shown lists) and
        learn only from feedback after now; stated preferences and the history stay."""
        with tx(self.db):
            for table in ("personal_models", "interest_facets", "facet_choices", "impressions"):
                self.db.conn.execute(f"DELETE FROM {table} WHERE profile_id = ?", [profile_id])
            self.set_since(profile_id, time.time() if at is None else at)

    def since(self, profile_id: int) -> float:
        """Feedback before this time teaches nothing (the last reset; 0 when never reset)."""
        row = self.db.execute("SELECT at FROM learning_since WHERE profile_id = ?", [profile_id]).fetchone()
        return float(row[0]) if row else 0.0

    def set_since(self, profile_id: int, at: float) -> None:
        with tx(self.db):
            self.db.conn.execute("INSERT OR REPLACE INTO learning_since (profile_id, at) VALUES (?, ?)",
                                 (profile_id, float(at)))

    def export(self, profile_id: int) -> dict[str, Any]:
        m = self.model(profile_id)
        return {
            "since": self.since(profile_id),
            "model": m.to_dict() if m is not None else None,
            "facets": [f.to_dict() for f in self.facets(profile_id)],
            "facet_choices": [{"key": k, "choice": c, "label": label}
                              for k, (c, label) in sorted(self.choices(profile_id).items())],
        }
