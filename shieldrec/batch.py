"""Batch re-ranking: JSONL requests in, one result per request out, in input order.

A request line is checked completely (JSON, every field, every item through the
sanitizing constructors) before anything is ranked, so a bad line costs nothing and
names itself. Valid requests are ranked in batches: the pipeline prefetches each
batch's texts in one pass and the embedding cache keeps every distinct text encoded
once, however many requests repeat it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.types import RankRequest, RankResult, Removed
from shieldrec.sanitize import clean_text

BATCH_SIZE = 256  # requests per pipeline call: big enough to batch the encoder, small enough to show progress
MAX_LINE_BYTES = 16 * 1024 * 1024  # one request; anything larger is not a request
INSTRUCTION_MAX = 1000
BELOW_TOP = "below top {top}"


class InvalidLine(InvalidInput):
    """One JSONL line that cannot be used; its message starts with the line number."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


class BrokenResult(ShieldRecError):
    """The ranking lost or duplicated a candidate: never written out as if it were whole."""


class Ranker(Protocol):
    def rank_many(self, requests: Sequence[RankRequest]) -> list[RankResult]: ...


@dataclass
class Parsed:
    """The usable requests of an input, each with its line number, and the lines that were not."""

    requests: list[tuple[int, RankRequest]] = field(default_factory=list)
    errors: list[InvalidLine] = field(default_factory=list)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _entries(raw: dict[str, Any], key: str, build: Callable[[Any], Any], what: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise InvalidInput(f"'{key}' must be a list, got {type(value).__name__}")
    out = []
    for i, entry in enumerate(value, 1):
        try:
            out.append(build(entry))
        except InvalidInput as exc:
            raise InvalidInput(f"{what} {i}: {exc}") from None
    return out


class _Entries:
    """Builds candidates and history entries for the requests of one input.

    Items repeat across the requests of a file (one catalogue, users who saw the same
    things): each distinct item object is validated and sanitized once and the Item
    shared, since pipelines never modify the items they are given. A history entry's own
    fields (event, rating, when) are checked per entry; its item goes through the same cache.
    """

    LIMIT = 200_000  # distinct items remembered; past this, items are simply built each time

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def item(self, raw: Any) -> Item:
        if not isinstance(raw, dict):
            return Item.from_untrusted(raw)  # raises the usual message
        key = json.dumps(raw, sort_keys=True, ensure_ascii=False)
        found = self._items.get(key)
        if found is None:
            found = Item.from_untrusted(raw)  # an invalid item raises here and is never remembered
            if len(self._items) < self.LIMIT:
                self._items[key] = found
        return found

    def event(self, raw: Any) -> HistoryEvent:
        if not isinstance(raw, dict):
            return HistoryEvent.from_untrusted(raw)
        own = {k: raw[k] for k in _EVENT_FIELDS if k in raw}
        item = self.item(raw["item"] if "item" in raw else {k: v for k, v in raw.items() if k not in _EVENT_FIELDS})
        # Validate the entry's own fields the one way there is, then attach the shared item.
        return replace(HistoryEvent.from_untrusted({**own, "item": _PLACEHOLDER}), item=item)


_EVENT_FIELDS = ("event", "rating", "instruction", "at")
_PLACEHOLDER = {"item_id": "-", "title": "-"}


def parse_request(raw: Any, entries: _Entries | None = None) -> RankRequest:
    """One request object -> RankRequest, every string sanitized; InvalidInput says what is wrong."""
    entries = entries or _Entries()
    if not isinstance(raw, dict):
        raise InvalidInput(f"a request must be a JSON object, got {type(raw).__name__}")
    rid = raw.get("request_id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise InvalidInput("'request_id' is missing" if rid is None else "'request_id' must be a string or a number")
    request_id = clean_text(rid, 200)
    if not request_id:
        raise InvalidInput("'request_id' is empty")
    instruction = raw.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise InvalidInput(f"'instruction' must be a string, got {type(instruction).__name__}")
    if "candidates" not in raw:
        raise InvalidInput("'candidates' is missing")
    candidates = _entries(raw, "candidates", entries.item, "candidate")
    seen: set[str] = set()
    for item in candidates:
        if item.item_id in seen:
            raise InvalidInput(f"candidate {item.item_id!r} is listed twice")
        seen.add(item.item_id)
    history = (
        _entries(raw, "history", entries.event, "history entry")
        if raw.get("history") is not None else []
    )
    return RankRequest(
        candidates=candidates,
        instruction=clean_text(instruction, INSTRUCTION_MAX),
        history=history,
        request_id=request_id,
    )


def _decode(line: int, data: bytes) -> str | None:
    if len(data) > MAX_LINE_BYTES:
        raise InvalidLine(line, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidLine(line, f"not UTF-8 text (byte {exc.start + 1})") from None
    text = text.lstrip("\ufeff") if line == 1 else text
    return text if text.strip() else None


def parse_lines(lines: Iterable[bytes]) -> Parsed:
    """Every line of a JSONL input, checked; blank lines are skipped, request ids must be unique."""
    parsed = Parsed()
    entries = _Entries()
    first_seen: dict[str, int] = {}
    for number, data in enumerate(lines, 1):
        try:
            text = _decode(number, data)
            if text is None:
                continue
            try:
                raw = json.loads(text, parse_constant=_no_constants)
            except (json.JSONDecodeError, ValueError) as exc:
                raise InvalidLine(number, f"not valid JSON ({exc})") from None
            try:
                request = parse_request(raw, entries)
            except InvalidInput as exc:
                raise InvalidLine(number, str(exc)) from None
            earlier = first_seen.get(request.request_id)
            if earlier is not None:
                raise InvalidLine(number, f"request_id {request.request_id!r} was already used on line {earlier}")
            first_seen[request.request_id] = number
            parsed.requests.append((number, request))
        except InvalidLine as exc:
            parsed.errors.append(exc)
    return parsed


def with_profile(
    request: RankRequest, history: Sequence[HistoryEvent], preferences: Sequence[Preference]
) -> RankRequest:
    """The request as the profile's owner would have it: stored history first, then the inline one."""
    return replace(request, history=[*history, *request.history], preferences=[*preferences, *request.preferences])


def settle(request: RankRequest, result: RankResult, top: int | None) -> RankResult:
    """Cut the ranking to `top` (the cut items are reported as removed) and check that every
    candidate is accounted for exactly once."""
    ranking, removed = list(result.ranking), list(result.removed)
    if top is not None and len(ranking) > top:
        reason = BELOW_TOP.format(top=top)
        removed += [Removed(r.item, reason) for r in ranking[top:]]
        ranking = ranking[:top]
    given = [c.item_id for c in request.candidates]
    placed = [r.item.item_id for r in ranking] + [r.item.item_id for r in removed]
    if sorted(given) != sorted(placed):
        lost = sorted(set(given) - set(placed))
        extra = sorted(set(placed) - set(given)) or sorted({i for i in placed if placed.count(i) > 1})
        raise BrokenResult(
            f"request {request.request_id!r}: the ranking lost {lost or 'nothing'} and returned {extra or 'nothing'} "
            "extra; this is a bug in ShieldRec, please report it"
        )
    return RankResult(request_id=request.request_id, ranking=ranking, removed=removed, intent=result.intent,
                      checks=result.checks)


def rank_all(
    ranker: Ranker,
    requests: Sequence[RankRequest],
    *,
    top: int | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[RankResult]:
    """Results in input order, ranked `batch_size` (default BATCH_SIZE) requests at a time."""
    size = batch_size or BATCH_SIZE
    for start in range(0, len(requests), size):
        batch = list(requests[start : start + size])
        busy = [r for r in batch if r.candidates]
        results = iter(ranker.rank_many(busy) if busy else [])
        for request in batch:
            if request.candidates:
                yield settle(request, next(results), top)
            else:  # nothing to rank: the answer is known without a model
                yield RankResult(request_id=request.request_id, ranking=[], removed=[])
        if progress is not None:
            progress(len(batch))


# -- output rows ---------------------------------------------------------------------------

CSV_COLUMNS = ("request_id", "rank", "item_id", "score", "reasons", "labels", "removed")


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def result_row(result: RankResult) -> dict[str, Any]:
    """The JSON object of one result: request_id, ranking, removed."""
    row = result.to_dict()
    for entry in row["ranking"]:
        entry["score"] = _finite(entry["score"])
    return row


def csv_rows(result: RankResult) -> list[dict[str, Any]]:
    """One row per candidate: ranked ones with their 1-based rank, removed ones with the reason."""
    rows: list[dict[str, Any]] = []
    for position, ranked in enumerate(result.ranking, 1):
        rows.append({
            "request_id": result.request_id, "rank": position, "item_id": ranked.item.item_id,
            "score": _finite(ranked.score), "reasons": " | ".join(ranked.reasons),
            "labels": " | ".join(ranked.labels), "removed": "",
        })
    for gone in result.removed:
        rows.append({
            "request_id": result.request_id, "rank": "", "item_id": gone.item.item_id,
            "score": "", "reasons": "", "labels": "", "removed": gone.reason,
        })
    return rows
