"""The documented shapes of the service's own routes, for the OpenAPI schema only: requests
are validated by the same code as `shieldrec rerank`'s lines, so the messages match."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CandidateDoc(BaseModel):
    model_config = ConfigDict(extra="allow", title="Candidate")
    item_id: str | int = Field(description="Unique within the request; text or a whole number.")
    title: str
    text: str = ""
    creator: str = ""
    source: str = ""
    url: str = ""
    sponsored: bool = False
    meta: dict[str, Any] = Field(default_factory=dict, description="e.g. {\"genres\": [\"Drama\"], \"year\": 1999}")


class HistoryDoc(CandidateDoc):
    model_config = ConfigDict(extra="allow", title="HistoryEntry")
    event: Literal["liked", "disliked", "skipped", "consumed", "rated", "not_now"] = "consumed"
    rating: float | None = None
    at: float | None = Field(None, description="Unix time.")


class RerankRequestDoc(BaseModel):
    model_config = ConfigDict(title="RerankRequest")
    request_id: str | int
    instruction: str = Field("", description="Free text, e.g. \"something hopeful, no horror\".")
    candidates: list[CandidateDoc]
    history: list[HistoryDoc] = Field(default_factory=list, description="Adds to the profile's own history.")


class RankedDoc(BaseModel):
    model_config = ConfigDict(title="Ranked")
    item_id: str
    score: float | None
    reasons: list[str]
    labels: list[str]


class RemovedDoc(BaseModel):
    model_config = ConfigDict(title="Removed")
    item_id: str
    reason: str


class RerankResultDoc(BaseModel):
    model_config = ConfigDict(title="RerankResult")
    request_id: str
    ranking: list[RankedDoc]
    removed: list[RemovedDoc] = Field(description="Every candidate is in ranking or here, once.")


class FeedbackDoc(BaseModel):
    model_config = ConfigDict(title="Feedback")
    action: Literal["like", "dislike", "not_now", "block"]
    item: CandidateDoc | None = Field(None, description="The item the feedback is about (needed except for a "
                                                        "block that names its value).")
    target: Literal["creator", "topic", "source", "item"] = Field("creator", description="What a block blocks.")
    value: str | None = Field(None, description="The creator, topic or source to block; default: the item's own, "
                                                "when it has exactly one.")
    instruction: str = Field("", description="What the item was ranked for, kept with a like or dislike.")


class FeedbackResultDoc(BaseModel):
    model_config = ConfigDict(title="FeedbackResult")
    action: str
    summary: str = Field(description="What was written and what the profile learned, in one line.")
    event_id: int | None
    preference_id: int | None
    learned: list[str]


class HealthDoc(BaseModel):
    model_config = ConfigDict(title="Health")
    status: Literal["ok", "loading", "unavailable"]
    version: str
    profile: str | None
    models: dict[str, str]


class ProblemDoc(BaseModel):
    model_config = ConfigDict(title="Problem")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
