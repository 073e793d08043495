"""Interest facets: labelled from the items' own text, weakened by contradicting feedback, and
named in a reason only when the item itself shows the facet."""

from __future__ import annotations

import pytest

from shieldrec.items import Item
from shieldrec.learning import facets as F
from shieldrec.learning.personalize import FacetScorer
from shieldrec.ranking.types import RankRequest


def test_liked_and_disliked_items_make_labelled_facets(films, make_event) -> None:
    history = [make_event(f, "liked", 100.0 + i) for i, f in enumerate(films[:4])]
    history += [make_event(f, "disliked", 200.0 + i) for i, f in enumerate(films[4:7])]
    got = {f.kind: f for f in F.build(history, now=300.0)}
    assert "sci-fi" in got["like"].label and "space" in got["like"].label
    assert got["avoid"].label == "horror"
    assert {t for _, t in got["like"].items} == {"Arrival", "Contact", "Interstellar", "The Martian"}
    assert F.describe(got["like"]).startswith("you tend to like sci-fi")
    assert F.describe(got["avoid"]).startswith("you tend to dislike horror (disliked 'Sinister'")


def test_one_like_is_not_an_interest_and_old_feedback_fades(films, make_event) -> None:
    assert F.build([make_event(films[0], "liked", 100.0)], now=200.0) == []
    old = [make_event(f, "liked", 0.0) for f in films[:4]]
    day = 86400.0
    fresh, faded = F.build(old, now=day)[0], F.build(old, now=180 * day)[0]
    assert faded.strength < 0.4 * fresh.strength
    assert F.build(old, now=2 * 365 * day) == []  # two years on, nothing renewed it: no longer believed


def test_contradicting_feedback_changes_the_facets(films, make_event) -> None:
    liked = [make_event(f, "liked", 100.0 + i) for i, f in enumerate(films[:4])]
    before = F.build(liked, now=500.0)
    assert [f.kind for f in before] == ["like"]
    # The same user now dislikes three of the four films (their latest feedback counts).
    turned = liked + [make_event(f, "disliked", 300.0 + i) for i, f in enumerate(films[:3])]
    after = F.build(turned, now=500.0)
    assert not any(f.kind == "like" and "sci-fi" in f.words for f in after)
    assert any(f.kind == "avoid" and "sci-fi" in f.words for f in after)


def test_a_facet_is_said_to_fit_only_on_the_items_own_evidence(films, make_event) -> None:
    history = [make_event(f, "liked", 100.0 + i) for i, f in enumerate(films[:4])]
    like = F.build(history, now=300.0)[0]
    space_opera = Item(item_id="x1", title="Dune", text="A desert planet and its spice, far out in space.",
                       meta={"genres": ["Adventure"]})
    tagged = Item(item_id="x2", title="Solaris", meta={"genres": ["Sci-Fi"]})
    thin = Item(item_id="x3", title="Stars Above")  # "Stars" in a title is no evidence of science fiction
    assert F.shows(space_opera, like) in ("adventure", "space")
    assert F.shows(tagged, like) == "sci-fi"
    assert F.shows(thin, like) == ""


@pytest.mark.slow
def test_reasons_name_a_facet_only_where_the_item_shows_it(films, make_event) -> None:
    from shieldrec.learning.update import item_vectors
    from shieldrec.ranking import Embedder

    embedder = Embedder()
    history = [make_event(f, "liked", 100.0 + i) for i, f in enumerate(films[:4])]
    history += [make_event(f, "disliked", 200.0 + i) for i, f in enumerate(films[4:7])]
    facets = F.build(history, item_vectors(embedder, history), now=300.0)
    scorer = FacetScorer(embedder, facets)
    items = [
        Item(item_id="a", title="Gravity", text="Two astronauts adrift in space after debris hits their shuttle.",
             meta={"genres": ["Sci-Fi", "Thriller"]}),
        Item(item_id="b", title="Hereditary", text="A grieving family is haunted by a demon.",
             meta={"genres": ["Horror"]}),
        Item(item_id="c", title="Notting Hill", text="A bookseller falls for a film star in London.",
             meta={"genres": ["Romance", "Comedy"]}),
    ]
    got = {it.item_id: s for it, s in zip(items, scorer.score(RankRequest(candidates=items), items))}
    assert got["a"].value > 0 and got["a"].reason.startswith("you tend to like sci-fi")
    assert got["b"].value < 0 and "you tend to dislike horror" in got["b"].reason
    assert got["c"].value == 0 and got["c"].reason == ""
