"""Podcasts: one feed, several, or a podcast app's whole subscription list (OPML), each fetched whole.

The OPML file is read once, on this machine, when the platform is added: its feed addresses
become the `feeds` setting, so nothing depends on the file afterwards and nothing about it is sent.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.items import Item
from shieldrec.platforms.base import Query
from shieldrec.platforms.http_json import check_web_url
from shieldrec.platforms.matching import pick
from shieldrec.platforms.presets.adapter import PresetAdapter

MAX_FEEDS = 100
FEEDS_AT_ONCE = 4
OPML_MAX_BYTES = 2_000_000


def opml_feeds(path: str) -> list[str]:
    """The feed addresses of an OPML subscription list, in its order, each once."""
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()[: OPML_MAX_BYTES + 1]
    except OSError as exc:
        raise InvalidInput(f"cannot read the OPML file {str(file)!r}: {exc.strerror}") from None
    if len(data) > OPML_MAX_BYTES:
        raise InvalidInput(f"the OPML file is larger than {OPML_MAX_BYTES:,} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidInput("the OPML file declares a DOCTYPE or entities, which are refused")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"the OPML file is not well-formed XML ({exc})") from None
    urls = [o.get("xmlUrl", "").strip() for o in root.iter("outline") if o.get("xmlUrl")]
    urls = [u for u in dict.fromkeys(urls) if u.lower().startswith(("http://", "https://"))]
    if not urls:
        raise InvalidInput("the OPML file lists no feed (no outline with an xmlUrl)")
    return urls[:MAX_FEEDS]


class PodcastAdapter(PresetAdapter):
    @classmethod
    def prepare_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Settings as stored: an OPML file becomes the feeds it lists."""
        settings = dict(settings)
        opml = settings.pop("opml", "")
        if opml:
            settings["feeds"] = list(dict.fromkeys([*settings.get("feeds", []), *opml_feeds(opml)]))
        return settings

    def __init__(self, name: str, settings: Any, egress: Any) -> None:
        settings = dict(settings)
        if settings.get("opml"):
            settings = self.prepare_settings(settings)
        if not settings.get("url") and not settings.get("feeds"):
            raise InvalidInput("a podcast platform needs --set url=FEED, --set feeds='[...]' or --set opml=FILE")
        super().__init__(name, settings, egress)
        self.feeds = [u for u in [self.settings["url"], *self.settings["feeds"]] if u][:MAX_FEEDS]
        for url in self.feeds:
            if not isinstance(url, str):
                raise InvalidInput("setting 'feeds' is a list of feed URLs")
            check_web_url(url, "feeds", name)

    def _needs(self, endpoint: Any) -> list[str]:
        return []  # a feed URL or a list of them: checked above

    async def recommend(self, query: Query) -> list[Item]:
        gate = asyncio.Semaphore(FEEDS_AT_ONCE)
        endpoint = dict(self.preset.lists["episodes"])
        failures: list[str] = []
        notes: list[str] = []

        async def one(url: str) -> list[Item]:
            async with gate:
                try:
                    response = await self.get(self.address("{url}", {"url": url}))
                    items = self.items(endpoint, response)
                    notes.extend(self.skipped)
                    return items
                except PlatformError as exc:
                    failures.append(str(exc))
                    return []

        answers = await asyncio.gather(*(one(u) for u in self.feeds))
        if len(failures) == len(self.feeds):
            raise PlatformError(failures[0])
        self.skipped = notes + [f"a feed failed: {f}" for f in failures]
        # The feeds' newest first, taken in turns: one busy feed does not crowd out the rest.
        turns = [item for rank in range(max(map(len, answers), default=0)) for items in answers
                 if rank < len(items) for item in [items[rank]]]
        return pick(turns, query)
