"""The learned part of a profile in the database: kept per profile, exported, imported, reset, forgotten."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from shieldrec.errors import InvalidInput
from shieldrec.items import Preference
from shieldrec.learning import reset
from shieldrec.learning.facets import build
from shieldrec.store import Store
from shieldrec.store.learned import PersonalModel



def _model(events: int = 30) -> PersonalModel:
    return PersonalModel(prior="1", features=("instruction", "popularity"), weights=np.asarray([0.1, -0.4]),
                         events=events, pairs=120, blend=0.43, taught_by={"liked": 20, "disliked": 10},
                         newest_event=7, held_out={"pairs": 20.0, "prior": 0.6, "personal": 0.7})


def _fed(store: Store, films: list) -> object:
    from shieldrec.items import HistoryEvent

    def event(item, kind, at):  # noqa: ANN001, ANN202
        return HistoryEvent(item=item, event=kind, at=at)

    p = store.create_profile("ana")
    store.add_preference(p, Preference(kind="like", target="topic", value="slow cinema"))
    for i, f in enumerate(films[:4]):
        store.add_event(p, event(f, "liked", 1000.0 + i))
    for i, f in enumerate(films[4:7]):
        store.add_event(p, event(f, "disliked", 2000.0 + i))
    store.learned.save_model(p.id, _model())
    store.learned.replace_facets(p.id, build(store.history(p), now=3000.0))
    return p


def test_the_learned_part_travels_with_export_and_import(store: Store, films: list) -> None:
    p = _fed(store, films)
    facet = store.learned.facets(p.id)[0]
    store.learned.choose(p.id, facet.key, "pinned", facet.label)
    doc = json.loads(json.dumps(store.export_profile("ana")))
    assert doc["learned"]["model"]["events"] == 30
    assert {f["label"] for f in doc["learned"]["facets"]} == {f.label for f in store.learned.facets(p.id)}

    copy = store.import_profile(doc, name="ana-copy")
    model = store.learned.model(copy.id)
    assert model is not None and model.blend == pytest.approx(0.43)
    assert np.allclose(model.weights, [0.1, -0.4])
    assert [f.pinned for f in store.learned.facets(copy.id) if f.key == facet.key] == [True]


def test_an_import_with_a_broken_learned_part_is_refused_whole(store: Store, films: list) -> None:
    _fed(store, films)
    doc = store.export_profile("ana")
    doc["learned"]["model"]["weights"] = [float("nan"), 1.0]
    with pytest.raises(InvalidInput, match="learned.model"):
        store.import_profile(json.loads(json.dumps(doc).replace("NaN", "1e999")), name="broken")
    doc["learned"]["model"]["weights"] = [1.0]  # one weight for two features
    with pytest.raises(InvalidInput, match="one finite weight per feature"):
        store.import_profile(doc, name="broken")
    assert [x.name for x in store.profiles()] == ["ana"]  # nothing half-imported


def test_reset_keeps_stated_preferences_and_history(store: Store, films: list) -> None:
    p = _fed(store, films)
    store.add_preference(p, Preference(kind="like", target="topic", value="sci-fi", origin="learned",
                                       evidence="liked 'Arrival' and 'Contact'"))
    history = [(ev.item.item_id, ev.event) for ev in store.history(p)]
    said = reset(store, p)
    assert "the personal model of 30 events" in said
    assert store.learned.model(p.id) is None and store.learned.facets(p.id) == []
    assert [x.value for x in store.preferences(p)] == ["slow cinema"]
    assert [(ev.item.item_id, ev.event) for ev in store.history(p)] == history
    assert store.learned.since(p.id) > 0  # older feedback teaches nothing any more


def test_each_profile_keeps_its_own_learned_part(store: Store, films: list) -> None:
    ana = _fed(store, films)
    ben = store.create_profile("ben")
    assert store.learned.model(ben.id) is None and store.learned.facets(ben.id) == []
    reset(store, ben)
    assert store.learned.model(ana.id) is not None and store.learned.facets(ana.id)


def test_forget_leaves_no_learned_row(store: Store, films: list) -> None:
    p = _fed(store, films)
    store.forget("ana")
    con = sqlite3.connect(store.path)
    for table in ("personal_models", "interest_facets", "facet_choices", "impressions", "learning_since"):
        assert con.execute(f"SELECT COUNT(*) FROM {table} WHERE profile_id = ?", [p.id]).fetchone()[0] == 0
    con.close()


def test_profile_show_says_what_was_learned_and_how_much_it_weighs(store: Store, films: list) -> None:
    from shieldrec.cli import cli

    p = _fed(store, films)
    out = CliRunner().invoke(cli, ["profile", "show", "ana"])
    assert out.exit_code == 0, out.output
    assert "you tend to like sci-fi" in out.output
    assert "you tend to dislike horror" in out.output
    assert "learned from 30 feedback events (liked 20, disliked 10)" in out.output
    assert "It weighs 0.43 against the shipped ranker" in out.output

    facet = next(f for f in store.learned.facets(p.id) if f.kind == "avoid")
    out = CliRunner().invoke(cli, ["profile", "facet", "delete", str(facet.id), "-p", "ana"])
    assert out.exit_code == 0, out.output
    shown = CliRunner().invoke(cli, ["profile", "show", "ana"]).output
    assert "you tend to dislike horror" not in shown
    assert CliRunner().invoke(cli, ["profile", "facet", "pin", "999", "-p", "ana"]).exit_code == 1

    out = CliRunner().invoke(cli, ["profile", "reset-learned", "ana", "--yes"])
    assert out.exit_code == 0, out.output
    shown = CliRunner().invoke(cli, ["profile", "show", "ana"]).output
    assert "you tend to like" not in shown and "slow cinema" in shown


@pytest.mark.parametrize("learned", [
    5, "x", {"facets": 3}, {"facet_choices": {"a": 1}}, {"facets": [{"kind": "like", "items": "abc"}]},
    {"facets": [{"kind": "hate"}]}, {"facet_choices": [{"key": "k", "choice": "burn"}]}, {"since": "yesterday"},
    {"model": {"features": ["a"], "weights": [1.0], "events": -1, "pairs": 0}},
])
def test_a_learned_part_that_is_not_one_is_a_clear_error(store: Store, learned: object) -> None:
    doc = {"profile": {"name": "x"}, "learned": learned}
    with pytest.raises(InvalidInput, match="learned"):
        store.import_profile(doc)
    assert store.profiles() == []


@pytest.mark.slow
def test_feedback_given_on_the_command_line_is_learned_from_before_the_command_returns(store: Store,
                                                                                       films: list) -> None:
    from shieldrec.cli import cli

    store.create_profile("cli")
    for n, f in enumerate(films):
        action = "dislike" if "Horror" in f.meta["genres"] else "like"
        item = json.dumps({"item_id": f.item_id, "title": f.title, "text": f.text, "meta": f.meta})
        out = CliRunner().invoke(cli, ["profile", "feedback", action, item, "-p", "cli"])
        assert out.exit_code == 0, out.output
        assert f"{action}d '{f.title}'".lower() in out.output.lower()
        assert "Learned from" in out.output
        model = store.learned.model(store.profile("cli").id)
        assert model is not None and model.events == n + 1  # each command waited for its update
    assert {f.kind for f in store.learned.facets(store.profile("cli").id)} == {"like", "avoid"}
    bad = CliRunner().invoke(cli, ["profile", "feedback", "like", "{not json", "-p", "cli"])
    assert bad.exit_code == 1 and "ITEM must be a JSON object" in bad.output and "Traceback" not in bad.output
