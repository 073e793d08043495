"""The demo platform: a real HTTP recommender that ranks for itself, as platforms do.

It serves the demo catalogue with a popularity bias, paid placements (flagged `sponsored`
in some answers, dressed as ordinary items in others), repeats of what it already showed
the same client, and a hostile item on every page. It logs every request it receives, so
tests (and curious users) can see exactly what reached the platform.

    GET /v1/recommend?q=&limit=&section=movies|books&page=
    GET /v1/search?q=&limit=&section=
    GET /v1/items/{id}
    GET /v1/health

Standard library only (a `ThreadingHTTPServer` in a background thread) so it starts at once.
`fault` makes it misbehave on purpose: hang, huge, not-json, wrong-types, deep, flaky, error.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from shieldrec.platforms.demo_catalog import SECTIONS, Catalog, Entry, query_words

FAULTS = ("hang", "huge", "not-json", "wrong-types", "deep", "flaky", "error")
LIMIT_MAX = 100
SEEN_MAX = 200
HANG_MAX_S = 120.0
NATIVE_AD_LINES = (
    "Everyone is talking about this one right now. Get it tonight with our partner, first month free!",
    "Our editors' pick for you. Brought to you by StreamMax: limited-time offer.",
    "Trending #1 in your area. Tap to start now, sponsored by our partners.",
)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "DemoPlatform/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the structured request log replaces stderr noise

    def do_GET(self) -> None:
        self.server.owner._handle(self)

    def do_POST(self) -> None:
        self.server.owner._handle(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: DemoServer


class DemoServer:
    """Run the demo platform on `host:port` (port 0: a free one) in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        catalog: Catalog | None = None,
        seed: int = 0,
        token: str | None = None,
        fault: str | None = None,
        log_path: Path | None = None,
        preload: bool = True,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (one of {', '.join(FAULTS)})")
        self.host, self.port = host, port
        self.seed = seed
        self.token = token
        self.fault = fault
        self.log_path = log_path
        self._preload = preload
        self._catalog = catalog
        self._catalog_lock = threading.Lock()
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._seen: dict[str, deque[str]] = {}
        self._served: dict[str, int] = {}
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> DemoServer:
        if self._server is not None:
            return self
        self._stop.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        # A short poll interval so stop() returns promptly (it waits for the serving loop to notice).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-platform", daemon=True
        )
        self._thread.start()
        if self._preload and self._catalog is None:
            threading.Thread(target=self.catalog, name="demo-platform-catalog", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases handlers that hang on purpose
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def catalog(self) -> Catalog:
        with self._catalog_lock:
            if self._catalog is None:
                self._catalog = Catalog.load(self.seed)
            return self._catalog

    # -- the request log ------------------------------------------------------------------

    @property
    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def write_log(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for entry in self.request_log:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
        parts = urlsplit(handler.path)
        headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            # A platform sees the token; its log keeps only whether it was right.
            headers[name.lower()] = "<redacted>" if name.lower() == "authorization" else value
        entry: dict[str, Any] = {
            "at": time.time(),
            "client": handler.client_address[0],
            "method": handler.command,
            "path": unquote(parts.path),
            "query": {k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "auth": self._auth_state(handler),
            "status": None,
        }
        with self._lock:
            entry["n"] = len(self._log) + 1
            self._log.append(entry)
        return entry

    def _finish(self, entry: dict[str, Any], status: int) -> None:
        with self._lock:
            entry["status"] = status
        if self.log_path is not None:
            with self._lock, self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _auth_state(self, handler: BaseHTTPRequestHandler) -> str:
        given = handler.headers.get("Authorization")
        if not given:
            return "none"
        return "valid" if self.token is not None and given == f"Bearer {self.token}" else "invalid"

    # -- answering ------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = handler.headers.get("Content-Length", "0")
        body = handler.rfile.read(min(int(length), 1_000_000)) if length.isdigit() else b""
        entry = self._record(handler, body)
        try:
            status = self._answer(handler, entry)
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away (timed out, cancelled)
        self._finish(entry, status)

    def _answer(self, handler: BaseHTTPRequestHandler, entry: dict[str, Any]) -> int:
        if self.token is not None and entry["auth"] != "valid":
            return _send_json(handler, 401, {"error": "a valid bearer token is required"})
        if handler.command != "GET":
            return _send_json(handler, 405, {"error": "only GET is supported"})
        fault = self._fault_answer(handler)
        if fault is not None:
            return fault
        path, query = entry["path"].rstrip("/"), entry["query"]
        if path == "/v1/health":
            cat = self.catalog()
            return _send_json(handler, 200, {"ok": True, "sections": cat.counts(), "notes": cat.notes})
        if path in ("/v1/recommend", "/v1/search"):
            section = _text(query, "section") or "movies"
            if section not in SECTIONS:
                return _send_json(handler, 400, {"error": f"unknown section {section!r}"})
            limit = _int(query, "limit", 20, 1, LIMIT_MAX)
            page = _int(query, "page", 0, 0, 1000)
            client = entry["client"]
            items = self._page(section, _text(query, "q"), limit, page, client, recommend=path.endswith("recommend"))
            return _send_json(handler, 200, {
                "items": items, "section": section, "page": page, "attribution": self.catalog().attribution(section),
            })
        if path.startswith("/v1/items/"):
            found = self.catalog().by_id.get(path.removeprefix("/v1/items/"))
            if found is None:
                return _send_json(handler, 404, {"error": "no such item"})
            return _send_json(handler, 200, found.to_json(self.url))
        return _send_json(handler, 404, {"error": "no such endpoint"})

    def _fault_answer(self, handler: BaseHTTPRequestHandler) -> int | None:
        fault = self.fault
        if fault is None:
            return None
        if fault == "hang":
            self._stop.wait(HANG_MAX_S)
            return _send_json(handler, 503, {"error": "shutting down"})
        if fault == "error":
            return _send_json(handler, 500, {"error": "internal error"})
        if fault == "flaky":
            with self._lock:
                flaky_seen = sum(1 for e in self._log if e["path"].startswith("/v1/"))
            if flaky_seen <= 2:
                return _send_json(handler, 503, {"error": "try again"})
            return None
        if fault == "not-json":
            return _send(handler, 200, b"<!doctype html><html><body>Sign in to continue</body></html>", "text/html")
        if fault == "wrong-types":
            return _send_json(handler, 200, {"items": [
                {"id": {"nested": 1}, "title": "Object id"},
                {"id": "x-2", "title": ["a", "list"]},
                {"id": "x-3", "title": "Numeric description", "description": 12345},
                {"id": "x-4", "title": "Odd flag", "sponsored": {"maybe": True}},
            ]})
        if fault == "deep":
            depth = 5000
            return _send(handler, 200, b'{"items": ' + b"[" * depth + b"]" * depth + b"}", "application/json")
        if fault == "huge":
            return self._stream_huge(handler)
        return None

    def _stream_huge(self, handler: BaseHTTPRequestHandler) -> int:
        # No Content-Length: the client has to stop on its own cap.
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        handler.wfile.write(b'{"items": [')
        chunk = b'{"id": "pad", "title": "' + b"x" * 65_000 + b'"},'
        for _ in range(800):  # about 50 MB, unless the client hangs up first
            if self._stop.is_set():
                break
            handler.wfile.write(chunk)
        handler.wfile.write(b"{}]}")
        return 200

    # -- the platform's own ranking -------------------------------------------------------

    def _page(
        self, section: str, q: str, limit: int, page: int, client: str, *, recommend: bool
    ) -> list[dict[str, Any]]:
        cat = self.catalog()
        entries = cat.sections.get(section, [])
        wanted = query_words(q)
        scored: list[tuple[float, Entry]] = []
        for e in entries:
            if e.hostile:
                continue  # placed by hand below, as a platform's partners would be
            relevance = cat.relevance(section, e, wanted)
            if wanted and not relevance and not recommend:
                continue
            # The platform's bias: popularity multiplies relevance, and pads the page when nothing matches.
            popularity = cat.popularity(e)
            scored.append((relevance * (0.5 + popularity) + 1000.0 * bool(relevance) + popularity, e))
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        organic = [e for _, e in scored[page * limit:(page + 1) * limit]]

        visitor = f"{client}|{section}"
        with self._lock:
            request_no = self._served.get(visitor, 0)
            self._served[visitor] = request_no + 1
            seen = list(self._seen.get(visitor, ()))
        rng = random.Random(f"{self.seed}|{section}|{q}|{page}|{request_no}")
        slots = max(1, limit // 5)
        placed: list[tuple[int, Entry, str]] = []  # (position, entry, how)

        if recommend and seen:
            repeats = [cat.by_id[i] for i in dict.fromkeys(reversed(seen)) if i in cat.by_id]
            repeats = [e for e in repeats if e not in organic and not e.hostile][:slots]
            for n, e in enumerate(repeats):
                placed.append((1 + 3 * n, e, "repeat"))
        advertisers = self._advertisers(section)
        for n in range(min(slots, rng.choice((1, 2)))):
            if advertisers:
                placed.append((3 * n, rng.choice(advertisers), "ad-flagged" if rng.random() < 0.5 else "ad-native"))
        hostile = cat.hostile(section)
        if hostile and limit >= 3:
            placed.append((rng.randrange(1, min(limit, 6)), hostile[request_no % len(hostile)], "hostile"))

        ordered: list[tuple[Entry, str]] = [(e, "organic") for e in organic]
        for position, e, how in sorted(placed, key=lambda p: p[0]):
            ordered = [pair for pair in ordered if pair[0].id != e.id]
            ordered.insert(min(position, len(ordered)), (e, how))
        ordered = ordered[:limit]

        with self._lock:
            memory = self._seen.setdefault(visitor, deque(maxlen=SEEN_MAX))
            memory.extend(e.id for e, _ in ordered)
        return [self._render(e, how, rng) for e, how in ordered]

    def _advertisers(self, section: str) -> list[Entry]:
        """The paying partners: a fixed, seed-chosen handful of ordinary catalogue entries."""
        pool = [e for e in self.catalog().sections.get(section, []) if not e.hostile]
        if not pool:
            return []
        return random.Random(f"{self.seed}|advertisers|{section}").sample(pool, min(12, len(pool)))

    def _render(self, e: Entry, how: str, rng: random.Random) -> dict[str, Any]:
        if how == "ad-flagged":
            return e.to_json(self.url, sponsored=True)
        if how == "ad-native":
            # The paid slot dressed as an organic pick: no flag, only the wording gives it away.
            line = NATIVE_AD_LINES[rng.randrange(len(NATIVE_AD_LINES))]
            return e.to_json(self.url, description=f"{line} {e.description}")
        return e.to_json(self.url)


def _text(query: dict[str, Any], key: str) -> str:
    value = query.get(key, "")
    return str(value[0] if isinstance(value, list) else value)[:500]


def _int(query: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(_text(query, key) or default)))
    except ValueError:
        return default


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> int:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    # Platforms track their visitors; ShieldRec's client refuses the cookie.
    handler.send_header("Set-Cookie", f"demo_uid={abs(hash(handler.client_address)) % 10**8}; Path=/")
    handler.end_headers()
    handler.wfile.write(body)
    return status


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> int:
    return _send(handler, status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json")

