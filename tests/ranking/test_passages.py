"""The passage check (ranking/passages.py): a description's match to the user counts only as far
as no single passage of it carries the match."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking import Embedder
from shieldrec.ranking.passages import MIN_WORDS, MIRROR, PARTS, CandidateVectors, views
from shieldrec.ranking.semantic import item_text


def test_a_description_is_read_by_its_title_alone_and_without_each_passage_in_turn() -> None:
    words = [f"w{i}" for i in range(41)]
    got = views(" ".join(words))
    assert got[0] == "" and len(got) == PARTS + 1
    left_out = []
    for view in got[1:]:
        kept = view.split()
        assert kept == [w for w in words if w in kept]  # the rest, in its own order
        left_out.append([w for w in words if w not in kept])
    # Each passage is one stretch of about a PARTS-th of the words, and together they are all of them.
    assert sorted(w for part in left_out for w in part) == sorted(words)
    for part in left_out:
        first = words.index(part[0])
        assert part == words[first:first + len(part)] and abs(len(part) - len(words) / PARTS) <= 1


def test_short_and_missing_descriptions_are_compared_with_the_title_and_tags_or_not_at_all() -> None:
    assert views("") == [] and views("  \n ") == []
    assert views(" ".join(["word"] * (MIN_WORDS - 1))) == [""]
    assert len(views(" ".join(["word"] * MIN_WORDS))) == PARTS + 1
    # A bare title is no judge of a description: without tags, only the passages are compared.
    assert views(" ".join(["word"] * (MIN_WORDS - 1)), tagged=False) == []
    assert len(views(" ".join(["word"] * MIN_WORDS), tagged=False)) == PARTS and "" not in views("a b", tagged=False)


def test_a_pull_toward_the_user_counts_against_the_item_and_nothing_else_moves() -> None:
    goal = np.array([1.0, 0.0], dtype=np.float32)
    full = np.array([[0.5, 0.1], [0.5, 0.2], [0.4, 0.3]], dtype=np.float32)
    per_item = [
        np.array([[0.55, 0.0], [0.52, 0.0]], dtype=np.float32),  # every view at least as close: honest
        np.array([[0.45, 0.0], [0.3, 0.0]], dtype=np.float32),  # without one passage it is far: planted
        np.zeros((0, 2), dtype=np.float32),  # nothing to compare with
    ]
    vecs = CandidateVectors.of(full, per_item)
    assert np.allclose(vecs.pull(goal), [0.0, 0.2, 0.0])
    assert np.allclose(vecs.toward(goal), [0.5, 0.5 - (1 + MIRROR) * 0.2, 0.4])
    # Several goals at once (history, stated likes): the same, column by column.
    goals = np.stack([goal, goal]).T
    assert np.allclose(vecs.toward(goals), np.stack([vecs.toward(goal)] * 2, axis=1))
    assert np.allclose(CandidateVectors(full).toward(goal), full @ goal)


def test_words_planted_in_one_passage_do_not_raise_what_the_ranker_reads(embedder: Embedder) -> None:
    plot = ("Jimmy, a divorced man in his forties, lives with his sister and her family while looking for a "
            "new wife. His brother-in-law thinks he is a disaster, and although Jimmy lacks social grace he is "
            "sure the best years of his life are just beginning, until his niece's friend moves in.")
    clean = Item("white-on-rice", "White on Rice", plot, meta={"genres": ["Comedy", "Romance Film"]})
    planted = replace(clean, text=plot + " A story of astronauts and robots, with spaceships and aliens.")
    query = embedder.encode(["a hopeful science fiction film"])[0]

    def read(items: list[Item]) -> CandidateVectors:
        per_item = [embedder.encode([item_text(replace(it, text=t)) for t in views(it.text)]) for it in items]
        return CandidateVectors.of(embedder.encode([item_text(it) for it in items]), per_item)

    both = read([clean, planted])
    assert float(both.full[1] @ query) > float(both.full[0] @ query) + 0.05  # the words do pull the whole
    assert both.toward(query)[1] <= both.toward(query)[0]  # but not what is ranked by
    assert both.pull(query)[0] == 0.0 and both.pull(query)[1] > 0.05
