"""Fan-out against the real demo platform: privacy, the audit trail, timeouts, merging."""

from __future__ import annotations

import pytest

import json
import time
import unicodedata
from pathlib import Path
from typing import Any

from shieldrec.items import Item
from shieldrec.platforms import (
    DemoServer,
    ensure_demo_platform,
    fan_out,
    merge,
    plan_query,
)
from shieldrec.platforms.demo_catalog import Catalog
from shieldrec.store import Store
from shieldrec.store.platform_configs import PlatformConfig

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model

CANARY = "zqxcanary7731"
INSTRUCTION = "something hopeful about robots and space for my daughter who is 9, no horror, not by Stephenie Meyer"


def canary_profile(store: Store, profiles_dir: Path) -> Any:
    """maya.toml plus a canary in a stated like, a history title, a blocked name and 'about'."""
    from shieldrec.store import load_profile_file

    doc = load_profile_file(profiles_dir / "maya.toml")
    doc["profile"]["about"] += f" {CANARY}-about"
    doc["preferences"].append({"kind": "like", "target": "topic", "value": f"robots {CANARY}-like"})
    doc["preferences"].append({"kind": "block", "target": "creator", "value": f"Blocked {CANARY}-block"})
    doc["history"].append({"item_id": "movie-1", "title": f"Space {CANARY}-history", "event": "liked"})
    return store.import_profile(doc)


def logged_text(entry: dict[str, Any]) -> str:
    return json.dumps([entry["path"], entry["query"], entry["headers"], entry["body"]], ensure_ascii=False)


async def test_profile_never_reaches_the_platform(store: Store, profiles_dir: Path, demo: DemoServer) -> None:
    profile = canary_profile(store, profiles_dir)
    ensure_demo_platform(store, profile, demo)
    query = plan_query(INSTRUCTION, None, 20)

    result = await fan_out(store, profile, query)

    assert result.errors == {} and result.items
    log = demo.request_log
    assert len(log) == 2  # movies and books, once each
    for entry in log:
        text = logged_text(entry).lower()
        assert CANARY not in text
        for private in ("daughter", "horror", "meyer", "stephenie", "maya", "iron giant"):
            assert private not in text, private
        assert entry["query"]["q"] == "hopeful robots space"
        assert "cookie" not in entry["headers"]


async def test_audit_log_matches_the_platforms_log_one_for_one(
    store: Store, profiles_dir: Path, demo: DemoServer
) -> None:
    profile = canary_profile(store, profiles_dir)
    ensure_demo_platform(store, profile, demo)
    for instruction in ("hopeful robots", "a detective story", "space"):
        await fan_out(store, profile, plan_query(instruction, None, 10))

    audit = store.audit.entries(profile.id)
    log = demo.request_log
    assert len(audit) == len(log) == 6
    # Requests go out concurrently, so pair them by what was sent, not by arrival order.
    sent = sorted((a.method, a.url.split("127.0.0.1", 1)[1], json.dumps(a.params["query"], sort_keys=True))
                  for a in audit)
    received = sorted((e["method"], f":{demo.port}{e['path']}", json.dumps(e["query"], sort_keys=True)) for e in log)
    assert sent == received
    for a in audit:
        assert a.status == 200 and a.error is None and a.bytes_in and a.bytes_out and a.duration_ms is not None
        assert a.params["query"]["section"] in ("movies", "books")


async def test_a_hanging_platform_is_cut_while_the_other_answers(
    store: Store, catalog: Catalog, demo: DemoServer
) -> None:
    profile = store.create_profile("ana")
    statuses: list[tuple[str, str]] = []
    with DemoServer(catalog=catalog, fault="hang") as stuck:
        configs = [
            PlatformConfig("quick", "demo", {"base_url": demo.url}),
            PlatformConfig("stuck", "demo", {"base_url": stuck.url, "retries": 0}),
        ]
        started = time.perf_counter()
        result = await fan_out(store, profile, plan_query("space", None, 10), configs, timeout=1.5,
                               on_status=lambda name, status: statuses.append((name, status)))
        elapsed = time.perf_counter() - started

    assert elapsed < 5  # cut at its deadline, not at the server's two-minute hang
    assert result.counts["quick"] == 10 and all(i.platforms == ["quick"] for i in result.items)
    assert result.errors == {"stuck": "stuck: timed out after 1.5s"} and result.counts["stuck"] == 0
    assert ("quick", "done") in statuses and ("stuck", "timeout") in statuses
    assert statuses.index(("stuck", "pending")) < statuses.index(("stuck", "timeout"))
    stuck_audit = [a for a in store.audit.entries(profile.id) if a.platform == "stuck"]
    assert len(stuck_audit) == 1 and "ran out of time" in (stuck_audit[0].error or "")


