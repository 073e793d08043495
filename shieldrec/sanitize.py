"""The one sanitizer for untrusted text.

Everything a platform sends and every string read from a user's file passes
through here before it is stored, shown, embedded or put in a prompt. It removes
what can act on a terminal or hide text from a reader (escape sequences, control
characters, bidi overrides, zero-width and tag characters) and caps lengths.
It does not escape markup: display code renders these strings as plain text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

TITLE_MAX = 300
TEXT_MAX = 4000
FIELD_MAX = 500
META_KEYS_MAX = 50
META_DEPTH_MAX = 4

# Whole escape sequences go, not only the ESC byte, so no fragments ("[31m") are left behind.
_ESCAPES = re.compile(
    r"""
    \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC ... BEL|ST (hyperlinks, window titles)
  | \x1b[P^_X][^\x1b]*(?:\x1b\\)?           # DCS / PM / APC / SOS strings
  | \x1b\[[0-?]*[ -/]*[@-~]                 # CSI (colours, cursor moves)
  | \x9b[0-?]*[ -/]*[@-~]                   # 8-bit CSI
  | \x9d[^\x07\x9c]*(?:\x07|\x9c)?          # 8-bit OSC
  | \x1b[ -/]*[0-~]                         # two-byte ESC sequences
    """,
    re.VERBOSE,
)
# Runs of blanks other than a lone space (which would be replaced by itself, once per word).
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S \n]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Printable ASCII needs no per-character look-up: only ASCII controls and non-ASCII runs are checked.
_ASCII_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _keep(ch: str, multiline: bool) -> bool:
    if ch == "\n":
        return multiline
    cat = unicodedata.category(ch)
    # Cc: C0/C1 controls. Cf: bidi overrides, zero-width, tag characters (invisible text).
    # Cs: lone surrogates. Cn: unassigned code points.
    return cat not in ("Cc", "Cf", "Cs", "Cn")


def clean_text(value: Any, max_len: int = FIELD_MAX, *, multiline: bool = False) -> str:
    """Return `value` as safe plain text of at most `max_len` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = unicodedata.normalize("NFC", value)
    value = _ESCAPES.sub("", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if not multiline:
        value = value.replace("\n", " ")
    value = _NON_ASCII.sub(lambda m: "".join(ch for ch in m.group() if _keep(ch, multiline)), value)
    value = _ASCII_CONTROLS.sub("", value)
    value = _SPACES.sub(" ", value)
    if multiline:
        value = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in value.split("\n")))
    value = value.strip()
    if len(value) > max_len:
        value = value[: max_len - 1].rstrip() + "…"
    return value


# What in a string can only be there to act on a terminal or to show a reader something other
# than what a program reads. Not on this list: zero-width joiners (emoji, Persian), bidi marks,
# embeddings and isolates (platforms wrap right-to-left names in them), stray controls.
_BIDI = re.compile("[\u202d\u202e]")
_TAGS = re.compile("[\U000e0000-\U000e007f]")


def hidden_controls(value: Any) -> list[str]:
    """Name the tricks `clean_text` would remove from `value` that only a hostile sender uses:
    terminal escape sequences, bidi overrides (text that reads differently than it runs),
    invisible tag characters (text a model reads and a person cannot see)."""
    if not isinstance(value, str) or (value.isascii() and "\x1b" not in value):
        return []
    found = []
    if _ESCAPES.search(value):
        found.append("terminal escape codes")
    if _BIDI.search(value):
        found.append("bidi overrides")
    if _TAGS.search(value):
        found.append("invisible tag characters")
    return found


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in `value` (1 for a flat one), walked without
    recursion so a hostile document cannot exhaust the stack; stops counting past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def clean_title(value: Any) -> str:
    return clean_text(value, TITLE_MAX)


def clean_body(value: Any) -> str:
    return clean_text(value, TEXT_MAX, multiline=True)


def clean_meta(value: Any, _depth: int = 0) -> Any:
    """Clean a JSON-like metadata value: strings sanitized, size and depth bounded."""
    if _depth > META_DEPTH_MAX:
        return None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[:META_KEYS_MAX]:
            k = clean_text(key, 64)
            if k:
                out[k] = clean_meta(item, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [clean_meta(v, _depth + 1) for v in list(value)[:META_KEYS_MAX]]
    return clean_text(value)
