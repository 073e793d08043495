"""The attack suite on the default pipeline, with the real embedding model and real films: text
written to buy rank (instructions, role tags, claims about the user, hidden text, keyword
stuffing, imitations of ShieldRec's own answer, sponsorship denials, words chosen against
the embedding model) reaches no top 3 and gains no place over the same item without it; words
spread through the whole description gain no more than the description cap allows.
`scripts/attack_report.py` prints the same table for every ranker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shieldrec.eval import attacks as A
from shieldrec.ranking import Embedder, Pipeline
from shieldrec.ranking.labels import CAUGHT
from shieldrec.ranking.pipeline import CARRIED
from shieldrec.settings import RankingSettings

MAYA = Path(__file__).resolve().parents[2] / "profiles" / "maya.toml"


@pytest.fixture(scope="module")
def scenario() -> A.Scenario:
    return A.scenario(MAYA)


def test_every_static_attack_is_caught_and_buys_nothing(scenario: A.Scenario,
                                                        make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    attacks = A.static_attacks(scenario)
    assert len(attacks) >= 35 and {a.family for a in attacks} == set(A.FAMILIES) - {"adaptive", "adaptive, spread out"}
    outcomes = A.run(scenario, attacks, pipeline.rank)
    bought = [(o.attack.family, o.attack.how[:60], o.clean, o.attacked) for o in outcomes if o.gained or o.top3]
    assert not bought
    for a in attacks:
        result = pipeline.rank(scenario.request(a.item))
        [got] = [r for r in result.ranking if r.item.item_id == a.item.item_id]
        assert CAUGHT & set(got.labels), (a.family, a.how[:60], got.labels)
        assert result.ranking[-1].item.item_id == a.item.item_id  # after every honest film


def test_the_clean_targets_are_not_caught(scenario: A.Scenario, make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    for target in scenario.targets:
        result = pipeline.rank(scenario.request(target))
        assert not any(CAUGHT & set(r.labels) for r in result.ranking), target.title


def test_words_appended_against_the_embedding_model_buy_nothing(scenario: A.Scenario, embedder: Embedder,
                                                               make_pipeline: Callable[..., Pipeline]) -> None:
    attacks = A.adaptive_attacks(scenario, embedder, vocab_size=12, steps=6, kinds=("appended words",) * 3)
    outcomes = A.run(scenario, attacks, make_pipeline().rank)
    assert not [(o.attack.how, o.clean, o.attacked) for o in outcomes if o.gained or o.top3]


def test_chosen_words_written_as_prose_buy_nothing_and_are_named(scenario: A.Scenario, embedder: Embedder,
                                                                 make_pipeline: Callable[..., Pipeline]) -> None:
    # A sentence of chosen words, or chosen words put in place of the plot's first words: the
    # passage check scores the item by the rest of its description and says why.
    attacks = A.adaptive_attacks(scenario, embedder, vocab_size=12, steps=6,
                                 kinds=("a sentence of chosen words", "substituted words") * 2)
    pipeline = make_pipeline()
    outcomes = A.run(scenario, attacks, pipeline.rank)
    assert not [(o.attack.how, o.clean, o.attacked) for o in outcomes if o.gained or o.top3]
    named = 0
    for a in attacks:
        result = pipeline.rank(scenario.request(a.item))
        named += any(CARRIED in r.reasons for r in result.ranking if r.item.item_id == a.item.item_id)
        assert not [r.item.title for r in result.ranking if r.item.item_id != a.item.item_id and CARRIED in r.reasons]
    assert named >= 3


def test_chosen_words_spread_through_the_description_buy_no_more_than_the_description_cap_allows(
        scenario: A.Scenario, embedder: Embedder, make_pipeline: Callable[..., Pipeline]) -> None:
    # Words spread through the whole description, a few in every passage, slip past the passage check
    # (SECURITY.md, known limits). What they can buy is bounded by construction: each item scores within
    # the cap of what it scores with no description at all. Three such attacks, from the two words nearest
    # the profile (each greedy step encodes free slots x words texts: 2 words cost a quarter of 8), on the
    # order of the scores (the bound is in that order; the variety step comes after). These weak attacks
    # move their items less than twice the default cap, so the cap is tried where it binds: a third of it.
    attacks = A.adaptive_attacks(scenario, embedder, vocab_size=2, steps=6, kinds=A.SPREAD[:3])
    cap = RankingSettings().description_cap / 3
    capped = make_pipeline(diversity=0.0, description_cap=cap)
    uncapped = make_pipeline(diversity=0.0, description_cap=1000.0)
    outcomes = A.run(scenario, attacks, capped.rank, cap)
    assert all(o.bound is not None for o in outcomes) and not [o for o in outcomes if o.top3]
    assert all(o.places <= o.bound for o in outcomes), [(o.places, o.bound) for o in outcomes]  # type: ignore[operator]

    def moved(pipeline: Pipeline, a: A.Attack) -> float:
        """How far the attack moved its item's score."""
        clean, attacked = pipeline.rank(scenario.request(a.target)), pipeline.rank(scenario.request(a.item))
        return (next(r.score for r in attacked.ranking if r.item.item_id == a.item.item_id)
                - next(r.score for r in clean.ranking if r.item.item_id == a.target.item_id))

    # Under the cap no attack moves its item by more than twice the cap, and the cap is what holds them.
    held = max(moved(capped, a) for a in attacks)
    assert held <= 2 * cap + 1e-6 and max(moved(uncapped, a) for a in attacks) > held + 0.05


def test_an_attacker_who_knows_a_defences_word_list_builds_from_the_words_outside_it(scenario: A.Scenario,
                                                                                   embedder: Embedder) -> None:
    # scripts/word_mask_check.py measures a defence against this attacker (SECURITY.md, known limits).
    goal = A.profile_vector(scenario, embedder)
    full = A.vocabulary(scenario, embedder, goal, 12)
    banned = set(full[:6])
    vocab = A.vocabulary(scenario, embedder, goal, 12, allowed=lambda w: w not in banned)
    assert len(vocab) == 12 and not banned & set(vocab) and vocab[:6] == full[6:]
    [attack] = A.adaptive_attacks(scenario, embedder, vocab_size=12, steps=6, kinds=A.SPREAD[:1],
                                  allowed=lambda w: w not in banned)
    planted = attack.how.split(": ", 1)[1].split()
    assert len(planted) == 6 and not banned & set(planted)
    assert set(attack.item.text.lower().split()) - set(attack.target.text.lower().split()) <= set(vocab)
