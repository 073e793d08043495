"""The attack suite on the default pipeline, with the real embedding model and real films: text
written to buy rank (instructions, role tags, claims about the user, hidden text, keyword
stuffing, imitations of ShieldRec's own answer, sponsorship denials, words chosen against
the embedding model) reaches no top 3 and gains no place over the same item without it.
`scripts/attack_report.py` prints the same table for every ranker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shieldrec.eval import attacks as A
from shieldrec.ranking import Embedder, Pipeline
from shieldrec.ranking.labels import CAUGHT
from shieldrec.ranking.pipeline import CARRIED

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


@pytest.mark.xfail(strict=True, reason="known limit (SECURITY.md): chosen words spread through the whole "
                                      "description, a few in every passage, still gain places")
def test_chosen_words_spread_through_the_description_buy_nothing(scenario: A.Scenario, embedder: Embedder,
                                                                make_pipeline: Callable[..., Pipeline]) -> None:
    # Six substitutions each, spread through the description as the attack is, but from only the two words
    # nearest the profile: each greedy step encodes (free slots x words) candidate texts, so 2 words instead
    # of 8 cost a quarter of the encoding (this test alone: 93 s instead of 194). It still gains places (two
    # of the six targets, four places each, when this was written), so the strict xfail still holds; should
    # the defence ever stop it, try the full attack (vocab_size=12) before removing the xfail.
    attacks = A.adaptive_attacks(scenario, embedder, vocab_size=2, steps=6, kinds=A.SPREAD)
    outcomes = A.run(scenario, attacks, make_pipeline().rank)
    assert not [o for o in outcomes if o.gained]


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
