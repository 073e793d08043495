"""`rss`: an RSS or Atom feed (a channel, a news site, a podcast).

The feed is fetched whole and the query is matched locally, so a feed never learns what
the user asked for: the request carries no query at all.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any, ClassVar

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.items import Item
from shieldrec.platforms.base import Adapter, Query, Setting
from shieldrec.platforms.egress import Auth, Limits
from shieldrec.platforms.http_json import LIMIT_SETTINGS, check_web_url
from shieldrec.platforms.matching import pick
from shieldrec.platforms.responses import check_status
from shieldrec.sanitize import clean_text


# Entry fields that tell what kind of thing an entry is: a reading list's feed (Goodreads shelves
# carry these) names books; an iTunes-tagged feed names podcast episodes.
_KIND_FIELDS = ("isbn", "isbn13", "num_pages", "book_id", "author_name", "itunes_episode", "itunes_duration")


class _Text(HTMLParser):
    """Visible text of an HTML fragment (feed summaries are HTML)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("p", "br", "div", "li"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


class RssAdapter(Adapter):
    kind: ClassVar[str] = "rss"
    summary: ClassVar[str] = "an RSS or Atom feed; fetched whole, the query is matched locally"
    settings_schema: ClassVar[tuple[Setting, ...]] = (
        Setting("url", "str", required=True, help="the feed's URL"),
        Setting("auth", "choice", "none", choices=("none", "bearer", "header"), help="for private feeds"),
        Setting("auth_header", "str", "X-API-Key", help="header that carries the token when auth = header"),
        Setting("max_items", "int", 200, help="feed entries read"),
        *LIMIT_SETTINGS,
    )

    def __init__(self, name: str, settings: Any, egress: Any) -> None:
        super().__init__(name, settings, egress)
        if self.settings["url"].lower().startswith("file:"):
            raise InvalidInput("a feed file on this machine is read by the `file` adapter: "
                               "--adapter file --set path=/path/to/feed.xml")
        check_web_url(self.settings["url"], "url", name)
        self.limits = Limits.from_settings(self.settings)
        self.auth = {"none": None, "bearer": Auth(), "header": Auth(self.settings["auth_header"], "")}[
            self.settings["auth"]
        ]
        self.skipped: list[str] = []

    async def recommend(self, query: Query) -> list[Item]:
        response = await self.egress.send(self.name, "GET", self.settings["url"], auth=self.auth, limits=self.limits)
        check_status(response)
        return pick(self.parse(response.body), query)

    def parse(self, body: bytes) -> list[Item]:
        items, self.skipped = parse_feed(body, self.name, self.settings["max_items"])
        return items


def parse_feed(body: bytes, platform: str, max_items: int) -> tuple[list[Item], list[str]]:
    """The entries of an RSS or Atom document as items, and the entries left out (with why)."""
    import feedparser  # only when a feed is actually read

    feed = feedparser.parse(body)
    entries = feed.get("entries") or []
    if not entries:
        if not feed.get("version"):
            reason = clean_text(str(feed.get("bozo_exception", "")), 120) or "no feed elements"
            raise PlatformError(f"{platform}: the answer is not an RSS or Atom feed ({reason})")
        return [], []  # a real feed that is empty right now
    channel = clean_text(feed.get("feed", {}).get("title"), 200)
    items: list[Item] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries[:max_items], 1):
        try:
            items.append(_entry_item(entry, channel, platform))
        except InvalidInput as exc:
            skipped.append(f"entry {index}: {exc}")
    if not items:
        raise PlatformError(f"{platform}: no usable entry in the feed; {skipped[0]}")
    return items, skipped


def _entry_item(entry: Any, channel: str, platform: str) -> Item:
    link = entry.get("link") or ""
    title = entry.get("title") or ""
    item_id = entry.get("id") or link or hashlib.sha256(title.encode()).hexdigest()[:16]
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    meta: dict[str, Any] = {"feed": channel}
    if entry.get("published"):
        meta["published"] = entry["published"]
    if entry.get("itunes_duration"):
        meta["duration"] = entry["itunes_duration"]
    tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    if tags:
        meta["tags"] = tags
    enclosures = [e for e in entry.get("enclosures", []) if e.get("href")]
    if enclosures:
        meta["enclosure"] = enclosures[0].get("href")
        if enclosures[0].get("type"):
            meta["enclosure_type"] = enclosures[0].get("type")
    for key in _KIND_FIELDS:  # what a book list's or a podcast's feed says about each entry
        if entry.get(key):
            meta[key] = entry[key]
    return Item.from_untrusted({
        "id": item_id,
        "title": html_text(title),
        "text": html_text(summary),
        "creator": entry.get("author") or channel,
        "url": link,
        "meta": meta,
    }, platform=platform)
