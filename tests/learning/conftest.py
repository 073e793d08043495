"""Fixtures for the learning tests."""

from __future__ import annotations

import pytest

from shieldrec.items import HistoryEvent, Item


def film(ident: str, title: str, genres: list[str], text: str = "", count: int | None = None,
         year: int | None = None) -> Item:
    meta: dict[str, object] = {"genres": genres}
    if count is not None:
        meta["rating_count"] = count
    if year is not None:
        meta["year"] = year
    return Item(item_id=ident, title=title, text=text, meta=meta, source="films")


def event(item: Item, kind: str, at: float, rating: float | None = None) -> HistoryEvent:
    return HistoryEvent(item=item, event=kind, rating=rating, at=at)




@pytest.fixture
def films() -> list[Item]:
    return [
        film("s1", "Arrival", ["Sci-Fi", "Drama"], "Linguist decodes an alien language to avert a war."),
        film("s2", "Contact", ["Sci-Fi", "Drama"], "A radio astronomer hears an alien signal from space."),
        film("s3", "Interstellar", ["Sci-Fi", "Adventure"], "Astronauts cross a wormhole through space."),
        film("s4", "The Martian", ["Sci-Fi", "Adventure"], "An astronaut stranded on Mars grows potatoes in space."),
        film("h1", "The Conjuring", ["Horror"], "Paranormal investigators face a demon in a farmhouse."),
        film("h2", "Insidious", ["Horror"], "A boy's spirit is trapped in a realm of demons."),
        film("h3", "Sinister", ["Horror"], "A writer finds home movies of a demon's murders."),
        film("c1", "Paddington", ["Comedy", "Family"], "A polite bear from Peru finds a home in London."),
    ]


@pytest.fixture
def make_event():  # noqa: ANN201
    return event
