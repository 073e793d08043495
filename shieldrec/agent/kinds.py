"""What kind of thing an item is ("movie", "book", ...), read from its metadata.

Its own module because both the agent's checks (shield) and the answer's view (view) need it,
and the view sits below the turn that shield builds on: here neither has to import the other.
"""

from __future__ import annotations

import re

from shieldrec.items import Item

_KIND_KEYS = ("item_type", "kind", "type", "media_type", "section", "format")
KINDS = {
    "movie": "movie", "movies": "movie", "film": "movie", "films": "movie", "feature": "movie",
    "book": "book", "books": "book", "novel": "book", "novels": "book", "ebook": "book", "audiobook": "book",
    "podcast": "podcast", "podcasts": "podcast", "episode": "podcast",
    "show": "show", "shows": "show", "tv": "show", "series": "show",
    "article": "article", "articles": "article", "news": "article", "post": "article",
    "video": "video", "videos": "video", "music": "music", "song": "music", "album": "music", "track": "music",
}


# Fields only one kind of thing carries (a book feed's ISBN, a film's running time).
_FIELD_KINDS = (
    (("isbn", "isbn13", "num_pages", "pages", "page_count", "book_id", "author_name", "publisher"), "book"),
    (("imdb_id", "tmdb_id", "director", "directors", "runtime_minutes", "mpaa"), "movie"),
    (("itunes_episode", "itunes_duration", "podcast"), "podcast"),
)
_KIND_WORD = re.compile(r"[^\W\d_]+")


def _kind_in(text: str) -> str:
    found = {KINDS[w] for w in _KIND_WORD.findall(text.lower()) if w in KINDS and w not in ("series", "show")}
    return found.pop() if len(found) == 1 else ""


def item_kind(item: Item) -> str:
    """What kind of thing this is ("movie", "book", ...) as its metadata says, or "" when nothing does.

    In order: a field naming the kind; fields only one kind carries; an enclosure's media type;
    a tag naming a kind ("Novels"); the feed's own title ("Book Club Picks")."""
    meta = item.meta or {}
    for key in _KIND_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip().lower() in KINDS:
            return KINDS[value.strip().lower()]
    for keys, kind in _FIELD_KINDS:
        if any(meta.get(k) not in (None, "", [], {}) for k in keys):
            return kind
    media = meta.get("enclosure_type")
    if isinstance(media, str) and media.lower().startswith(("audio/", "video/")):
        return "podcast" if media.lower().startswith("audio/") else "video"
    tags = meta.get("tags") or meta.get("categories")
    if isinstance(tags, list):
        kind = _kind_in(" ".join(t for t in tags if isinstance(t, str)))
        if kind:
            return kind
    feed = meta.get("feed")
    return _kind_in(feed) if isinstance(feed, str) else ""
