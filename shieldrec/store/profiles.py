"""Named profiles: stated and learned preferences, interaction history, import/export, forget."""

from __future__ import annotations

import heapq
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shieldrec.errors import InvalidInput, ProfileExists, ProfileNotFound, ShieldRecError
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.sanitize import clean_text, nesting_depth
from shieldrec.store.audit import AuditLog
from shieldrec.store.conversations import Conversations, Message
from shieldrec.store.db import open_db, tx
from shieldrec.store.disputes import Dispute, Disputes
from shieldrec.store.embeddings import EmbeddingCache, install_key
from shieldrec.store.later import LaterEntry, WatchList
from shieldrec.store.learned import Facet, Learned, PersonalModel
from shieldrec.store.platform_configs import PlatformConfig, PlatformConfigs

EXPORT_FORMAT = "shieldrec-profile"
EXPORT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Profile:
    id: int
    name: str
    about: str
    created_at: float


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"profile name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'"
        )
    return name


class Store:
    """The private profile database. One per machine (or per SHIELDREC_HOME)."""

    def __init__(self, path: Path | None = None) -> None:
        self.db = open_db(path)
        self.path = Path(self.db.conn.execute("PRAGMA database_list").fetchone()[2])
        try:
            secret = install_key(self.path)
        except OSError as exc:
            self.db.close()
            raise ShieldRecError(f"the embedding cache key beside {self.path} cannot be made: {exc}") from None
        self.embeddings = EmbeddingCache(self.db, secret)
        self.embeddings.check_key()
        self.audit = AuditLog(self.db)
        self.platforms = PlatformConfigs(self.db)
        self.conversations = Conversations(self.db)
        self.later = WatchList(self.db)
        self.disputes = Disputes(self.db)
        self.learned = Learned(self.db)

    def close(self) -> None:
        self.db.close()

    # -- profiles -------------------------------------------------------------------------

    def create_profile(self, name: str, about: str = "") -> Profile:
        check_name(name)
        with tx(self.db):
            if self._find(name):
                raise ProfileExists(f"a profile named {name!r} already exists")
            self.db.conn.execute(
                "INSERT INTO profiles (name, about, created_at) VALUES (?, ?, ?)",
                (name, clean_text(about, 2000), time.time()),
            )
        return self.profile(name)

    def _find(self, name: str) -> Profile | None:
        row = self.db.execute("SELECT id, name, about, created_at FROM profiles WHERE name = ?", [name]).fetchone()
        return Profile(*row) if row else None

    def profile(self, name: str) -> Profile:
        found = self._find(name)
        if not found:
            known = ", ".join(p.name for p in self.profiles()) or "none yet"
            raise ProfileNotFound(f"no profile named {name!r} (profiles: {known})")
        return found

    def profiles(self) -> list[Profile]:
        rows = self.db.execute("SELECT id, name, about, created_at FROM profiles ORDER BY name").fetchall()
        return [Profile(*r) for r in rows]

    # -- preferences ----------------------------------------------------------------------

    def add_preference(self, profile: Profile, pref: Preference) -> int:
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO preferences (profile_id, kind, target, value, weight, origin, evidence, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (profile.id, pref.kind, pref.target, pref.value, pref.weight, pref.origin, pref.evidence, pref.created_at),
            )
            return int(cur.lastrowid)

    def preferences(self, profile: Profile) -> list[Preference]:
        rows = self.db.execute(
            "SELECT id, kind, target, value, weight, origin, evidence, created_at FROM preferences "
            "WHERE profile_id = ? ORDER BY id",
            [profile.id],
        ).fetchall()
        return [
            Preference(id=r[0], kind=r[1], target=r[2], value=r[3], weight=r[4], origin=r[5], evidence=r[6], created_at=r[7])
            for r in rows
        ]

    def update_preference(self, profile: Profile, pref_id: int, **fields: Any) -> None:
        current = {p.id: p for p in self.preferences(profile)}.get(pref_id)
        if current is None:
            raise InvalidInput(f"no preference #{pref_id} in profile {profile.name!r}")
        merged = Preference.from_untrusted({**current.to_dict(), **fields})
        with tx(self.db):
            self.db.conn.execute(
                "UPDATE preferences SET kind = ?, target = ?, value = ?, weight = ?, origin = ?, evidence = ? "
                "WHERE id = ? AND profile_id = ?",
                (merged.kind, merged.target, merged.value, merged.weight, merged.origin, merged.evidence, pref_id, profile.id),
            )

    def remove_preference(self, profile: Profile, pref_id: int) -> None:
        with tx(self.db):
            cur = self.db.conn.execute("DELETE FROM preferences WHERE id = ? AND profile_id = ?", (pref_id, profile.id))
        if cur.rowcount == 0:
            raise InvalidInput(f"no preference #{pref_id} in profile {profile.name!r}")

    # -- history --------------------------------------------------------------------------

    def add_event(self, profile: Profile, ev: HistoryEvent) -> int:
        it = ev.item
        with tx(self.db):
            cur = self.db.conn.execute(
                "INSERT INTO history (profile_id, item_id, title, text, creator, source, url, sponsored, meta, "
                "platforms, event, rating, instruction, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile.id, it.item_id, it.title, it.text, it.creator, it.source, it.url, int(it.sponsored),
                    json.dumps(it.meta), json.dumps(it.platforms), ev.event, ev.rating, ev.instruction, ev.at,
                ),
            )
            return int(cur.lastrowid)

    def history(self, profile: Profile, limit: int | None = None) -> list[HistoryEvent]:
        """Oldest first; with `limit`, the most recent `limit` events."""
        if not limit:
            return self._events(profile)
        return self._events(
            profile, "AND id IN (SELECT id FROM history WHERE profile_id = ? ORDER BY at DESC, id DESC LIMIT ?)",
            [profile.id, limit],
        )

    def history_since(self, profile: Profile, at: float) -> list[HistoryEvent]:
        """The events at or after `at`, oldest first."""
        return self._events(profile, "AND at >= ?", [at])

    def _events(self, profile: Profile, where: str = "", args: list[Any] | None = None) -> list[HistoryEvent]:
        rows = self.db.execute(
            "SELECT id, item_id, title, text, creator, source, url, sponsored, meta, platforms, event, rating, "
            f"instruction, at FROM history WHERE profile_id = ? {where} ORDER BY at, id",
            [profile.id, *(args or [])],
        ).fetchall()
        return [
            HistoryEvent(
                id=r[0],
                item=Item(item_id=r[1], title=r[2], text=r[3], creator=r[4], source=r[5], url=r[6],
                          sponsored=bool(r[7]), meta=json.loads(r[8]), platforms=json.loads(r[9])),
                event=r[10], rating=r[11], instruction=r[12], at=r[13],
            )
            for r in rows
        ]

    def has_event(self, profile: Profile, event_id: int) -> bool:
        row = self.db.execute("SELECT 1 FROM history WHERE id = ? AND profile_id = ?", [event_id, profile.id])
        return row.fetchone() is not None

    def remove_event(self, profile: Profile, event_id: int) -> None:
        with tx(self.db):
            cur = self.db.conn.execute("DELETE FROM history WHERE id = ? AND profile_id = ?", (event_id, profile.id))
        if cur.rowcount == 0:
            raise InvalidInput(f"no history entry #{event_id} in profile {profile.name!r}")

    # -- what events are about (for learning from feedback) -------------------------------

    def index_history(self, profile: Profile, keys_of: Callable[[Item], Sequence[tuple[str, str]]]) -> int:
        """Record what each event not indexed yet is about, `keys_of(item)` (new events, or all
        of them once after an import); returns how many were indexed."""
        rows = self.db.execute(
            "SELECT id, item_id, title, creator, meta, event, rating, at FROM history "
            "WHERE profile_id = ? AND keyed = 0",
            [profile.id],
        ).fetchall()
        if not rows:
            return 0
        keyed = []
        for event_id, item_id, title, creator, meta, event, rating, at in rows:
            ev = HistoryEvent(Item(item_id=item_id, title=title, creator=creator, meta=json.loads(meta)), event, rating)
            polarity = 1 if ev.positive else -1 if ev.negative else 0
            keyed += [(event_id, profile.id, target, value, item_id, at, polarity)
                      for target, value in dict.fromkeys(keys_of(ev.item))]
        with tx(self.db):
            # An event deleted meanwhile (an undo in another thread) is skipped, not an error.
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO history_keys (event_id, profile_id, target, value, item_id, at, polarity) "
                "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM history WHERE id = ?1)", keyed,
            )
            self.db.conn.executemany("UPDATE history SET keyed = 1 WHERE id = ?", [(r[0],) for r in rows])
        return len(rows)

    def feedback_about(self, profile: Profile, target: str, value: str,
                       newest: int = 3) -> dict[int, tuple[int, list[HistoryEvent]]]:
        """For polarity 1 (counts for) and -1 (against): how many items have that as their latest
        feedback about (`target`, `value`), and the newest `newest` of those events (their
        items carry only id and title)."""
        latest = self.db.execute(
            # SQLite takes the bare columns from the row that holds MAX(at): each item's latest.
            "SELECT polarity, event_id, MAX(at) FROM history_keys "
            "WHERE profile_id = ? AND target = ? AND value = ? AND polarity != 0 GROUP BY item_id",
            [profile.id, target, value],
        ).fetchall()
        out: dict[int, tuple[int, list[HistoryEvent]]] = {}
        for polarity in (1, -1):
            picked = [(at, event_id) for p, event_id, at in latest if p == polarity]
            out[polarity] = (len(picked), self._events_by_id([i for _, i in heapq.nlargest(newest, picked)]))
        return out

    def _events_by_id(self, ids: list[int]) -> list[HistoryEvent]:
        if not ids:
            return []
        rows = self.db.execute(
            f"SELECT id, item_id, title, event, rating, at FROM history WHERE id IN ({','.join('?' * len(ids))})", ids,
        ).fetchall()
        found = {r[0]: HistoryEvent(id=r[0], item=Item(item_id=r[1], title=r[2]), event=r[3], rating=r[4], at=r[5])
                 for r in rows}
        return [found[i] for i in ids if i in found]

    # -- export / import / forget ---------------------------------------------------------

    def export_profile(self, name: str) -> dict[str, Any]:
        p = self.profile(name)
        conversations = []
        for conv in self.conversations.list(p.id):
            conversations.append({
                "title": conv.title, "started_at": conv.started_at, "updated_at": conv.updated_at,
                "messages": [m.to_dict() for m in self.conversations.messages(conv.id)],
            })
        conversations.sort(key=lambda c: c["started_at"])
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "profile": {"name": p.name, "about": p.about, "created_at": p.created_at},
            "preferences": [x.to_dict() for x in self.preferences(p)],
            "history": [x.to_dict() for x in self.history(p)],
            "platforms": [c.to_dict() for c in self.platforms.list(p.id)],
            "conversations": conversations,
            "later": [e.to_dict() for e in reversed(self.later.list(p.id))],
            "disputed_reasons": [d.to_dict() for d in reversed(self.disputes.list(p.id))],
            "learned": self.learned.export(p.id),
        }

    def import_profile(self, data: Any, *, name: str | None = None, replace: bool = False) -> Profile:
        """Validate everything first, then write it all in one transaction: nothing half-imported."""
        parsed = parse_profile_document(data)
        name = check_name(name or parsed["name"])
        with tx(self.db):
            existing = self._find(name)
            if existing and not replace:
                raise ProfileExists(f"a profile named {name!r} already exists (use --replace to overwrite it)")
            if existing:
                self.db.conn.execute("DELETE FROM profiles WHERE id = ?", [existing.id])
            self.db.conn.execute(
                "INSERT INTO profiles (name, about, created_at) VALUES (?, ?, ?)",
                (name, parsed["about"], parsed["created_at"]),
            )
            p = self._find(name)
            assert p is not None
            for pref in parsed["preferences"]:
                self.add_preference(p, pref)
            for ev in parsed["history"]:
                self.add_event(p, ev)
            for cfg in parsed["platforms"]:
                self.platforms.save(p.id, cfg)
            for conv in parsed["conversations"]:
                cid = self.conversations.start(p.id, conv["title"])
                for m in conv["messages"]:
                    self.conversations.add(cid, m)
                self.db.conn.execute(
                    "UPDATE conversations SET started_at = ?, updated_at = ?, title = ? WHERE id = ?",
                    (conv["started_at"], conv["updated_at"], conv["title"], cid),
                )
            for entry in parsed["later"]:
                self.later.add(p.id, entry)
            for dispute in parsed["disputed_reasons"]:
                self.disputes.add(p.id, dispute)
            learned = parsed["learned"]
            if learned["model"] is not None:
                self.learned.save_model(p.id, learned["model"])
            self.learned.replace_facets(p.id, learned["facets"])
            for key, choice, label in learned["facet_choices"]:
                self.learned.choose(p.id, key, choice, label)
            if learned["since"]:
                self.learned.set_since(p.id, learned["since"])
        return p

    def forget(self, name: str) -> None:
        """Delete everything of the profile and leave no trace of it in the file."""
        p = self.profile(name)
        texts = _profile_texts(self.export_profile(name))
        with self.db.lock:  # type: ignore[attr-defined]
            with tx(self.db):
                self.embeddings.delete_owned(p.id)
                self.db.conn.execute("DELETE FROM profiles WHERE id = ?", [p.id])
                self.embeddings.delete_texts(texts)
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.conn.execute("VACUUM")
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _profile_texts(doc: dict[str, Any]) -> list[str]:
    """Every string a profile holds, so the embedding cache can drop their vectors too."""
    out: list[str] = []
    for pref in doc["preferences"]:
        out.append(pref["value"])
    for ev in doc["history"]:
        item = Item(**ev["item"])
        out += [item.title, item.text, item.content, ev["instruction"]]
    for conv in doc["conversations"]:
        out += [m["content"] for m in conv["messages"]]
    for entry in doc.get("later", []):
        item = Item(**entry["item"])
        out += [item.title, item.text, item.content]
    return [t for t in out if t]


MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 32  # a profile nests a handful of levels; a message payload a few more


def load_profile_file(path: Path) -> dict[str, Any]:
    """Read a profile file (TOML or JSON) a user wants to import."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    return parse_profile_bytes(raw, "toml" if path.suffix.lower() == ".toml" else "json", str(path))


def parse_profile_bytes(raw: bytes, kind: str, where: str) -> Any:
    """A profile document from the bytes of a file or standard input (`kind`: json or toml);
    every way it can be unreadable is an InvalidInput naming `where`."""
    import tomllib

    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{where} is larger than 50 MB; that is not a profile")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{where} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text) if kind == "toml" else json.loads(text)
    except RecursionError:
        raise InvalidInput(f"{where} is nested too deeply to be a profile") from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise InvalidInput(f"{where} is not valid {kind.upper()}: {clean_text(str(exc), 200)}") from None
    if nesting_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidInput(f"{where} is nested too deeply to be a profile (more than {MAX_DEPTH} levels)")
    return data


def parse_profile_document(data: Any) -> dict[str, Any]:
    """Check a whole profile document; raise InvalidInput naming the first bad entry."""
    if not isinstance(data, dict):
        raise InvalidInput("a profile document must be an object")
    if nesting_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidInput(f"the profile is nested too deeply (more than {MAX_DEPTH} levels)")
    fmt = data.get("format", EXPORT_FORMAT)
    if fmt != EXPORT_FORMAT:
        raise InvalidInput(f"not a ShieldRec profile (format {fmt!r})")
    version = data.get("version", EXPORT_VERSION)
    if version != EXPORT_VERSION:
        raise InvalidInput(f"profile format version {version!r} is not supported (expected {EXPORT_VERSION})")
    head = data.get("profile", {})
    if not isinstance(head, dict):
        raise InvalidInput("'profile' must be a table/object with at least a 'name'")

    def entries(key: str) -> list[Any]:
        value = data.get(key, [])
        if not isinstance(value, list):
            raise InvalidInput(f"'{key}' must be a list")
        return value

    def each(key: str, build: Any) -> list[Any]:
        out = []
        for i, raw in enumerate(entries(key), 1):
            try:
                out.append(build(raw))
            except InvalidInput as exc:
                raise InvalidInput(f"{key} entry {i}: {exc}") from None
        return out

    def platform(raw: Any) -> PlatformConfig:
        if not isinstance(raw, dict) or not isinstance(raw.get("settings", {}), dict):
            raise InvalidInput("a platform needs 'name', 'adapter' and a 'settings' object")
        cfg = PlatformConfig(
            name=clean_text(raw.get("name"), 64),
            adapter=clean_text(raw.get("adapter"), 64),
            settings=raw.get("settings", {}),
            enabled=bool(raw.get("enabled", True)),
        )
        if not cfg.name or not cfg.adapter:
            raise InvalidInput("a platform needs 'name' and 'adapter'")
        return cfg

    def conversation(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("messages", []), list):
            raise InvalidInput("a conversation needs a 'messages' list")
        msgs = []
        for m in raw.get("messages", []):
            if not isinstance(m, dict) or m.get("role") not in ("user", "agent"):
                raise InvalidInput("each message needs a role of 'user' or 'agent'")
            payload = m.get("payload", {})
            msgs.append(Message(
                role=m["role"], content=clean_text(m.get("content"), 20000, multiline=True),
                payload=payload if isinstance(payload, dict) else {},
                at=float(m.get("at", time.time())),
            ))
        return {
            "title": clean_text(raw.get("title"), 200), "messages": msgs,
            "started_at": float(raw.get("started_at", time.time())),
            "updated_at": float(raw.get("updated_at", time.time())),
        }

    created = head.get("created_at", time.time())
    return {
        "name": head.get("name", ""),
        "about": clean_text(head.get("about"), 2000),
        "created_at": float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else time.time(),
        "preferences": each("preferences", Preference.from_untrusted),
        "history": each("history", HistoryEvent.from_untrusted),
        "platforms": each("platforms", platform),
        "conversations": each("conversations", conversation),
        "later": each("later", LaterEntry.from_untrusted),
        "disputed_reasons": each("disputed_reasons", Dispute.from_untrusted),
        "learned": _learned_part(data.get("learned")),
    }


def _learned_part(raw: Any) -> dict[str, Any]:
    """The learned part of an export: the personal model, the facets, the user's facet choices.
    Facets come without their centroids (the next update recomputes them from the history)."""
    if raw is None:
        return {"since": 0.0, "model": None, "facets": [], "facet_choices": []}
    if not isinstance(raw, dict):
        raise InvalidInput("'learned' must be an object")
    try:
        model = PersonalModel.from_untrusted(raw["model"]) if raw.get("model") is not None else None
    except InvalidInput as exc:
        raise InvalidInput(f"learned.model: {exc}") from None
    facets, choices = [], []
    for key in ("facets", "facet_choices"):
        if not isinstance(raw.get(key) or [], list):
            raise InvalidInput(f"learned.{key} must be a list")
    for i, f in enumerate(raw.get("facets") or [], 1):
        try:
            if not isinstance(f, dict) or f.get("kind") not in ("like", "avoid"):
                raise InvalidInput("a facet needs a kind of 'like' or 'avoid'")
            strength, last_at = float(f.get("strength", 0.0)), float(f.get("last_at", 0.0))
            if not (math.isfinite(strength) and math.isfinite(last_at)):
                raise InvalidInput("a facet's strength and time must be finite numbers")
            items = [(int(x["event_id"]), clean_text(x.get("title"), 300)) for x in f.get("items") or []]
            facets.append(Facet(key=clean_text(f.get("key"), 200), kind=f["kind"], label=clean_text(f.get("label"), 200),
                                words=tuple(clean_text(w, 60) for w in f.get("words") or []), strength=strength,
                                last_at=last_at, items=items))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"learned.facets entry {i}: {exc}") from None
        except InvalidInput as exc:
            raise InvalidInput(f"learned.facets entry {i}: {exc}") from None
    for i, c in enumerate(raw.get("facet_choices") or [], 1):
        if not isinstance(c, dict) or c.get("choice") not in ("pinned", "deleted") or not isinstance(c.get("key"), str):
            raise InvalidInput(f"learned.facet_choices entry {i}: needs a 'key' and a choice of 'pinned' or 'deleted'")
        choices.append((clean_text(c["key"], 200), c["choice"], clean_text(c.get("label"), 200)))
    since = raw.get("since", 0.0)
    if isinstance(since, bool) or not isinstance(since, (int, float)) or not math.isfinite(since):
        raise InvalidInput("learned.since must be a time (a number)")
    return {"since": float(since), "model": model, "facets": facets, "facet_choices": choices}
