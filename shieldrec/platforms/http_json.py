"""`http-json`: any HTTP(S) endpoint that answers with JSON.

A URL template and a parameter mapping say what is sent (only the query's public words,
its page size and its item kind can be filled in); a field mapping says where the item
list and each item's fields are in the answer.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from shieldrec.errors import InvalidInput
from shieldrec.items import Item
from shieldrec.platforms.base import Adapter, Query, Setting
from shieldrec.platforms.egress import Auth, Limits
from shieldrec.platforms.responses import (
    ITEM_FIELDS,
    MAX_DEPTH,
    MAX_ITEMS,
    item_from,
    items_from,
    lookup,
    parse_json,
)
from shieldrec.store.platform_configs import SECRET_KEYS, credential_in_url, token_in_url_message

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_FILLABLE = ("query", "limit", "kind")

LIMIT_SETTINGS: tuple[Setting, ...] = (
    Setting("timeout", "float", None, help="total seconds this platform gets in a fan-out (default: the caller's)"),
    Setting("connect_timeout", "float", 3.0, help="seconds to connect"),
    Setting("read_timeout", "float", 10.0, help="seconds to wait for data"),
    Setting("max_bytes", "int", 2_000_000, help="largest answer read, in bytes (streamed; reading stops past it)"),
    Setting("max_redirects", "int", 3, help="redirects followed"),
    Setting("retries", "int", 2, help="retries after a 5xx, 429 or timeout"),
    Setting("backoff", "float", 0.5, help="seconds before the first retry, doubled after each"),
    Setting("cache_for", "float", 0.0,
            help="seconds an answer is reused when the platform states no freshness (0: not cached)"),
)


def fill(template: str, values: dict[str, str], *, for_url: bool) -> str:
    def sub(match: re.Match[str]) -> str:
        value = values.get(match.group(1), "")
        return quote(value, safe="") if for_url else value

    return _PLACEHOLDER.sub(sub, template)


def check_template(template: str, setting: str, allowed: tuple[str, ...]) -> None:
    for name in _PLACEHOLDER.findall(template):
        if name not in allowed:
            raise InvalidInput(
                f"setting {setting!r}: unknown placeholder {{{name}}} (allowed: "
                + ", ".join("{" + a + "}" for a in allowed) + ")"
            )


def check_web_url(value: str, setting: str, platform: str = "") -> None:
    plain = value.replace("{", "").replace("}", "")
    parts = urlsplit(plain)
    what = credential_in_url(plain)
    if what:
        raise InvalidInput(token_in_url_message(platform, what))
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"setting {setting!r} must be an http:// or https:// URL, got {value!r}")


class HttpJsonAdapter(Adapter):
    kind: ClassVar[str] = "http-json"
    summary: ClassVar[str] = "any HTTP(S) JSON endpoint: URL template, parameters and a field mapping"
    settings_schema: ClassVar[tuple[Setting, ...]] = (
        Setting("url", "str", required=True, help="endpoint URL; may contain {query}, {limit}, {kind}"),
        Setting("method", "choice", "GET", choices=("GET", "POST"), help="POST sends the parameters as a JSON body"),
        Setting("params", "dict", {"q": "{query}", "limit": "{limit}"},
                help='parameter name -> template, e.g. {"q": "{query}", "n": "{limit}"}'),
        Setting("items_path", "str", "items", help='where the item list is in the answer ("" = the answer itself)'),
        Setting("fields", "dict", {}, help='item field -> path, for ' + ", ".join(ITEM_FIELDS)),
        Setting("meta_fields", "dict", {},
                help='extra item data to keep -> path, e.g. {"rating_count": "stats.ratings"}'),
        Setting("response_meta", "dict", {}, help="answer-level values every item keeps (e.g. an attribution line)"),
        Setting("search_url", "str", "", help="a separate search endpoint (same placeholders)"),
        Setting("item_url", "str", "", help="single-item endpoint with {id}"),
        Setting("item_path", "str", "", help="where the item is in a single-item answer"),
        Setting("auth", "choice", "none", choices=("none", "bearer", "header"),
                help="bearer: Authorization: Bearer <token>; header: the token in auth_header"),
        Setting("auth_header", "str", "X-API-Key", help="header that carries the token when auth = header"),
        Setting("max_items", "int", MAX_ITEMS, help="items read from one answer"),
        Setting("max_depth", "int", MAX_DEPTH, help="deepest JSON nesting accepted"),
        *LIMIT_SETTINGS,
    )

    def __init__(self, name: str, settings: Any, egress: Any) -> None:
        super().__init__(name, settings, egress)
        self.settings = s = self.expand(self.settings)
        check_web_url(s["url"], "url", name)
        check_template(s["url"], "url", _FILLABLE)
        if s["search_url"]:
            check_web_url(s["search_url"], "search_url", name)
            check_template(s["search_url"], "search_url", _FILLABLE)
        if s["item_url"]:
            check_web_url(s["item_url"], "item_url", name)
            check_template(s["item_url"], "item_url", ("id",))
        for key, template in s["params"].items():
            if any(mark in key.lower() for mark in SECRET_KEYS) or key.lower() in ("key", "auth", "access"):
                raise InvalidInput(
                    f"setting 'params': {key!r} looks like a credential; store the token with "
                    "`shieldrec platform login` and set auth=bearer or auth=header"
                )
            if not isinstance(template, (str, int, float)) or isinstance(template, bool):
                raise InvalidInput(f"setting 'params': the value for {key!r} must be text or a number")
            check_template(str(template), f"params.{key}", _FILLABLE)
        for key in s["fields"]:
            if key not in ITEM_FIELDS:
                raise InvalidInput(f"setting 'fields': {key!r} is not an item field ({', '.join(ITEM_FIELDS)})")
        for mapping in ("fields", "meta_fields", "response_meta"):
            if not all(isinstance(v, str) for v in s[mapping].values()):
                raise InvalidInput(f"setting {mapping!r}: every path must be text")
        self.limits = Limits.from_settings(s)
        self.auth: Auth | None = {
            "none": None,
            "bearer": Auth("Authorization", "Bearer"),
            "header": Auth(s["auth_header"], ""),
        }[s["auth"]]
        self.skipped: list[str] = []

    def expand(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The full http-json settings; presets built on this adapter fill them in from their own."""
        return settings

    async def recommend(self, query: Query) -> list[Item]:
        return await self._list(self.settings["url"], query)

    async def search(self, query: Query) -> list[Item]:
        return await self._list(self.settings["search_url"] or self.settings["url"], query)

    async def item(self, item_id: str) -> Item | None:
        template = self.settings["item_url"]
        if not template:
            return await super().item(item_id)
        url = fill(template, {"id": item_id}, for_url=True)
        response = await self.egress.send(self.name, "GET", url, auth=self.auth, limits=self.limits)
        if response.status == 404:
            return None
        data = parse_json(response, max_depth=self.settings["max_depth"])
        found = lookup(data, self.settings["item_path"])
        return item_from(found, platform=self.name, fields=self.settings["fields"],
                         meta_fields=self.settings["meta_fields"])

    def request_for(self, template: str, query: Query) -> tuple[str, dict[str, str]]:
        """The URL and parameters this query becomes: nothing but the query's own values."""
        values = {"query": query.text, "limit": str(query.limit), "kind": query.kind}
        url = fill(template, values, for_url=True)
        params = {key: fill(str(t), values, for_url=False) for key, t in self.settings["params"].items()}
        return url, {k: v for k, v in params.items() if v != ""}

    async def _list(self, template: str, query: Query) -> list[Item]:
        url, params = self.request_for(template, query)
        post = self.settings["method"] == "POST"
        response = await self.egress.send(
            self.name, self.settings["method"], url,
            params=None if post else params, json_body=params if post else None,
            auth=self.auth, limits=self.limits,
        )
        data = parse_json(response, max_depth=self.settings["max_depth"])
        items, self.skipped = items_from(
            data, platform=self.name, items_path=self.settings["items_path"], fields=self.settings["fields"],
            meta_fields=self.settings["meta_fields"], response_meta=self.settings["response_meta"],
            max_items=self.settings["max_items"],
        )
        return items
