"""Who may call the service, checked before any route runs, and every call written down.

Any web page the user visits can send requests to 127.0.0.1, so a call is refused unless:
its `Host` is a loopback name with the service's own port (a DNS-rebinding page's Host is
its own domain); it carries no `Origin` other than the service's own and those allowed one
by one in the settings (and no cross-site fetch marker without one); it carries the bearer
token (every route but health); its body fits the cap and arrives in time. A refused call
reaches no route: it changes nothing but the call log.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio
import orjson

from shieldrec.serve.calls import Call, CallLog
from shieldrec.serve.token import matches

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/v1/health"})
BODY_SECONDS = 10.0  # a body trickled slower than this is not from a program of the user's
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
PROBLEM = b"application/problem+json"


@dataclass(frozen=True)
class Refusal:
    status: int
    title: str
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


def problem_body(status: int, title: str, detail: str, **extra: Any) -> bytes:
    """An RFC 9457 problem details document."""
    return orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra})


class Guard:
    def __init__(self, app: ASGIApp, *, token: str, port: int, allowed_origins: list[str], max_body: int,
                 calls: CallLog) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.calls = calls
        self.hosts = frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES)
        own = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
        self.origins = frozenset(own | {o.rstrip("/") for o in allowed_origins})
        self.cors_origins = frozenset(o.rstrip("/") for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        origin = headers.get("origin")
        sent = {"status": 0, "bytes": 0}
        cors = origin if origin in self.cors_origins else None

        async def metered(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                if cors is not None:
                    message["headers"] = [*message.get("headers", []), *_cors_headers(cors)]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        received = 0
        refusal = self._check(scope, headers)
        try:
            if refusal is None and scope["method"] == "OPTIONS" and cors is not None:
                await _respond(metered, 204, b"", ())  # a preflight from an allowed origin
                return
            if refusal is None:
                body, refusal = await self._read_body(receive, headers)
                received = len(body)
            if refusal is not None:
                await _respond(metered, refusal.status, problem_body(refusal.status, refusal.title, refusal.detail),
                               ((b"content-type", PROBLEM), *refusal.headers))
                return
            scope.setdefault("state", {})
            await self.app(scope, _replay(body), metered)
        finally:
            state = scope.get("state") or {}
            client = scope.get("client") or ("?", 0)
            self.calls.add(Call.of(
                at=time.time(), caller=f"{client[0]}:{client[1]}", user_agent=headers.get("user-agent", ""),
                method=scope["method"], route=scope["path"], status=sent["status"] or 499, bytes_in=received,
                bytes_out=sent["bytes"], items=state.get("items"),
                duration_ms=(time.perf_counter() - started) * 1000, refused=refusal.title if refusal else None,
            ))

    def _check(self, scope: Scope, headers: dict[str, str]) -> Refusal | None:
        repeated = set(headers.get(":repeated", "").split())
        if headers.get("host", "").lower() not in self.hosts or "host" in repeated:
            return Refusal(403, "Host not allowed", "this service answers only to its loopback address and port")
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return Refusal(403, "Origin not allowed",
                           "web pages may call this service only when their origin is allowed in the settings")
        if origin is None and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return Refusal(403, "Origin not allowed", "a cross-site request without an origin is not accepted")
        if scope["method"] == "OPTIONS":
            return None
        if scope["path"] not in OPEN_PATHS:
            auth = headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or "authorization" in repeated or not matches(given.strip(), self.token):
                return Refusal(401, "Unauthorized", "send the service's token as 'Authorization: Bearer <token>' "
                               "(`shieldrec serve token` prints it)", ((b"www-authenticate", b"Bearer"),))
        return None

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> tuple[bytes, Refusal | None]:
        too_big = Refusal(413, "Content Too Large", f"a request body may hold at most {self.max_body:,} bytes")
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            return b"", too_big if declared.isdigit() else Refusal(400, "Bad Request", "invalid Content-Length")
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(BODY_SECONDS) as timer:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    return b"", too_big
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if timer.cancelled_caught:
            return b"", Refusal(408, "Request Timeout", f"the body did not arrive within {BODY_SECONDS:.0f} s")
        return b"".join(chunks), None


def _headers(scope: Scope) -> dict[str, str]:
    """Header names lowered, values decoded; a repeated Host or Authorization is noted."""
    out: dict[str, str] = {}
    repeated: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name in out:
            repeated.append(name)
        out[name] = raw_value.decode("latin-1")
    if repeated:
        out[":repeated"] = " ".join(repeated)
    return out


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", b"GET, POST"),
        (b"access-control-allow-headers", b"authorization, content-type"),
        (b"access-control-max-age", b"600"),
        (b"vary", b"Origin"),
    ]


async def _respond(send: Send, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes) -> Receive:
    """The body, already read, handed to the app as it would have arrived."""
    done = False

    async def receive() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
