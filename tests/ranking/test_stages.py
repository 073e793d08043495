"""Each stage alone: filters, taste, signals, fusion, diversity, reasons, sanitizing."""

from __future__ import annotations

import numpy as np
import pytest

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.clean import sanitize_item
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.diversity import mmr
from shieldrec.ranking.explain import FALLBACK, choose_reasons
from shieldrec.ranking.facts import (
    genre_match,
    genres,
    popularity_count,
    runtime_minutes,
    year,
)
from shieldrec.ranking.filters import SeenIndex, hard_filter
from shieldrec.ranking.fusion import fuse
from shieldrec.ranking.popularity import popularity_signal
from shieldrec.ranking.taste import read_taste, strength


def item(i: str, **kw) -> Item:
    return Item(item_id=i, title=kw.pop("title", f"Title {i}"), **kw)


def test_clean_items_pass_through_untouched_and_dirty_ones_are_copied() -> None:
    clean = item("a", text="Fine.", meta={"genres": ["Drama"], "year": 2001})
    assert sanitize_item(clean) is clean
    dirty = item("b", title="Bad\x1b[31m title", meta={"x": float("nan"), "k\x00": "v"})
    fixed = sanitize_item(dirty)
    assert fixed is not dirty and dirty.title == "Bad\x1b[31m title"  # the caller's object is left alone
    assert fixed.title == "Bad title" and fixed.meta == {"x": None, "k": "v"}


def test_metadata_facts_read_common_spellings() -> None:
    it = item("a", meta={"genres": "Drama, Natural horror films", "release_date": "1999-05-01",
                         "stats": {"ratings_count": "12,345"}, "duration_seconds": 5400})
    assert genres(it) == ("Drama", "Natural horror films")
    assert genre_match("horror", genres(it)) == "Natural horror films"
    assert genre_match("scary", genres(it)) == "Natural horror films"  # an alias
    assert genre_match("romance", genres(it)) == ""
    assert year(it) == 1999 and runtime_minutes(it) == 90 and popularity_count(it) == 12345
    # recbole-style space-separated classes still match word by word
    assert genre_match("comedy", ("Animation Children's Comedy",)) == "Animation Children's Comedy"


def test_hard_filter_reasons_name_what_removed_each_item() -> None:
    cands = [
        item("1", creator="Stephenie Meyer"), item("2", title="Saw", meta={"genres": ["Horror"]}),
        item("3", title="Blocked One"), item("4", source="adnet"), item("5"), item("5"),
        item("6", title="Seen", creator="X"), item("7", meta={"genres": ["Comedy"], "runtime_minutes": 200}),
        item("8", text="A story about vampires."),
    ]
    prefs = [Preference(kind="block", target="creator", value="stephenie meyer"),
             Preference(kind="block", target="item", value="blocked one"),
             Preference(kind="block", target="source", value="AdNet"),
             Preference(kind="block", target="topic", value="vampires"),
             # what ShieldRec learned steers, never removes (a stated avoid removes: see test_pipeline)
             Preference(kind="avoid", target="topic", value="comedy", origin="learned")]
    seen = SeenIndex([HistoryEvent(item=item("old", title="seen", creator="x"), event="rated", rating=4)])
    kept, removed = hard_filter(cands, intent=Intent(avoided=["horror"], max_minutes=120), preferences=prefs,
                                seen=seen, include_consumed=False)
    reasons = {r.item.item_id: r.reason for r in removed}
    assert reasons == {
        "1": "removed: blocked creator 'stephenie meyer'",
        "2": "removed: tagged Horror (you said no horror)",
        "3": "removed: blocked item 'blocked one'",
        "4": "removed: blocked source 'AdNet'",
        "5": "removed: listed twice by the platform",
        "6": "removed: already in your history (you rated it 4)",
        "7": "removed: 200 min, longer than the 120 you asked for",
        "8": "removed: blocked topic 'vampires' (in its description)",
    }
    assert kept == [4]


def test_taste_weights_rating_and_recency() -> None:
    assert strength(HistoryEvent(item=item("a"), event="rated", rating=5)) == 1.0
    assert strength(HistoryEvent(item=item("a"), event="rated", rating=3)) == 0.0
    assert strength(HistoryEvent(item=item("a"), event="rated", rating=2)) == -0.5
    assert strength(HistoryEvent(item=item("a"), event="rated", rating=9)) == pytest.approx(0.75)  # 10-point scale
    assert strength(HistoryEvent(item=item("a"), event="not_now")) == 0.0
    history = [HistoryEvent(item=item(str(k)), event="liked", at=float(k)) for k in range(30)]
    taste = read_taste(list(reversed(history)))  # given newest first: order comes from the times
    assert taste.liked[-1].item.item_id == "29"
    assert taste.liked_weight[-1] == 1.0 and taste.liked_weight[0] < taste.liked_weight[-1]
    assert taste.liked_weight.min() >= 0.2


