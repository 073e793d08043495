"""Batch re-ranking: JSONL requests in, one result per request out, in input order.

A request line is checked completely (JSON, every field, every item through the
sanitizing constructors) before anything is ranked, so a bad line costs nothing and
names itself. Valid requests are ranked in batches: the pipeline prefetches each
batch's texts in one pass and the embedding cache keeps every distinct text encoded
once, however many requests repeat it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking.types import RankRequest, RankResult, Removed
from shieldrec.sanitize import clean_text

if TYPE_CHECKING:
    from shieldrec.ranking import Pipeline
    from shieldrec.settings import Settings
    from shieldrec.store import Store

BATCH_SIZE = 256  # requests per pipeline call: big enough to batch the encoder, small enough to show progress
MAX_LINE_BYTES = 16 * 1024 * 1024  # one request; anything larger is not a request
MAX_DEPTH = 64  # nesting levels in one request; real ones use five or six
INSTRUCTION_MAX = 1000
BELOW_TOP = "below top {top}"
_SKIP_CHUNK = 1024 * 1024  # how much of an over-long line is read (and dropped) at a time


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


@dataclass(frozen=True)
class LongLine:
    """A line over the size cap, read past without being kept: only its size is known."""

    size: int


@dataclass
class Parsed:
    """The usable requests of an input, each with its line number, and the lines that were not."""

    requests: list[tuple[int, RankRequest]] = field(default_factory=list)
    errors: list[InvalidLine] = field(default_factory=list)


def read_lines(stream: IO[bytes], cap: int = MAX_LINE_BYTES) -> Iterator[bytes | LongLine]:
    """The lines of a binary stream; a line longer than `cap` bytes is never held whole in
    memory (it comes out as a LongLine), so neither a huge line nor an endless one without a
    newline costs more than `cap` bytes."""
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        if len(line) - line.endswith(b"\n") > cap:
            size = len(line)
            while not line.endswith(b"\n"):
                line = stream.readline(_SKIP_CHUNK)
                if not line:
                    break
                size += len(line)
            yield LongLine(size)
        else:
            yield line


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests lists and objects more than `limit` levels deep (checked level by
    level, without recursion, so no depth can exhaust the interpreter's stack)."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            below += [c for c in (node.values() if type(node) is dict else node) if type(c) in (dict, list)]
        level = below
    return False


def loads(data: bytes | str) -> Any:
    """One JSON document -> its value; InvalidInput for anything that is not JSON, carries
    NaN or Infinity, or nests deeper than MAX_DEPTH."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise InvalidInput(f"nested more than {MAX_DEPTH} levels deep") from None
        raise InvalidInput(f"not valid JSON ({exc})") from None
    if too_deep(value):
        raise InvalidInput(f"nested more than {MAX_DEPTH} levels deep")
    return value


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
    things) and across the calls to a service: each distinct item object is validated and
    sanitized once and the Item shared, since pipelines never modify the items they are
    given; the `limit` most recently seen are kept. A history entry's own fields (event,
    rating, when) are checked per entry; its item goes through the same cache.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self._items: OrderedDict[bytes, Item] = OrderedDict()
        self.limit = limit

    def item(self, raw: Any) -> Item:
        if not isinstance(raw, dict):
            return Item.from_untrusted(raw)  # raises the usual message
        key = orjson.dumps(raw)  # the same item written with its keys in another order is simply built again
        found = self._items.get(key)
        if found is None:
            found = Item.from_untrusted(raw)  # an invalid item raises here and is never remembered
            self._items[key] = found
            if len(self._items) > self.limit:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return found

    def event(self, raw: Any) -> HistoryEvent:
        if not isinstance(raw, dict):
            return HistoryEvent.from_untrusted(raw)
        item = self.item(raw["item"] if "item" in raw else {k: v for k, v in raw.items() if k not in _EVENT_FIELDS})
        return HistoryEvent.from_untrusted(raw, item=item)


_EVENT_FIELDS = ("event", "rating", "instruction", "at")


class Requests:
    """Turns request objects into RankRequests, sharing one item cache across them (one
    input file, or one running service). Not for use by two threads at once."""

    def __init__(self, limit: int = 200_000) -> None:
        self._entries = _Entries(limit)

    def parse(self, raw: Any) -> RankRequest:
        return parse_request(raw, self._entries)


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


