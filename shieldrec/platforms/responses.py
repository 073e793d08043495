"""Turning a platform's answer into items: JSON with bounds, a field mapping, clear errors.

Whatever a platform sends is untrusted. Structure problems (not JSON, nested too deeply,
no item list) fail the whole answer with a message naming the platform and the field;
a single malformed item is left out and noted, and every kept item goes through
`Item.from_untrusted`, the one sanitizer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.items import Item, json_kind
from shieldrec.platforms.egress import Response
from shieldrec.sanitize import clean_text, nesting_depth

MAX_DEPTH = 20
MAX_ITEMS = 200
ITEM_FIELDS = ("id", "title", "text", "creator", "url", "sponsored")
DEFAULT_FIELDS: dict[str, str] = {
    "id": "id",
    "title": "title",
    "text": "description",
    "creator": "creator",
    "url": "url",
    "sponsored": "sponsored",
}
_MISSING = object()


json_type = json_kind


def check_status(response: Response) -> None:
    name, status = response.platform, response.status
    if status in (401, 403):
        raise PlatformError(
            f"{name}: the platform refused the request (HTTP {status}); "
            f"check the token with `shieldrec platform login {name}`"
        )
    if status == 429:
        wait = response.retry_after
        when = f"retry after {math.ceil(wait)} s" if wait is not None else "try again later"
        raise PlatformError(f"{name}: rate limited, {when}")
    if status == 404:
        raise PlatformError(f"{name}: not found (HTTP 404) at {clean_text(response.url, 200)}")
    if status >= 400:
        raise PlatformError(f"{name}: the platform answered HTTP {status}")


def parse_json(response: Response, *, max_depth: int = MAX_DEPTH) -> Any:
    check_status(response)
    name = response.platform
    try:
        text = response.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlatformError(f"{name}: the answer is not UTF-8 text, so not JSON") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise PlatformError(f"{name}: the JSON answer is nested too deeply (more than {max_depth} levels)") from None
    except ValueError:
        kind = clean_text(response.content_type.split(";")[0], 60) or "no content type"
        start = clean_text(text[:40], 40)
        raise PlatformError(f"{name}: the answer is not JSON ({kind}; it starts with {start!r})") from None
    if nesting_depth(data, max_depth) > max_depth:
        raise PlatformError(f"{name}: the JSON answer is nested too deeply (more than {max_depth} levels)")
    return data


def lookup(data: Any, path: str) -> Any:
    """Follow a dotted path ("data.results", "stats.0.count"); "" is the value itself."""
    node = data
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _text_field(value: Any, field: str, path: str, *, allow_list: bool = False) -> str | None:
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    if allow_list and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    raise InvalidInput(f"'{field}' (at '{path}') should be text, got {json_type(value)}")


def _one(raw: Any, fields: Mapping[str, str], meta_fields: Mapping[str, str], extra_meta: Mapping[str, Any],
         platform: str) -> Item:
    if not isinstance(raw, dict):
        raise InvalidInput(f"should be an object, got {json_type(raw)}")
    item_id = lookup(raw, fields["id"])
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        got = "nothing" if item_id is _MISSING else json_type(item_id)
        raise InvalidInput(f"'id' (at '{fields['id']}') should be text or a whole number, got {got}")
    title = _text_field(lookup(raw, fields["title"]), "title", fields["title"])
    if not title:
        raise InvalidInput(f"'title' (at '{fields['title']}') is missing")
    sponsored = lookup(raw, fields["sponsored"])
    if sponsored is _MISSING or sponsored is None:
        sponsored = False
    elif not isinstance(sponsored, (bool, int, str)):
        raise InvalidInput(f"'sponsored' (at '{fields['sponsored']}') should be true/false, got {json_type(sponsored)}")
    meta = dict(extra_meta)
    for key, path in meta_fields.items():
        value = lookup(raw, path)
        if value is not _MISSING and value is not None:
            meta[key] = value
    return Item.from_untrusted(
        {
            "id": str(item_id),
            "title": title,
            "text": _text_field(lookup(raw, fields["text"]), "text", fields["text"]) or "",
            "creator": _text_field(lookup(raw, fields["creator"]), "creator", fields["creator"], allow_list=True) or "",
            "url": _text_field(lookup(raw, fields["url"]), "url", fields["url"]) or "",
            "sponsored": sponsored,
            "meta": meta,
        },
        platform=platform,
    )


def item_from(raw: Any, *, platform: str, fields: Mapping[str, str] | None = None,
              meta_fields: Mapping[str, str] | None = None) -> Item:
    """One item object (an item-lookup answer) mapped and sanitized."""
    try:
        return _one(raw, {**DEFAULT_FIELDS, **(fields or {})}, meta_fields or {}, {}, platform)
    except InvalidInput as exc:
        raise PlatformError(f"{platform}: the item {exc}") from None


def items_from(
    data: Any,
    *,
    platform: str,
    items_path: str = "items",
    fields: Mapping[str, str] | None = None,
    meta_fields: Mapping[str, str] | None = None,
    response_meta: Mapping[str, str] | None = None,
    max_items: int = MAX_ITEMS,
) -> tuple[list[Item], list[str]]:
    """Items from a parsed answer, and a note per item that had to be left out.

    `response_meta` maps a meta key to a path in the whole answer (an attribution line,
    say) that every item carries.
    """
    found = lookup(data, items_path)
    where = f"'{items_path}'" if items_path else "the top level"
    if found is _MISSING:
        raise PlatformError(f"{platform}: the answer has no item list at {where}")
    if not isinstance(found, list):
        raise PlatformError(f"{platform}: {where} should be a list of items, got {json_type(found)}")
    mapping = {**DEFAULT_FIELDS, **(fields or {})}
    extra: dict[str, Any] = {}
    for key, path in (response_meta or {}).items():
        value = lookup(data, path)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            extra[key] = value
    items: list[Item] = []
    skipped: list[str] = []
    for index, raw in enumerate(found[:max_items], 1):
        try:
            items.append(_one(raw, mapping, meta_fields or {}, extra, platform))
        except InvalidInput as exc:
            skipped.append(f"item {index}: {exc}")
    if len(found) > max_items:
        skipped.append(f"{len(found) - max_items} items past the first {max_items} were not read")
    if found and not items:
        raise PlatformError(f"{platform}: no usable item in the answer; {skipped[0]}")
    return items, skipped
