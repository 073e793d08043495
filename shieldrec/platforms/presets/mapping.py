"""A preset's field mapping: where each item field is in a platform's answer, written as data.

A field is a dotted path ("data.title"; "*" maps over a list: "authors.*.name"), a list of
alternatives tried in order (the first present wins), or an object with the path (or a
`template` of paths, "https://bsky.app/profile/{post.author.handle}/post/{post.uri|last}")
and what to do with the value: `html` (visible text of an HTML fragment), `first_line` (a
title made from the start of a text), `join` (a list into one text), `epoch` (seconds since
1970 as a date), `map` (codes to names, e.g. genre ids). Every mapped item then goes through
`Item.from_untrusted`, the one sanitizer.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from shieldrec.errors import InvalidInput
from shieldrec.items import Item, json_kind

MISSING: Any = object()
TITLE_CHARS = 120


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path; `*` maps the rest of the path over a list."""
    parts = [p for p in path.split(".") if p]
    return _walk(data, parts)


def _walk(node: Any, parts: list[str]) -> Any:
    for index, part in enumerate(parts):
        if part == "*":
            if not isinstance(node, list):
                return MISSING
            found = [_walk(child, parts[index + 1:]) for child in node]
            return [v for v in found if v is not MISSING and v is not None]
        if isinstance(node, Mapping):
            node = node.get(part, MISSING)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def _fill(template: str, raw: Any) -> Any:
    out, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        path, _, how = name.partition("|")
        value = lookup(raw, path)
        if value is MISSING or value is None or value == "" or isinstance(value, (dict, list)):
            return MISSING
        text = str(value)
        if how == "last":
            text = text.rstrip("/").rsplit("/", 1)[-1]
        out += [head, quote(text, safe="/:@")]
    return "".join(out) + rest


def _text_of(value: Any, spec: Mapping[str, Any]) -> Any:
    if isinstance(value, list) and "join" in spec:
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise InvalidInput(f"should be a list of texts, got a list holding {json_kind(value[0])}")
        value = str(spec["join"]).join(str(v) for v in value)
    if spec.get("html") and isinstance(value, str):
        from shieldrec.platforms.rss import html_text

        value = html_text(value).strip()
    if spec.get("first_line") and isinstance(value, str):
        line = next((ln.strip() for ln in value.splitlines() if ln.strip()), "")
        limit = int(spec["first_line"])
        value = line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"
    if spec.get("epoch") and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if "map" in spec:
        table = spec["map"]
        if isinstance(value, list):
            value = [table.get(str(v), v) for v in value]
        elif isinstance(value, (str, int)):
            value = table.get(str(value), value)
    return value


def resolve(raw: Any, spec: Any) -> tuple[Any, str]:
    """The value a field spec finds in `raw` (MISSING if none), and the path it came from."""
    if isinstance(spec, str):
        return lookup(raw, spec), spec
    if isinstance(spec, list):
        where = ""
        for option in spec:
            value, where = resolve(raw, option)
            if value not in (MISSING, None, "", []):
                return value, where
        return MISSING, where
    if isinstance(spec, Mapping):
        if "template" in spec:
            return _fill(str(spec["template"]), raw), str(spec["template"])
        if "value" in spec:
            return spec["value"], "(fixed)"
        value, where = resolve(raw, spec.get("path", ""))
        if value is MISSING or value is None:
            return value, where
        try:
            return _text_of(value, spec), where
        except InvalidInput as exc:
            raise InvalidInput(f"'{where}' {exc}") from None
    raise InvalidInput(f"a field is written as a path, a list of paths or an object, not {json_kind(spec)}")


def _text(raw: Any, spec: Any, field: str) -> str:
    value, where = resolve(raw, spec)
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    raise InvalidInput(f"'{field}' (at '{where}') should be text, got {json_kind(value)}")


def _truthy(raw: Any, specs: Any) -> bool:
    for spec in specs if isinstance(specs, list) else [specs]:
        if isinstance(spec, Mapping) and "equals" in spec:
            value, _ = resolve(raw, spec.get("path", ""))
            if value == spec["equals"]:
                return True
            continue
        value, _ = resolve(raw, spec)
        if value not in (MISSING, None, False, 0, "", [], {}):
            return True
    return False


def map_item(raw: Any, *, fields: Mapping[str, Any], meta: Mapping[str, Any], flags: Mapping[str, Any],
             extra_meta: Mapping[str, Any], platform: str) -> Item:
    """One answer entry as an Item; InvalidInput (naming the field and its path) if it will not do."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"should be an object, got {json_kind(raw)}")
    title = _text(raw, fields.get("title", "title"), "title")
    if not title:
        where = resolve(raw, fields.get("title", "title"))[1]
        raise InvalidInput(f"'title' (at '{where}') is missing")
    item_id, where = resolve(raw, fields.get("id", "id"))
    if item_id is MISSING or item_id is None or item_id == "":
        item_id = _text(raw, fields.get("url", "url"), "url") or hashlib.sha256(title.encode()).hexdigest()[:16]
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        raise InvalidInput(f"'id' (at '{where}') should be text or a whole number, got {json_kind(item_id)}")
    out_meta: dict[str, Any] = dict(extra_meta)
    for key, spec in meta.items():
        value, _ = resolve(raw, spec)
        if value not in (MISSING, None, "", []):
            out_meta[key] = value
    if _truthy(raw, flags.get("pinned", [])):
        out_meta["pinned"] = True
    return Item.from_untrusted({
        "id": str(item_id),
        "title": title,
        "text": _text(raw, fields.get("text", "description"), "text"),
        "creator": _text(raw, fields.get("creator", "creator"), "creator"),
        "url": _text(raw, fields.get("url", "url"), "url"),
        "sponsored": _truthy(raw, flags.get("sponsored", [])),
        "meta": out_meta,
    }, platform=platform)