_BOM = b"\xef\xbb\xbf"


def _line_value(number: int, data: bytes | LongLine) -> Any:
    """The JSON value on one line, None for a blank line; InvalidLine says what is wrong."""
    if isinstance(data, LongLine):
        raise InvalidLine(number, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MB ({data.size:,} bytes)")
    if len(data) - data.endswith(b"\n") > MAX_LINE_BYTES:
        raise InvalidLine(number, f"longer than {MAX_LINE_BYTES // (1024 * 1024)} MB ({len(data):,} bytes)")
    if number == 1 and data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        return None
    try:
        return loads(data)
    except InvalidInput as exc:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise InvalidLine(number, f"not UTF-8 text (byte {bad.start + 1})") from None
        if not text.strip():
            return None  # blank in the Unicode sense (no-break or wide spaces only)
        raise InvalidLine(number, str(exc)) from None


def parse_lines(lines: Iterable[bytes | LongLine]) -> Parsed:
    """Every line of a JSONL input, checked; blank lines are skipped, request ids must be unique."""
    parsed = Parsed()
    requests = Requests()
    first_seen: dict[str, int] = {}
    for number, data in enumerate(lines, 1):
        try:
            raw = _line_value(number, data)
            if raw is None:
                continue
            try:
                request = requests.parse(raw)
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


def build_ranker(settings: Settings, store: Store | None, *, with_llm: bool = False,
                 owner: int | None = None, learned: tuple[Any, list[Any]] | None = None) -> tuple[Pipeline, str]:
    """The ranking pipeline every entry point uses (terminal app aside: it builds its own
    session), and a line on what the language model adds. `store` gives the embedding
    cache (with `owner`, the vectors are recorded as that profile's: `profile forget` removes
    them); None keeps vectors in memory only. With `owner`, the profile's learned part (its
    ranker head and interest facets) is on the pipeline; `learned` hands it over where the
    database is not at hand (a Ray actor)."""
    from shieldrec.ranking import Pipeline

    if not with_llm:
        return personal(Pipeline.for_user(store, settings, owner=owner), store, owner, learned), ""
    from shieldrec.llm import build_pipeline

    settings.llm.enabled = True  # asked for by name
    embedder = Pipeline.for_user(store, settings, owner=owner).embedder
    pipeline, parts = build_pipeline(settings, embedder)
    return personal(pipeline, store, owner, learned), parts.note


def personal(pipeline: Pipeline, store: Store | None, owner: int | None,
             snapshot: tuple[Any, list[Any]] | None = None) -> Pipeline:
    """With a profile: what it learned from its user (its ranker head and interest facets) on
    the pipeline; `pipeline.personal.reload()` takes in a newer update."""
    found = None
    if snapshot is not None or (store is not None and owner is not None):
        from shieldrec.learning.personalize import Personal

        found = Personal(store if snapshot is None else None, owner or 0, pipeline.embedder, snapshot)
        found.attach(pipeline)
    pipeline.personal = found  # type: ignore[attr-defined]
    return pipeline


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


def row_bytes(result: RankResult) -> bytes:
    """One result as a compact JSON line (without its newline)."""
    return orjson.dumps(result_row(result))


class ResultWriter:
    """Streams results to a binary stream as jsonl (one object a line), json (one array of
    them) or csv (one row per candidate); `finish` completes the document."""

    def __init__(self, fmt: str, out: IO[bytes]) -> None:
        self.fmt = fmt
        self.out = out
        self._first = True
        self._text: io.TextIOWrapper | None = None
        if fmt == "csv":
            self._text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)  # type: ignore[arg-type]
            self._table = csv.DictWriter(self._text, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
            self._table.writeheader()

    def write(self, result: RankResult) -> None:
        if self.fmt == "jsonl":
            self.out.write(row_bytes(result) + b"\n")
        elif self.fmt == "json":
            self.out.write((b"[\n" if self._first else b",\n") + row_bytes(result))
        else:
            self._table.writerows(csv_rows(result))
        self._first = False

    def finish(self) -> None:
        if self.fmt == "json":
            self.out.write(b"[]\n" if self._first else b"\n]\n")
        if self._text is not None:
            self._text.flush()
            self._text.detach()  # the stream stays open: it belongs to the caller
            self._text = None
        self.out.flush()
