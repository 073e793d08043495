"""Untrusted text on screen: always plain, never markup.

Titles, descriptions, creators, reasons and error messages can come from a platform. Each
goes through the sanitizer (no escape sequences, no control characters) and into a
`rich.text.Text` built with `Text(...)`/`append`, which never interprets `[bold]` or
`[link=...]`: what the platform sent is shown literally.
"""

from __future__ import annotations

from rich.text import Text

from shieldrec.sanitize import clean_text


def plain(value: object, max_len: int = 500, *, style: str = "", multiline: bool = False) -> Text:
    return Text(clean_text(value, max_len, multiline=multiline), style=style, no_wrap=False)


def line(*parts: tuple[object, str] | str) -> Text:
    """A Text from (value, style) pairs; every value is cleaned and appended as plain text."""
    out = Text()
    for part in parts:
        value, style = (part, "") if isinstance(part, str) else part
        out.append(clean_text(value, 2000), style=style or None)
    return out
