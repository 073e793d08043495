"""The deterministic instruction parser: what a user types becomes filters, penalties and a public query."""

from __future__ import annotations

import pytest

from shieldrec.ranking.constraints import parse_instruction, positive_text


def test_negation_splits_wanted_from_avoided() -> None:
    intent = parse_instruction("something hopeful, no horror")
    assert intent.wanted == ["hopeful"]
    assert intent.avoided == ["horror"]
    assert intent.mood == "hopeful"
    assert intent.source == "rules"


@pytest.mark.parametrize(
    ("text", "avoided"),
    [
        ("nothing violent", ["violent"]),
        ("hopeful sci-fi without violence or gore", ["violence", "gore"]),
        ("I don't want anything sad", ["sad"]),
        ("no romance but lots of action", ["romance"]),
        ("avoid zombies and vampires", ["zombies", "vampires"]),
        ("a comedy, nothing too scary", ["scary"]),
    ],
)
def test_negations_become_avoided_topics(text: str, avoided: list[str]) -> None:
    assert parse_instruction(text).avoided == avoided


def test_creator_exclusions_keep_the_name() -> None:
    intent = parse_instruction("a space opera, not by George Lucas or Ridley Scott")
    assert intent.exclude_creators == ["George Lucas", "Ridley Scott"]
    assert intent.wanted == ["space opera"]
    assert parse_instruction("cozy mystery, no books by Agatha Christie").exclude_creators == ["Agatha Christie"]
    assert parse_instruction("nothing by stephen king").exclude_creators == ["stephen king"]


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("a thriller under 2 hours", 120),
        ("less than 90 minutes please", 90),
        ("a heist film, 100 min max", 100),
        ("under an hour and a half", 90),
        ("no longer than 1.5 hours", 90),
    ],
)
def test_running_time_limits(text: str, minutes: float) -> None:
    intent = parse_instruction(text)
    assert intent.max_minutes == minutes
    assert not intent.avoided  # "no longer than" is a limit, not a topic to avoid


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("books from the 80s about dragons", 1980, 1989),
        ("movies after 1990 and before 2005", 1991, 2004),
        ("something since 2010", 2010, None),
        ("a western between 1950 and 1965", 1950, 1965),
        ("documentary about space from 1995", 1995, 1995),
    ],
)
def test_year_limits(text: str, low: int | None, high: int | None) -> None:
    intent = parse_instruction(text)
    assert (intent.min_year, intent.max_year) == (low, high)


def test_item_type_is_read_and_not_treated_as_a_quality() -> None:
    intent = parse_instruction("I want a funny movie")
    assert intent.item_type == "movie"
    assert intent.wanted == ["funny"]


def test_public_query_leaves_private_parts_negations_and_limits_at_home() -> None:
    intent = parse_instruction(
        "I want a funny movie for my daughter who is 9, nothing scary, not by Tim Burton, under 2 hours"
    )
    q = intent.public_query.lower()
    assert "funny" in q
    for private in ("daughter", "9", "scary", "burton", "tim", "hours", "my", "want"):
        assert private not in q.split(), private
    feeling = parse_instruction("I feel lonely after my divorce, something uplifting")
    assert feeling.public_query == "uplifting"


def test_positive_text_drops_what_is_to_be_avoided() -> None:
    # Embedding "no horror" would pull horror up; the instruction signal must not see it.
    text = positive_text(parse_instruction("something hopeful, no horror, not by Stephen King"))
    assert "hopeful" in text
    assert "horror" not in text and "King" not in text


def test_parser_is_robust_to_hostile_and_empty_input() -> None:
    assert parse_instruction("").wanted == []
    hostile = parse_instruction("\x1b[31mno horror\x1b[0m\u202e, something kind")
    assert hostile.avoided == ["horror"]
    assert "\x1b" not in hostile.raw and "\u202e" not in hostile.raw
    assert parse_instruction("no " * 500).avoided == []
    # Each call returns its own Intent: editing one does not change the next.
    first = parse_instruction("no horror")
    first.avoided.append("romance")
    assert parse_instruction("no horror").avoided == ["horror"]


@pytest.mark.parametrize("text, age, words", [
    ("a hopeful book to read with my daughter who is 9", 9, "a 9-year-old"),
    ("something for my 7-year-old, no monsters", 7, "a 7-year-old"),
    ("a movie for my 12 year old son and me", 12, "a 12-year-old"),
    ("a film for the kids", 8, "children"),
    ("a book for teenagers", 13, "teenagers"),
    ("a film under 9 minutes", None, ""),  # a length, not an age
    ("a documentary from 1999", None, ""),
])
def test_who_it_is_for_is_read_as_an_age(text: str, age: int | None, words: str) -> None:
    intent = parse_instruction(text)
    assert (intent.audience_age, intent.audience) == (age, words)
    assert str(age) not in intent.public_query.split() if age else True


def test_about_splits_what_is_asked_for() -> None:
    assert parse_instruction("an animated movie about robots").wanted == ["animated", "robots"]
