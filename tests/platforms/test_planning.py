"""What leaves the machine for an instruction: its public, topical words and nothing else."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldrec.errors import InvalidInput
from shieldrec.intent import Intent
from shieldrec.platforms import Query, plan_query


@pytest.mark.parametrize(
    ("instruction", "text", "kind"),
    [
        ("something hopeful for my daughter who is 9, no horror", "hopeful", ""),
        ("I want hopeful science fiction about robots, not by Stephenie Meyer", "hopeful science fiction robots", ""),
        ("I'm feeling low after my divorce, give me a funny movie under 2 hours", "funny", "movie"),
        ("Show me space exploration films from the 90s without gore", "space exploration", "movie"),
        ("a cozy mystery book like Agatha Christie but nothing too dark", "cozy mystery agatha christie", "book"),
        ("Can you recommend a podcast about history? My wife is 34 years old", "history", "podcast"),
        ("something like Dune for my 12-year-old son", "dune", ""),
        ("I'm in the mood for space adventures tonight", "space adventures", ""),
        ("gentle animation with robots; we are watching with the kids", "gentle animation robots", ""),
        ("nothing scary", "", ""),
        ("", "", ""),
    ],
)
def test_private_parts_stay_home(instruction: str, text: str, kind: str) -> None:
    assert plan_query(instruction, None, 20) == Query(text=text, limit=20, kind=kind)


def test_uses_the_parsers_public_query_but_still_filters_it() -> None:
    intent = Intent(raw="x", public_query="hopeful horror robots for my son", avoided=["horror"],
                    exclude_creators=["Stephenie Meyer"], item_type="movie")
    assert plan_query("hopeful robots, no horror, for my son", intent, 30) == Query("hopeful robots", 30, "movie")


def test_excluded_names_never_go_out_even_if_the_instruction_names_them_positively() -> None:
    intent = Intent(raw="x", exclude_creators=["Stephenie Meyer"])
    assert plan_query("vampire romance stephenie meyer style", intent, 10).text == "vampire romance style"


def test_limits_are_clamped_and_long_queries_capped() -> None:
    assert plan_query("space", None, 0).limit == 1
    assert plan_query("space", None, 10_000).limit == 100
    long = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(200))
    assert len(plan_query(long, None, 5).text.split()) == 12
    with pytest.raises(InvalidInput):
        Query("x" * 500)


PRIVATE = st.sampled_from([
    "for my daughter who is {n}", "my wife is {n} years old", "because I'm feeling depressed",
    "we are grieving", "for my {n}-year-old son", "I was diagnosed with cancer", "not by {name}",
    "no {name}", "nothing like {name}",
])


@settings(max_examples=200, deadline=None)
@given(
    public=st.lists(st.sampled_from(["hopeful", "space", "robots", "mystery", "cozy", "jazz", "history"]), max_size=4),
    private=PRIVATE,
    n=st.integers(1, 99),
    name=st.from_regex(r"[A-Z][a-z]{4,9}qz", fullmatch=True),
    glue=st.sampled_from([", ", "; ", " but ", ". "]),
)
def test_a_private_clause_never_leaks(public: list[str], private: str, n: int, name: str, glue: str) -> None:
    secret = private.format(n=n, name=name)
    instruction = " ".join(public) + glue + secret
    sent = plan_query(instruction, None, 20).text
    assert name.lower() not in sent
    assert not re.search(r"\d", sent)
    for word in ("daughter", "wife", "son", "depressed", "grieving", "cancer", "diagnosed", "years"):
        assert word not in sent.split()
    # Only words the user typed go out, in the user's order.
    typed = re.findall(r"\w+", instruction.lower())
    assert all(w in typed for w in sent.split())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_never_fails_and_stays_small_on_any_input(instruction: str) -> None:
    query = plan_query(instruction, None, 20)
    assert len(query.text) <= 200 and len(query.text.split()) <= 12
    assert not re.search(r"\d", query.text)


@pytest.mark.parametrize(
    "instruction",
    [
        "something hopeful for my daughter who is 9, no horror",
        "I'm feeling low after my divorce, a funny movie, not by Adam Sandler",
        "space documentaries for my dad who is 70 but nothing about war",
    ],
)
def test_the_rule_parsers_intent_still_sends_nothing_private(instruction: str) -> None:
    constraints = pytest.importorskip("shieldrec.ranking.constraints")
    sent = plan_query(instruction, constraints.parse_instruction(instruction), 20).text.split()
    for private in ("daughter", "horror", "divorce", "feeling", "low", "adam", "sandler", "dad", "war"):
        assert private not in sent
    assert not any(ch.isdigit() for word in sent for ch in word)
