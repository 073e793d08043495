"""The sanitize stage: every string of every candidate goes through the one sanitizer.

Items built by `Item.from_untrusted` are clean already; items a caller built directly
(an evaluation script, a test, a future adapter) may not be. Cleaning is cached per
string, so re-checking clean items costs a dictionary lookup, not a character walk.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import Any

from shieldrec.items import Item, tricks_in
from shieldrec.ranking.sponsorship import flag_set
from shieldrec.sanitize import (
    FIELD_MAX,
    META_DEPTH_MAX,
    META_KEYS_MAX,
    clean_body,
    clean_meta,
    clean_text,
    clean_title,
)


@lru_cache(maxsize=32768)
def _title(value: str) -> str:
    return clean_title(value)


@lru_cache(maxsize=32768)
def _body(value: str) -> str:
    return clean_body(value)


@lru_cache(maxsize=32768)
def _field(value: str) -> str:
    return clean_text(value, FIELD_MAX)


@lru_cache(maxsize=32768)
def _id(value: str) -> str:
    return clean_text(value, 200)


@lru_cache(maxsize=8192)
def _url(value: str) -> str:
    url = clean_text(value, 2000)
    return url if url.lower().startswith(("http://", "https://")) else ""


@lru_cache(maxsize=4096)
def _key(value: str) -> str:
    return clean_text(value, 64)


def _leaf_clean(value: Any) -> bool | None:
    """For a scalar: whether `clean_meta` keeps it as it is; None for a container."""
    kind = type(value)
    if kind is str:
        return _field(value) == value
    if kind is int:
        return abs(value) < 2**53
    if kind is float:
        return math.isfinite(value)
    if value is None or kind is bool:
        return True
    if kind is dict or kind is list:
        return None
    return False


def _meta_clean(value: Any, depth: int = 0) -> bool:
    """Whether `clean_meta` would leave `value` as it is. Walked with strings looked up in a
    cache: a clean item is checked on every request, so this is on the hot path."""
    if depth > META_DEPTH_MAX:
        return False
    leaf = _leaf_clean(value)
    if leaf is not None:
        return leaf
    if len(value) > META_KEYS_MAX:
        return False
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str or _key(k) != k:
                return False
            ok = _leaf_clean(v)
            if ok is False or (ok is None and not _meta_clean(v, depth + 1)):
                return False
        return True
    for v in value:
        ok = _leaf_clean(v)
        if ok is False or (ok is None and not _meta_clean(v, depth + 1)):
            return False
    return True


def _text(value: Any, clean: Any) -> str:
    return clean(value) if isinstance(value, str) else clean(clean_text(value, 10_000, multiline=True))


def sanitize_item(item: Item) -> Item:
    """`item` with every field passed through the sanitizer (the same object when already clean)."""
    title = _text(item.title, _title) or _text(item.item_id, _title) or "untitled"
    text = _text(item.text, _body)
    creator = _text(item.creator, _field)
    source = _text(item.source, _field)
    url = _url(item.url) if isinstance(item.url, str) else ""
    item_id = _text(item.item_id, _id) or title
    meta = item.meta if isinstance(item.meta, dict) and _meta_clean(item.meta) else clean_meta(item.meta or {})
    if not isinstance(meta, dict):
        meta = {}
    platforms = item.platforms if isinstance(item.platforms, list) and all(
        isinstance(p, str) and _field(p) == p for p in item.platforms) else [
        clean_text(p, 100) for p in (item.platforms or []) if p][:20]
    sponsored = item.sponsored if isinstance(item.sponsored, bool) else flag_set(item.sponsored)
    if (title, text, creator, source, url, item_id, sponsored) == (
        item.title, item.text, item.creator, item.source, item.url, item.item_id, item.sponsored
    ) and meta is item.meta and platforms is item.platforms:
        return item
    tricks = list(dict.fromkeys([*item.tricks, *tricks_in(item.title, item.text, item.creator)]))
    return replace(item, item_id=item_id, title=title, text=text, creator=creator, source=source, url=url,
                   sponsored=sponsored, meta=meta, platforms=platforms, tricks=tricks)