def test_popularity_is_relative_and_needs_two_counts() -> None:
    sig = popularity_signal([item("a", meta={"rating_count": 10}), item("b", meta={"votes": 10_000}), item("c")])
    assert sig.values[1] > 0 > sig.values[0]
    assert sig.reasons[1] == "more public ratings than is typical here (10,000)"
    # A missing count never lifts an item: it weighs as the least rated, and no reason claims a number.
    assert sig.values[2] == sig.values[0] and sig.reasons[2] == ""
    assert not popularity_signal([item("a", meta={"rating_count": 10}), item("b")]).values.any()


def test_fusion_is_a_visible_weighted_sum() -> None:
    signals = {"history": Contribution(np.array([1.0, -1.0], np.float32), ["close to 'X', which you liked", ""]),
               "popularity": Contribution(np.array([0.0, 2.0], np.float32), ["", "widely rated (9 public ratings)"])}
    fused = fuse(2, signals, {"history": 0.5, "popularity": 0.25}, {"sponsored": np.array([0.0, 0.3])})
    assert fused.scores == pytest.approx([0.5, -0.5 + 0.5 - 0.3])
    assert fused.components[0] == {"history": 0.5}
    assert fused.components[1] == {"history": -0.5, "popularity": 0.5, "sponsored": -0.3}
    assert fused.evidence[0] == [(0.5, "close to 'X', which you liked")]


def test_mmr_zero_keeps_relevance_order_and_one_spreads_duplicates() -> None:
    rel = np.array([1.0, 0.9, 0.8, 0.1])
    sim = np.eye(4)
    sim[0, 1] = sim[1, 0] = sim[0, 2] = sim[2, 0] = sim[1, 2] = sim[2, 1] = 0.95  # three near-copies
    assert mmr(rel, sim, 0.0)[0] == [0, 1, 2, 3]
    order, resembled = mmr(rel, sim, 0.9)
    assert order[:2] == [0, 3]
    assert resembled[1] == 0


def test_reasons_are_few_concrete_and_forced_ones_stay() -> None:
    evidence = [(0.4, "close to 'Arrival', which you liked"), (0.2, "matches 'hopeful'"),
                (-0.3, "demoted: close to 'Saw', which you disliked"), (0.01, "matches 'space'"),
                (-0.5, "close to 'Up', which you liked")]  # wording and sign disagree: never said
    out = choose_reasons(["demoted: sponsored"], evidence)
    assert out == ["demoted: sponsored", "close to 'Arrival', which you liked",
                   "demoted: close to 'Saw', which you disliked"]
    assert choose_reasons([], [(0.01, "matches 'space'")]) == [FALLBACK]


def test_nonsense_numbers_do_not_poison_the_ranking(pipeline) -> None:
    from shieldrec.ranking import RankRequest

    history = [HistoryEvent(item=item("h1", title="Cars"), event="rated", rating=float("nan"), at=float("inf")),
               HistoryEvent(item=item("h2", title="Up"), event="liked", at=float("nan"))]
    prefs = [Preference(kind="like", target="topic", value="animation", weight=float("nan"))]
    cands = [item("a", title="Toy Story", sponsored="false", meta={"rating_count": -5}),  # type: ignore[arg-type]
             item("b", title="Solaris", meta={"rating_count": float("inf")})]
    result = pipeline.rank(RankRequest(candidates=cands, history=history, preferences=prefs))
    assert len(result.ranking) == 2
    assert all(np.isfinite(r.score) for r in result.ranking)
    assert "sponsored" not in result.ranking[0].labels + result.ranking[1].labels


def test_evidence_is_the_items_own_words_and_tags() -> None:
    from shieldrec.ranking import evidence

    grief = item("g", text="About grief, but never depressing: a warm story of a family finding its way back.")
    assert evidence.mentions(grief.text, "depressing") == ""  # negated: "never depressing" is no evidence
    assert evidence.mentions(grief.text, "family stories") == "family"
    plot = item("p", text="The gang massacred the village, tortured the survivors and murdered the priest.")
    gore = evidence.content_for("gory violence")
    assert gore is not None and gore.name == "gore"
    assert evidence.term_evidence(plot, (), "nothing violent") == (
        "its description mentions 'massacred', 'tortured', 'murdered'")
    assert evidence.term_evidence(item("t", meta={"genres": ["Slasher"]}), ("Slasher",), "violent") == "tagged Slasher"
    thin = item("b", title="Dune", creator="Frank Herbert")
    assert evidence.is_thin(thin) and not evidence.is_thin(plot, ("Drama",))
    family = item("f", meta={"genres": ["Family Film", "Comedy"]})
    assert evidence.audience(family, ("Family Film", "Comedy")).min_age == 0
    assert evidence.audience(item("r", meta={"certification": "PG-13"}), ()).evidence == "rated PG-13"
    assert evidence.audience(thin, ()).min_age is None
