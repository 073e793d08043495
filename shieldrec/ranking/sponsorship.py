"""Paid placement: what the platform declares, and what the text gives away.

A platform's own flag makes an item "sponsored". Text markers of paid placement
("#ad", "sponsored by", "use code X for 20% off", affiliate wording) on an item the
platform did not flag make it a "native ad?": the question mark because text alone
cannot prove payment. Both are labelled and demoted by the user's sponsored penalty.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from shieldrec.items import Item

_F = re.IGNORECASE

MARKERS: dict[str, re.Pattern[str]] = {
    "ad hashtag": re.compile(r"(?<![\w#])#(?:ad|ads|advert|advertisement|sponsored|spon|sp|paid|partner|promo|promoted|gifted|collab)\b", _F),
    "sponsored by": re.compile(r"\b(?:sponsored|underwritten|paid\s+for|funded)\s+by\b|\bthanks\s+to\s+(?:our|this\s+\w+'?s?)\s+sponsors?\b", _F),
    "promoted": re.compile(r"\bpromoted(?:\s+(?:post|content|listing|pick|result|by|item))?\s*[:|)\]]|^\s*[\[(]?\s*promoted\b|\bpromoted\s+(?:post|content|listing|by)\b", _F | re.MULTILINE),
    "paid partnership": re.compile(r"\bpaid\s+(?:partnership|promotion|placement|post|content|endorsement)\b|\bbrand(?:ed)?\s+(?:partner(?:ship)?|content)\b|\bpartner\s+content\b|\bin\s+(?:paid\s+)?partnership\s+with\b", _F),
    "advertisement": re.compile(
        r"^\s*[\[(]\s*(?:ad|advert|advertisement|sponsored|promoted)\s*[\])]"
        r"|^\s*(?:ad|advertisement|advertorial|sponsored(?:\s+content)?)\s*[:|\-–—]"
        r"|\badvertorial\b|\bthis\s+is\s+an\s+(?:ad|advertisement)\b",
        _F | re.MULTILINE,
    ),
    # The code itself must look like one (capitals or digits), so "use the code name Viper" passes.
    "discount code": re.compile(
        r"(?i:\b(?:use|with|enter|apply)\s+(?:my\s+|our\s+|the\s+|promo\s+|discount\s+|coupon\s+)?"
        r"(?:code|coupon|promo\s+code))\s+[\"'“]?(?=[A-Z0-9_-]*[A-Z0-9])[A-Z0-9][A-Z0-9_-]{2,20}\b"
        r"|(?i:\b(?:code|coupon)\s+\S{2,20}\s+(?:at\s+checkout\s+)?(?:for|to\s+get|and\s+(?:get|save))\s+\d{1,3}\s*%\s*off)"
    ),
    "affiliate link": re.compile(r"\baffiliate\s+(?:link|links|partner|commission)\b|\bas\s+an?\s+(?:amazon\s+)?associate\b|\b(?:we|i)\s+(?:may\s+)?(?:earn|receive|get)\s+(?:a\s+)?(?:small\s+)?(?:commission|fee|cut)\b|\bcommission\s+(?:on|from)\s+(?:qualifying\s+)?purchases\b", _F),
    # A partner's offer in the item's own text: "get it with our partner, first month free".
    "partner offer": re.compile(r"\b(?:get|buy|order|watch|stream|read|rent)\s+(?:it|this|one)\b[^.!?]{0,40}?\b(?:with|from|via|through|at)\s+our\s+partners?\b|\b(?:your\s+)?first\s+(?:month|week)\s+free\b", _F),
    "brought to you by": re.compile(r"\b(?:brought|presented)\s+to\s+you\s+by\b|\btoday'?s\s+sponsor\b|\bour\s+sponsors?\b", _F),
}

# Flags a platform may set in an item's metadata instead of the top-level field.
_META_FLAGS = ("sponsored", "promoted", "is_ad", "ad", "advertisement", "paid", "is_sponsored", "is_promoted")
_META_KINDS = ("placement", "type", "kind", "label", "badge")
_PAID_WORDS = frozenset({"ad", "ads", "sponsored", "promoted", "promotion", "advertisement", "paid", "partner"})


def flag_set(value: Any) -> bool:
    """Whether a platform's flag value means "yes" (true, 1, "yes", "sponsored", ...)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "sponsored", "ad", "promoted", "paid")
    return isinstance(value, (bool, int, float)) and bool(value)


def platform_says_sponsored(item: Item) -> bool:
    """The platform flagged it: the item field, or a flag/kind in its metadata."""
    if item.sponsored:
        return True
    meta = item.meta
    if not meta:
        return False
    if any(flag_set(meta.get(key)) for key in _META_FLAGS if key in meta):
        return True
    for key in _META_KINDS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip().lower() in _PAID_WORDS:
            return True
    return False


def find_paid_markers(text: str) -> list[str]:
    """Names of the paid-placement markers in `text`."""
    return list(_find(text)) if text else []


@lru_cache(maxsize=16384)
def _find(text: str) -> tuple[str, ...]:
    return tuple(name for name, pattern in MARKERS.items() if pattern.search(text))
