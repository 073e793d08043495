"""Feedback through the local service teaches the profile in the background, as the app's keys do,
and the service ranks with what was learned."""

from __future__ import annotations

import time

import pytest

from shieldrec.store import Profile, Store

from .conftest import Running
from .test_routes import MOVIES, REQUEST

pytestmark = pytest.mark.slow


def test_feedback_through_the_service_starts_the_same_background_update(service: Running, store: Store,
                                                                          maya: Profile) -> None:
    assert store.learned.model(maya.id) is None
    with service.client() as c:
        for action, name in (("like", "martian"), ("dislike", "interstellar"), ("not_now", "paddington")):
            got = c.post("/v1/feedback", json={"action": action, "item": MOVIES[name]})
            assert got.status_code == 200, got.text
        learner = service.service.learner
        deadline = time.monotonic() + 120
        while learner.busy:
            assert time.monotonic() < deadline, "the update did not finish"
            time.sleep(0.05)
        model = store.learned.model(maya.id)
        assert model is not None
        assert model.taught_by.get("liked", 0) >= 1 and model.taught_by.get("disliked", 0) >= 1
        assert model.taught_by.get("not_now") == 1
        assert learner.thread_ident is not None
        # Still ranking, with every candidate accounted for, after the service took the update in.
        after = c.post("/v1/rerank", json={**REQUEST, "request_id": "after"})
    assert after.status_code == 200
    placed = [r["item_id"] for r in after.json()["ranking"]] + [r["item_id"] for r in after.json()["removed"]]
    assert sorted(placed) == sorted(c["item_id"] for c in REQUEST["candidates"])
