"""`PresetAdapter`: runs a preset's data (endpoints, field mapping) through the one egress path.

A list (front page, trending, a subreddit) is fetched whole and re-ranked here, so it carries
nothing of the user's words; only a preset's search, when switched on (`--set search=true`)
and given public words, sends them, as the query plan allows. An endpoint with `ids_then`
answers with ids, each fetched as an item (Hacker News's shape), a few at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.items import Item, json_kind
from shieldrec.platforms.base import Adapter, Query
from shieldrec.platforms.egress import Auth, Limits, Response
from shieldrec.platforms.http_json import check_web_url
from shieldrec.platforms.matching import pick
from shieldrec.platforms.presets import Preset
from shieldrec.platforms.presets.mapping import MISSING, lookup, map_item
from shieldrec.platforms.responses import check_status, parse_json
from shieldrec.sanitize import clean_text

MAX_ITEMS = 200
ID_FETCHES_AT_ONCE = 6  # items of an id list asked at the same time: polite, still quick


def _placeholders(text: str) -> list[str]:
    out, rest = [], text
    while "{" in rest:
        _, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        out.append(name)
    return out


class PresetAdapter(Adapter):
    preset: ClassVar[Preset]

    def __init__(self, name: str, settings: Any, egress: Any) -> None:
        super().__init__(name, settings, egress)
        s = self.settings
        if s["base_url"]:
            check_web_url(s["base_url"], "base_url", name)
            if urlsplit(s["base_url"]).path.strip("/"):
                raise InvalidInput(f"setting 'base_url' is a scheme, host and port only (the paths stay "
                                   f"{self.preset.title}'s own), got {s['base_url']!r}")
        endpoint = self.preset.lists[s.get("list") or self.preset.first_list]
        for needed in self._needs(endpoint):
            if not str(s.get(needed, "")).strip():
                raise InvalidInput(f"this list needs --set {needed}=... ({self._help(needed)})")
        self.limits = Limits.from_settings(s)
        self.auth: Auth | None = {"none": None, "optional": Auth(optional=True), "required": Auth()}[self.preset.key]
        self.skipped: list[str] = []

    # -- what is asked ------------------------------------------------------------------

    def _needs(self, endpoint: Mapping[str, Any]) -> list[str]:
        names = {s.name for s in self.settings_schema}
        texts = [str(endpoint.get("url", "")), *(str(v) for v in endpoint.get("params", {}).values())]
        return [n for t in texts for n in _placeholders(t) if n in names]

    def _help(self, setting: str) -> str:
        return next((s.help for s in self.settings_schema if s.name == setting), "")

    @property
    def takes_query(self) -> bool:
        """Whether a search sends the user's (public) words here; a list never does."""
        return bool(self.settings.get("search")) and self.preset.search is not None

    def endpoint(self, query: Query) -> tuple[dict[str, Any], bool]:
        if self.takes_query and query.text.strip():
            return dict(self.preset.search or {}), True
        return dict(self.preset.lists[self.settings.get("list") or self.preset.first_list]), False

    def address(self, template: str, values: Mapping[str, str]) -> str:
        """The URL of a template, with the user's base_url in place of the platform's scheme, host and port."""
        if template.strip() in ("{url}",):
            url = values.get("url", "")
        else:
            url = template
            for name in _placeholders(template):
                url = url.replace("{" + name + "}", quote(values.get(name, ""), safe=""))
        base = self.settings["base_url"]
        if base:
            parts, new = urlsplit(url), urlsplit(base)
            url = urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))
        return url

    def values(self, query: Query, searching: bool, endpoint: Mapping[str, Any]) -> dict[str, str]:
        values = {k: str(v) for k, v in self.settings.items() if isinstance(v, (str, int, float))}
        values["limit"] = str(query.limit)
        values["kind"] = query.kind
        words = query.text.split() if searching else []
        shape = endpoint.get("query_words")
        if words and isinstance(shape, Mapping):
            values["query"] = str(shape.get("join", " ")).join(str(shape["each"]).replace("{word}", w) for w in words)
        else:
            values["query"] = " ".join(words)
        return values

    # -- asking ---------------------------------------------------------------------------

    async def get(self, url: str, params: Mapping[str, str] | None = None) -> Response:
        response = await self.egress.send(self.name, "GET", url, params=params, auth=self.auth, limits=self.limits)
        check_status(response)
        return response

    async def fetch(self, endpoint: Mapping[str, Any], values: Mapping[str, str]) -> Response:
        url = self.address(str(endpoint["url"]), values)
        params = {}
        for key, template in endpoint.get("params", {}).items():
            text = str(template)
            for name in _placeholders(text):
                text = text.replace("{" + name + "}", values.get(name, ""))
            if text:
                params[key] = text
        return await self.get(url, params)

    async def recommend(self, query: Query) -> list[Item]:
        endpoint, searching = self.endpoint(query)
        values = self.values(query, searching, endpoint)
        response = await self.fetch(endpoint, values)
        if "ids_then" in endpoint:
            items = await self._by_ids(endpoint, response, query.limit, values)
        else:
            items = self.items(endpoint, response)
        return items[: query.limit] if searching else pick(items, query)

    # -- reading --------------------------------------------------------------------------

    def _mapping(self, endpoint: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        return ({**self.preset.fields, **endpoint.get("fields", {})}, {**self.preset.meta, **endpoint.get("meta", {})},
                {**self.preset.flags, **endpoint.get("flags", {})})

    def entries(self, endpoint: Mapping[str, Any], response: Response) -> tuple[list[Any], dict[str, Any]]:
        """The answer's raw entries, and meta every item of it carries."""
        extra: dict[str, Any] = {"kind": self.preset.kind} if self.preset.kind else {}
        if self.preset.format == "feed":
            import feedparser

            feed = feedparser.parse(response.body)
            entries = list(feed.get("entries") or [])
            if not entries and not feed.get("version"):
                reason = clean_text(str(feed.get("bozo_exception", "")), 120) or "no feed elements"
                raise PlatformError(f"{self.name}: the answer is not an RSS or Atom feed ({reason})")
            if not entries:
                raise PlatformError(f"{self.name}: the feed has no entries")
            channel = clean_text(feed.get("feed", {}).get("title"), 200)
            if channel:
                extra["feed"] = channel
            return entries, extra
        data = parse_json(response)
        path = str(endpoint.get("items_path", self.preset.items_path))
        found = lookup(data, path) if path else data
        where = f"'{path}'" if path else "the top level"
        if found is MISSING:
            raise PlatformError(f"{self.name}: the answer has no item list at {where}")
        if not isinstance(found, list):
            raise PlatformError(f"{self.name}: {where} should be a list of items, got {json_kind(found)}")
        if not found:
            raise PlatformError(f"{self.name}: the platform sent an empty list at {where}; nothing to re-rank")
        return found, extra

    def items(self, endpoint: Mapping[str, Any], response: Response) -> list[Item]:
        entries, extra = self.entries(endpoint, response)
        return self.mapped(endpoint, entries, extra)

    def mapped(self, endpoint: Mapping[str, Any], entries: list[Any], extra: Mapping[str, Any]) -> list[Item]:
        fields, meta, flags = self._mapping(endpoint)
        items: list[Item] = []
        self.skipped = []
        for index, raw in enumerate(entries[:MAX_ITEMS], 1):
            if isinstance(raw, Mapping):
                raw = {**raw, "@settings": self.settings}  # a link may name a setting: tmdb's /movie/ or /tv/
            try:
                items.append(map_item(raw, fields=fields, meta=meta, flags=flags, extra_meta=extra,
                                      platform=self.name))
            except InvalidInput as exc:
                self.skipped.append(f"item {index}: {exc}")
        if len(entries) > MAX_ITEMS:
            self.skipped.append(f"{len(entries) - MAX_ITEMS} items past the first {MAX_ITEMS} were not read")
        if not items:
            raise PlatformError(f"{self.name}: no usable item in the answer; {self.skipped[0]}")
        return items

    async def _by_ids(self, endpoint: Mapping[str, Any], response: Response, limit: int,
                      values: Mapping[str, str]) -> list[Item]:
        ids = parse_json(response)
        if not isinstance(ids, list):
            raise PlatformError(f"{self.name}: the answer should be a list of item ids, got {json_kind(ids)}")
        if not ids:
            raise PlatformError(f"{self.name}: the platform sent an empty list; nothing to re-rank")
        wanted = [i for i in ids if isinstance(i, (int, str)) and not isinstance(i, bool)][:limit]
        if not wanted:
            raise PlatformError(f"{self.name}: the id list holds {json_kind(ids[0])}, not item ids")
        gate = asyncio.Semaphore(ID_FETCHES_AT_ONCE)

        failures: list[str] = []

        async def one(item_id: Any) -> Any:
            async with gate:
                url = self.address(str(endpoint["ids_then"]), {**values, "id": str(item_id)})
                try:
                    return parse_json(await self.get(url))
                except PlatformError as exc:
                    failures.append(str(exc))
                    return None

        answers = await asyncio.gather(*(one(i) for i in wanted))
        if len(failures) == len(wanted):
            raise PlatformError(failures[0])
        # A deleted or dead item answers null or without a title: left out, noted.
        return self.mapped(endpoint, list(answers), {"kind": self.preset.kind} if self.preset.kind else {})
