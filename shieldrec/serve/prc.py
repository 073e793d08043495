"""The Prosocial Ranking Challenge ranker contract (`ranking-challenge==3.4.0`), mapped onto
ShieldRec's items and results in this one place.

What the platform claims about an item (its `original_rank`, its engagement counts) travels
in `meta` as features (`platform_rank`, `engagements`) that a ranker may read and discount;
the default pipeline gives neither any weight, so no count can buy a place. The item order
in the request is kept only as the tie-breaker. The session's user id and the survey
answers are never stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from ranking_challenge.request import ContentItem, RankingRequest
from ranking_challenge.response import RankingResponse

from shieldrec.errors import InvalidInput
from shieldrec.items import Item
from shieldrec.ranking.types import RankRequest, RankResult
from shieldrec.sanitize import clean_text

TITLE_CHARS = 120  # posts without a title (most of them) show the start of their text


class RemovedItem(BaseModel):
    id: str = Field(description="The ID of an item the shield took out of the feed.")
    reason: str = Field(description="Why, in plain words (a block in the user's profile, a hard constraint).")


class ShieldedRankingResponse(RankingResponse):
    """The contract's response, plus the items left out of `ranked_ids` and why. Clients that
    know only the contract read `ranked_ids` and ignore the rest."""

    removed: list[RemovedItem] = Field(default_factory=list,
                                       description="Items not in ranked_ids: taken out by the shield, with reasons.")


def _title(item: ContentItem) -> str:
    if item.title and item.title.strip():
        return item.title
    text = clean_text(item.text, TITLE_CHARS)
    return text or f"({item.type} without text)"


def to_item(item: ContentItem, platform: str) -> Item:
    """One content item as a candidate; every string passes the one sanitizer."""
    meta: dict[str, Any] = {
        "type": item.type,
        "platform_rank": item.original_rank,
        "engagements": item.engagements.model_dump(exclude_none=True),
        "created_at": item.created_at.isoformat(),
        "links": len(item.embedded_urls or []),
    }
    if item.language:
        meta["language"] = item.language
    if item.post_id:
        meta["post_id"] = item.post_id
    if item.parent_id:
        meta["parent_id"] = item.parent_id
    return Item.from_untrusted({
        "item_id": item.id,
        "title": _title(item),
        # Without a title the text's start stands in for one; the text itself is kept when longer.
        "text": item.text if item.title or len(item.text) > TITLE_CHARS else "",
        "creator": item.author_name_hash,
        "source": platform,
        "meta": meta,
    }, platform=platform)


def to_request(req: RankingRequest) -> RankRequest:
    candidates = [to_item(it, req.session.platform) for it in req.items]
    seen: set[str] = set()
    for item in candidates:
        if item.item_id in seen:
            raise InvalidInput(f"item {item.item_id!r} is listed twice")
        seen.add(item.item_id)
    return RankRequest(candidates=candidates, request_id=clean_text(req.session.session_id, 200))


def to_response(result: RankResult) -> ShieldedRankingResponse:
    return ShieldedRankingResponse(
        ranked_ids=[r.item.item_id for r in result.ranking],
        removed=[RemovedItem(id=r.item.item_id, reason=r.reason) for r in result.removed],
    )
