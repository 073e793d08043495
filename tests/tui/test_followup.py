"""Reading follow-ups against the conversation: no model, no network, the real rule parser."""

from __future__ import annotations

import pytest

from shieldrec.agent.followup import combine, find_card, resolve
from shieldrec.agent.turn import Card, Turn
from shieldrec.items import Item
from shieldrec.ranking.constraints import parse_instruction


def card(n: int, title: str, genres: list[str] | None = None, section: str = "movies") -> Card:
    item = Item.from_untrusted({"id": f"x-{n}", "title": title, "text": f"The plot of {title}.",
                                "meta": {"genres": genres or ["Drama"], "section": section}})
    return Card(rank=n, item=item, score=1.0 - n / 10)


@pytest.fixture
def previous() -> Turn:
    text = "something hopeful, no horror"
    return Turn(text=text, instruction=text, intent=parse_instruction(text), cards=[
        card(1, "The Iron Giant", ["Animation", "Science Fiction"]),
        card(2, "Serenity", ["Science Fiction", "Space opera"]),
        card(3, "Paddington", ["Family Film", "Comedy"]),
    ])


@pytest.mark.parametrize("ref, title", [
    ("the second one", "Serenity"), ("#3", "Paddington"), ("number 1", "The Iron Giant"), ("2nd", "Serenity"),
    ("the last one", "Paddington"), ("serenity", "Serenity"), ("the iron giant", "The Iron Giant"),
    ("'Paddington'", "Paddington"),
])
def test_a_card_is_found_by_position_or_title(previous: Turn, ref: str, title: str) -> None:
    found = find_card(ref, previous.cards)
    assert found is not None and found[1].item.title == title


def test_references_past_the_list_find_nothing(previous: Turn) -> None:
    assert find_card("the fifth one", previous.cards) is None
    assert find_card("#9", previous.cards) is None
    assert find_card("Alien", previous.cards) is None


def test_this_one_means_the_card_in_focus(previous: Turn) -> None:
    found = find_card("this one", previous.cards, focused="x-3")
    assert found is not None and found[1].item.title == "Paddington"


def test_more_like_the_second_one_anchors_on_that_card_and_keeps_the_constraints(previous: Turn) -> None:
    reading = resolve("more like the second one", previous, parse_instruction)
    assert reading.kind == "anchor"
    assert reading.anchor is not None and reading.anchor.title == "Serenity"
    assert reading.intent.avoided == ["horror"]  # "no horror" still holds
    assert "Serenity" in reading.intent.raw and "Serenity" in reading.intent.wanted
    # The platforms hear the anchor's kind of thing, not its title.
    assert "science" in reading.intent.public_query and "serenity" not in reading.intent.public_query.lower()
    assert "#2 'Serenity'" in reading.note


def test_no_shorter_carries_the_request_and_adds_a_length_limit(previous: Turn) -> None:
    reading = resolve("no, shorter", previous, parse_instruction)
    assert reading.kind == "refine"
    assert reading.intent.max_minutes == 100
    assert reading.intent.avoided == ["horror"] and "hopeful" in reading.intent.wanted
    assert reading.instruction.startswith("something hopeful, no horror")
    again = Turn(text="no, shorter", instruction=reading.instruction, intent=reading.intent)
    assert resolve("even shorter", again, parse_instruction).intent.max_minutes == 75


def test_only_books_changes_the_kind_and_nothing_else(previous: Turn) -> None:
    reading = resolve("only books", previous, parse_instruction)
    assert reading.intent.item_type == "book"
    assert reading.intent.wanted == ["hopeful"]  # "only" is not something to look for
    assert reading.intent.avoided == ["horror"]
    assert "only books" in reading.note


def test_no_x_adds_an_exclusion_and_drops_it_from_what_is_wanted() -> None:
    text = "scary space movies"
    prev = Turn(text=text, instruction=text, intent=parse_instruction("space, scary"))
    reading = resolve("no scary", prev, parse_instruction)
    assert "scary" in reading.intent.avoided
    assert "scary" not in reading.intent.wanted and "space" in reading.intent.wanted
    assert "scary" not in reading.intent.public_query.split()


def test_a_new_request_starts_afresh(previous: Turn) -> None:
    reading = resolve("a cozy mystery novel", previous, parse_instruction)
    assert reading.kind == "new"
    assert reading.intent.avoided == [] and reading.intent.item_type == "book"


def test_more_like_an_unknown_title_is_a_new_request(previous: Turn) -> None:
    reading = resolve("more like Star Wars", previous, parse_instruction)
    assert reading.kind == "new" and reading.anchor is None


def test_an_anchor_with_a_constraint_applies_both(previous: Turn) -> None:
    reading = resolve("more like the first one, but only books", previous, parse_instruction)
    assert reading.anchor is not None and reading.anchor.title == "The Iron Giant"
    assert reading.intent.item_type == "book"


def test_the_first_message_is_never_a_follow_up() -> None:
    reading = resolve("no horror", None, parse_instruction)
    assert reading.kind == "new" and reading.intent.avoided == ["horror"]


def test_newer_then_older_keeps_the_latest_word() -> None:
    first = parse_instruction("after 2000")
    later = combine(first, parse_instruction("before 1990"))
    assert later.max_year == 1989 and later.min_year is None