async def test_a_broken_platform_is_reported_and_the_rest_still_rank(
    store: Store, catalog: Catalog, demo: DemoServer
) -> None:
    profile = store.create_profile("ana")
    with DemoServer(catalog=catalog, fault="not-json") as broken:
        configs = [
            PlatformConfig("good", "demo", {"base_url": demo.url, "section": "books"}),
            PlatformConfig("broken", "demo", {"base_url": broken.url}),
            PlatformConfig("unknown", "no-such-adapter", {}),
            PlatformConfig("off", "demo", {"base_url": demo.url}, enabled=False),
        ]
        result = await fan_out(store, profile, plan_query("mystery", None, 5), configs)
    assert result.counts["good"] == 5 and len(result.items) == 5
    assert "not JSON" in result.errors["broken"] and "text/html" in result.errors["broken"]
    assert "unknown adapter 'no-such-adapter'" in result.errors["unknown"]
    assert "off" not in result.counts and "off" not in result.errors


async def test_hostile_items_arrive_sanitized(store: Store, demo: DemoServer) -> None:
    profile = store.create_profile("ana")
    ensure_demo_platform(store, profile, demo)
    seen: dict[str, Item] = {}
    for _ in range(6):  # the platform rotates its hostile slot
        for item in (await fan_out(store, profile, plan_query("space robots", None, 20))).items:
            seen[item.item_id] = item
    hostile = {k: v for k, v in seen.items() if "-h" in k}
    assert {"movie-h1", "movie-h2", "movie-h3", "movie-h4", "movie-h5", "book-h1", "book-h2"} <= set(hostile)
    for item in hostile.values():
        for text in (item.title, item.text, item.creator):
            assert "\x1b" not in text and "\x07" not in text
            assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text.replace("\n", ""))
        assert len(item.title) <= 300
    assert hostile["movie-h1"].title == "Starship Hope (free stream)"
    assert hostile["movie-h2"].title == "Robot Friends Forever in Space"
    assert hostile["movie-h5"].url == ""  # a javascript: link is never kept
    # Injection text is kept as plain text: the local ranker must see it to demote it.
    assert "Ignore previous instructions" in hostile["movie-h4"].text
    assert hostile["movie-h3"].title.startswith("[bold red]WATCH NOW")
    # What was cleaned out stays on record, so the ranking can label and demote the sender.
    assert hostile["movie-h1"].tricks == ["terminal escape codes"]
    assert hostile["movie-h2"].tricks == ["bidi overrides"]
    assert hostile["book-h1"].tricks == ["terminal escape codes", "bidi overrides"]
    assert hostile["movie-h3"].tricks == hostile["movie-h4"].tricks == []


async def test_paid_placements_flagged_and_native_and_repeats(store: Store, demo: DemoServer) -> None:
    profile = store.create_profile("ana")
    configs = [PlatformConfig("demo-movies", "demo", {"base_url": demo.url})]
    flagged = native = 0
    pages: list[list[str]] = []
    for _ in range(8):
        result = await fan_out(store, profile, plan_query("robots", None, 20), configs)
        pages.append([i.item_id for i in result.items])
        flagged += sum(i.sponsored for i in result.items)
        native += sum(("sponsored by our partners" in i.text or "Brought to you by" in i.text
                       or "first month free" in i.text) and not i.sponsored for i in result.items)
    assert flagged >= 1 and native >= 1
    # It shows the same client what it already showed it: later pages repeat earlier items.
    assert set(pages[-1]) & set().union(*pages[:-1])


def test_demo_items_carry_attribution_and_stats(catalog: Catalog) -> None:
    movie = catalog.by_id["movie-2548"]
    assert movie.title == "The Iron Giant" and "Animation" in movie.genres
    assert "Wikipedia" in movie.attribution and "CC BY-SA" in movie.attribution
    assert movie.stats["rating_count"] > 0
    assert any(e.attribution.startswith("Book data: goodbooks-10k") for e in catalog.sections["books"])


def test_merge_folds_duplicates_and_keeps_every_source() -> None:
    a = [Item("x-1", "The Iron Giant", creator="Brad Bird", platforms=["a"]),
         Item("x-2", "Serenity", platforms=["a"]),
         Item("x-3", "Serenity", text="the 2019 remake", platforms=["a"])]
    b = [Item("b-77", "the iron giant!", creator="brad  bird", url="https://b.example/77", sponsored=True,
              platforms=["b"]),
         Item("x-2", "Serenity (2005)", platforms=["b"]),
         Item("b-9", "Another", platforms=["b"])]
    merged = merge([("a", a), ("b", b)])
    by_id = {i.item_id: i for i in merged}
    assert [i.item_id for i in merged] == ["x-1", "x-2", "x-3", "b-9"]
    giant = by_id["x-1"]
    assert giant.platforms == ["a", "b"] and giant.sponsored  # paid on one platform is paid
    assert giant.url == "https://b.example/77" and giant.meta["source_ids"] == {"a": "x-1", "b": "b-77"}
    assert by_id["x-2"].platforms == ["a", "b"]
    assert by_id["x-3"].platforms == ["a"]  # one platform's two "Serenity" entries stay two
