"""`file`: a catalogue on disk (JSONL, JSON or CSV), such as a platform's data export, or a
saved RSS/Atom feed.

Nothing leaves the machine: the file is read (once per change) and the query matched
locally. The same field mapping as `http-json` says which column or key is what; a feed's
entries are read as the `rss` adapter reads them.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

from shieldrec.errors import PlatformError
from shieldrec.items import Item
from shieldrec.platforms.base import Adapter, Query, Setting
from shieldrec.platforms.egress import Response
from shieldrec.platforms.matching import pick
from shieldrec.platforms.responses import ITEM_FIELDS, MAX_DEPTH, items_from, parse_json

MAX_FILE_BYTES = 200_000_000
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "csv",
            ".rss": "feed", ".atom": "feed", ".xml": "feed"}
_cache: dict[tuple[str, int, int, str], tuple[list[Item], list[str]]] = {}
_cache_lock = threading.Lock()


class FileAdapter(Adapter):
    kind: ClassVar[str] = "file"
    summary: ClassVar[str] = ("a JSONL, JSON or CSV catalogue or an RSS/Atom feed file on disk (a platform's data "
                              "export, a saved feed); nothing is sent")
    settings_schema: ClassVar[tuple[Setting, ...]] = (
        Setting("path", "str", required=True, help="the catalogue file"),
        Setting("format", "choice", "auto", choices=("auto", "jsonl", "json", "csv", "feed"),
                help="auto: by the file's suffix (.rss, .atom and .xml are feeds)"),
        Setting("items_path", "str", "", help='JSON only: where the item list is ("" = the top level)'),
        Setting("fields", "dict", {}, help="item field -> key or column, for " + ", ".join(ITEM_FIELDS)),
        Setting("meta_fields", "dict", {}, help="extra data to keep -> key or column"),
        Setting("max_items", "int", 100_000, help="entries read from the file"),
        Setting("max_bytes", "int", MAX_FILE_BYTES, help="largest file read"),
        Setting("timeout", "float", None, help="total seconds in a fan-out"),
    )

    def __init__(self, name: str, settings: Any, egress: Any) -> None:
        super().__init__(name, settings, egress)
        self.path = Path(self.settings["path"]).expanduser()
        fmt = self.settings["format"]
        if fmt == "auto":
            fmt = SUFFIXES.get(self.path.suffix.lower(), "")
            if not fmt:
                raise PlatformError(f"{name}: cannot tell the format of {self.path.name}; "
                                    "set format=jsonl|json|csv|feed")
        self.format = fmt
        self.skipped: list[str] = []

    async def recommend(self, query: Query) -> list[Item]:
        items, self.skipped = self._load()
        return pick(items, query)

    async def item(self, item_id: str) -> Item | None:
        items, _ = self._load()
        return next((i for i in items if i.item_id == item_id), None)

    def _load(self) -> tuple[list[Item], list[str]]:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise PlatformError(f"{self.name}: cannot read {self.path}: {exc.strerror}") from None
        if stat.st_size > self.settings["max_bytes"]:
            raise PlatformError(f"{self.name}: {self.path.name} is {stat.st_size:,} bytes, over the limit")
        key = (str(self.path.resolve()), stat.st_mtime_ns, stat.st_size, json.dumps(self.settings, sort_keys=True))
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        loaded = self._read()
        with _cache_lock:
            _cache.clear()  # one catalogue at a time is plenty; old versions are stale anyway
            _cache[key] = loaded
        return loaded

    def _read(self) -> tuple[list[Item], list[str]]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise PlatformError(f"{self.name}: cannot read {self.path}: {exc.strerror}") from None
        if self.format == "feed":
            from shieldrec.platforms.rss import parse_feed

            return parse_feed(raw, self.name, self.settings["max_items"])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlatformError(f"{self.name}: {self.path.name} is not UTF-8 text") from None
        notes: list[str] = []
        if self.format == "json":
            data = parse_json(Response(self.name, 200, str(self.path), "application/json", raw), max_depth=MAX_DEPTH)
            path = self.settings["items_path"]
        elif self.format == "jsonl":
            data, path = [], ""
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    data.append(json.loads(line))
                except (ValueError, RecursionError):
                    notes.append(f"line {number}: not JSON")
        else:
            dialect = "excel-tab" if self.path.suffix.lower() == ".tsv" else "excel"
            try:
                data, path = list(csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)), ""
            except csv.Error as exc:
                raise PlatformError(f"{self.name}: {self.path.name} is not valid CSV: {exc}") from None
        items, skipped = items_from(
            data, platform=self.name, items_path=path, fields=self.settings["fields"],
            meta_fields=self.settings["meta_fields"], max_items=self.settings["max_items"],
        )
        return items, notes + skipped
