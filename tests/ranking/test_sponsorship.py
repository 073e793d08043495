"""Paid placement: the platform's flag and the tell-tale wording of native ads."""

from __future__ import annotations

import pytest

from shieldrec.items import Item
from shieldrec.ranking.sponsorship import find_paid_markers, platform_says_sponsored


@pytest.mark.parametrize(
    "text",
    [
        "A great read for the summer #ad",
        "This episode is sponsored by Acme Mattresses.",
        "Promoted: the blender everyone talks about",
        "Paid partnership with Nike.",
        "Use code SAVE20 for 20% off your first box.",
        "Links are affiliate links; we may earn a commission.",
        "As an Amazon Associate I earn from qualifying purchases.",
        "Brought to you by Acme.",
        "[Ad] The best budget phone of the year",
        "#sponsored a cosy week in Lisbon",
        "Everyone is talking about this one right now. Get it tonight with our partner, first month free!",
        "Stream it today through our partners.",
    ],
)
def test_paid_placement_markers(text: str) -> None:
    assert find_paid_markers(text)


@pytest.mark.parametrize(
    "text",
    [
        "He was promoted to captain after the war.",
        "The code was cracked by the team at dawn.",
        "She uses the code name Viper.",
        "An ad agency drama set in the sixties.",
        "The sponsor of the race disappears.",
        "#adventure on the high seas",
        "He worked with our partners in crime for a decade.",
        "The first month is free of worry; the second is not.",
    ],
)
def test_ordinary_text_is_not_an_ad(text: str) -> None:
    assert find_paid_markers(text) == []


def test_platform_flags_in_field_or_metadata() -> None:
    assert platform_says_sponsored(Item(item_id="1", title="x", sponsored=True))
    assert platform_says_sponsored(Item(item_id="2", title="x", meta={"promoted": True}))
    assert platform_says_sponsored(Item(item_id="3", title="x", meta={"placement": "Sponsored"}))
    assert not platform_says_sponsored(Item(item_id="4", title="x", meta={"placement": "organic", "ad": False}))
