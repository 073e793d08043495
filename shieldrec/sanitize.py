"""The one sanitizer for untrusted text.

Everything a platform sends and every string read from a user's file passes
through here before it is stored, shown, embedded or put in a prompt. It removes
what can act on a terminal or hide text from a reader (escape sequences, control
characters, bidi overrides, zero-width and tag characters) and caps lengths. Zero-width
joiners stay only where a script or an emoji sequence needs them.
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


ZWNJ, ZWJ = "\u200c", "\u200d"
# Scripts whose spelling needs the joiners: Arabic (Persian, Urdu), Syriac, N'Ko, the Indic
# scripts from Devanagari to Sinhala, Myanmar, Khmer, Mongolian. "می‌خواهم" is not "میخواهم".
_JOINING = re.compile(
    "[\u0600-\u06ff\u0700-\u074f\u0750-\u077f\u07c0-\u07ff\u0860-\u08ff\u0900-\u0dff"
    "\u1000-\u109f\u1780-\u17ff\u1800-\u18af\ua8e0-\ua8ff\ufb50-\ufdff\ufe70-\ufefc]"
)
# What a ZWJ glues into one emoji (👨‍👩‍👧, 🏳️‍🌈, 👩‍🔬): pictographs, the emoji variation
# selector and skin tones before it, a pictograph or gender sign after it.
_EMOJI_BEFORE = re.compile("[\u2600-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]")
_EMOJI_AFTER = re.compile("[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")


def _joiner_needed(ch: str, before: str, after: str) -> bool:
    """A zero-width (non-)joiner stays where its script or an emoji sequence needs it; anywhere
    else (between Latin letters, at an edge, beside another invisible) it can only hide something."""
    if not before or not after or not _keep(before, True) or not _keep(after, True):
        return False
    if _JOINING.match(before) and _JOINING.match(after):
        return True
    return ch == ZWJ and bool(_EMOJI_BEFORE.match(before)) and bool(_EMOJI_AFTER.match(after))


def _clean_run(match: re.Match[str], multiline: bool) -> str:
    text, start = match.string, match.start()
    out = []
    for i, ch in enumerate(match.group(), start):
        if ch == ZWJ or ch == ZWNJ:
            if _joiner_needed(ch, text[i - 1] if i else "", text[i + 1] if i + 1 < len(text) else ""):
                out.append(ch)
        elif _keep(ch, multiline):
            out.append(ch)
    return "".join(out)


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
    value = _NON_ASCII.sub(lambda m: _clean_run(m, multiline), value)
    value = _ASCII_CONTROLS.sub("", value)
    value = _SPACES.sub(" ", value)
    if multiline:
        value = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in value.split("\n")))
    # Again: what was removed may have parted a letter from its accent ("e", ZWSP, "\u0301").
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > max_len:
        value = value[: max_len - 1].rstrip().rstrip(ZWJ + ZWNJ) + "…"
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
