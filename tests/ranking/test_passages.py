"""The passage check (ranking/passages.py): a description's match to the user counts only as far
as no single passage of it carries the match."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from shieldrec.items import Item
from shieldrec.ranking import Embedder
from shieldrec.ranking.passages import MIN_WORDS, MIRROR, PARTS, CandidateVectors, view_keeps, views
from shieldrec.ranking.semantic import item_head, item_text


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
        # As the pipeline reads them: the head encoded alone, the passages pooled from the whole's pass.
        texts = [item_text(it) for it in items]
        full = embedder.encode(texts)
        pooled = embedder.views(texts, [view_keeps(item_head(it), it.text) for it in items])
        heads = embedder.encode([item_head(it) for it in items])
        return CandidateVectors.read(full, list(heads), pooled)

    both = read([clean, planted])
    assert float(both.full[1] @ query) > float(both.full[0] @ query) + 0.05  # the words do pull the whole
    assert both.toward(query)[1] <= both.toward(query)[0]  # but not what is ranked by
    assert both.pull(query)[0] == 0.0 and both.pull(query)[1] > 0.05


def test_each_view_keeps_the_text_but_one_passage_in_the_characters_the_model_reads() -> None:
    head, text = "White on Rice (2009). Comedy", " ".join(f"word{i}" for i in range(40))
    whole = f"{head}. {text}"
    keeps = view_keeps(head, text)
    assert len(keeps) == PARTS
    for keep, words in zip(keeps, views(text)[1:]):
        kept = "".join(whole[a:b] for a, b in keep)
        # The head always, then exactly the words of the view "without this passage".
        assert kept.startswith(f"{head}. ") and kept[len(head) + 2:].split() == words.split()
    assert view_keeps(head, "too short to cut") == ()


def test_a_pooled_view_is_moved_gain_times_as_far_from_its_whole() -> None:
    full = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    pooled = [np.array([[np.cos(0.1), np.sin(0.1)]], dtype=np.float32),
              np.array([[np.sin(0.1), np.cos(0.1)], [np.sin(0.2), np.cos(0.2)]], dtype=np.float32),
              np.zeros((0, 2), dtype=np.float32)]
    head = np.array([0.0, 1.0], dtype=np.float32)
    got = CandidateVectors.read(full, [head, None, None], pooled).views
    assert got is not None and got.shape == (2, 3, 2)
    assert np.allclose(got[0, 0], head)  # the head is encoded on its own and kept as it is
    assert np.allclose(np.linalg.norm(got, axis=2), 1.0)
    # Each pooled view lands farther from its whole than pooled, in its own candidate's place.
    assert float(got[1, 0] @ full[0]) < float(pooled[0][0] @ full[0])
    assert float(got[0, 1] @ full[1]) < float(pooled[1][0] @ full[1])
    assert float(got[1, 1] @ full[1]) < float(pooled[1][1] @ full[1])
    assert np.allclose(got[:, 2], full[2])  # nothing to compare with: its whole, which pulls nothing
    assert CandidateVectors.read(full, [None] * 3, [p[:0] for p in pooled]).views.shape == (0, 3, 2)
