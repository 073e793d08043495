"""Public counts under the user's control, on the real demo platform with the example profile."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shieldrec.agent import AgentSession
from shieldrec.items import Item
from shieldrec.platforms import ensure_demo_platform, fan_out, plan_query
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.ranking import Embedder, Pipeline, RankRequest, facts
from shieldrec.ranking.constraints import parse_instruction
from shieldrec.ranking.features import popularity_features
from shieldrec.settings import RankingSettings, Settings
from shieldrec.store import Store, load_profile_file

REPO = Path(__file__).resolve().parents[2]
HOPEFUL = "something hopeful"


def in_most_rated_quarter(item: Item, pool: list[Item]) -> bool:
    """Whether `item` has as many public ratings as the most-rated quarter of its platform's candidates."""
    mine = sorted((facts.popularity_count(i) or 0 for i in pool if i.source == item.source), reverse=True)
    count = facts.popularity_count(item)
    return bool(mine) and count is not None and count >= mine[max(1, len(mine) // 4) - 1]


async def test_hopeful_is_not_the_bestseller_list(store: Store, demo: DemoServer, embedder: Embedder) -> None:
    maya = store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))
    ensure_demo_platform(store, maya, demo)
    settings = Settings()
    settings.llm.enabled = False
    assert settings.ranking.popularity == 0.5  # the suite's choice (scripts/sweep_popularity.py)
    turn = await AgentSession(store, maya, settings, embedder=embedder).ask(HOPEFUL)
    top = [c.item for c in turn.cards[:10]]
    assert len(top) == 10
    # What the platforms send for the same words (the demo answers the same request alike).
    pool = (await fan_out(store, maya, plan_query(HOPEFUL, parse_instruction(HOPEFUL), limit=30))).items
    bestsellers = sorted(pool, key=lambda i: -(facts.popularity_count(i) or 0))
    # Not the bestseller list: the four most-rated candidates are not its head, its order is not
    # the order of the counts, and fewer than half of the ten most-rated candidates are in it.
    assert len({i.item_id for i in top[:4]} & {i.item_id for i in bestsellers[:4]}) <= 1
    ranks = np.argsort(np.argsort([-(facts.popularity_count(i) or 0) for i in top]))
    assert abs(np.corrcoef(ranks, np.arange(10))[0, 1]) < 0.5
    assert len({i.item_id for i in top} & {i.item_id for i in bestsellers[:10]}) < 5

    # The user's setting turns the counts off: no part of any score comes from them.
    settings.ranking = replace(settings.ranking, popularity=0.0)
    blind = await AgentSession(store, maya, settings, embedder=embedder).ask(HOPEFUL)
    assert blind.cards and all("popularity" not in c.components for c in blind.cards)
    assert not any("public ratings" in r for c in blind.cards for r in c.reasons)
    # At the default, the counts bring at most one more of each platform's most-rated quarter into
    # the answer than what it asked for does alone (hopeful films and books are often well known).
    well_known = sum(in_most_rated_quarter(i, pool) for i in top)
    assert well_known <= sum(in_most_rated_quarter(c.item, pool) for c in blind.cards[:10]) + 1


def test_counts_compare_within_a_platform_only() -> None:
    def item(i: int, source: str, count: int | None) -> Item:
        return Item(item_id=f"{source}{i}", title=f"t{i}", source=source,
                    meta={} if count is None else {"rating_count": count})

    books = [item(1, "books", 2_000_000), item(2, "books", 1_000_000), item(3, "books", 500_000)]
    films = [item(4, "films", 4_000), item(5, "films", 2_000), item(6, "films", 1_000)]
    pop, _ = popularity_features([*books, *films])
    # The most-rated film is worth as much among films as the most-rated book among books.
    assert pop[0] == pytest.approx(pop[3], abs=1e-3) and pop[3] > 0 > pop[5]
    # No count where the others have one: treated as the least rated, never as average.
    unknown, _ = popularity_features([*films[:2], item(9, "films", None)])
    assert unknown[2] == unknown[1] < 0
    lone, _ = popularity_features([item(7, "a", 10), item(8, "b", 10_000)])
    assert list(lone) == [0.0, 0.0]  # one count per platform compares with nothing


def test_popularity_setting_scales_the_learned_push(embedder: Embedder) -> None:
    cands = [Item(item_id=f"c{i}", title=title, text="A quiet story about a family.", source="shop",
                  meta={"rating_count": count})
             for i, (title, count) in enumerate([("Harbor Lights", 900_000), ("Small Hours", 900), ("Tides", 90)])]
    req = RankRequest(candidates=cands)
    full = Pipeline(RankingSettings(diversity=0.0, popularity=1.0), embedder).rank(req)
    half = Pipeline(RankingSettings(diversity=0.0, popularity=0.5), embedder).rank(req)
    push = {r.item.item_id: r.components.get("popularity", 0.0) for r in full.ranking}
    halved = {r.item.item_id: r.components.get("popularity", 0.0) for r in half.ranking}
    assert push["c0"] > 0 > push["c2"] and [r.item.item_id for r in full.ranking] == ["c0", "c1", "c2"]
    assert halved == pytest.approx({k: v / 2 for k, v in push.items()}, abs=1e-5)
