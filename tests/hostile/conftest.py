"""A hostile platform: a real HTTP server on 127.0.0.1 whose every answer is an attack."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Answer = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """Serves `routes[path](handler)`; each route writes whatever status, headers and bytes it likes.

    HTTP/1.0 without a Content-Length: the body ends when the server closes the connection,
    so a route can stream for as long as it wants."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.hits: dict[str, int] = {}
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?")[0]
                hits[path] = hits.get(path, 0) + 1
                answer = routes.get(path)
                if answer is None:
                    self.send_error(404)
                    return
                try:
                    answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what ShieldRec should do

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: Callable[[], bytes | Iterator[bytes]], status: int = 200,
            content_type: str = "application/json", **headers: str) -> str:
        """Answer `path` with `body()`: bytes are made once, now (so that making them is not
        counted in what a test measures); a stream is made afresh for each request."""
        made = body()
        if isinstance(made, bytes):
            self.routes[path] = lambda handler: send(handler, made, status, content_type, **headers)
        else:
            self.routes[path] = lambda handler: send(handler, body(), status, content_type, **headers)
        return self.url(path)

    repeated = staticmethod(lambda chunk, total: repeated(chunk, total))
    trickle = staticmethod(lambda piece, every: trickle(piece, every))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler: BaseHTTPRequestHandler, body: bytes | Iterator[bytes], status: int = 200,
         content_type: str = "application/json", **headers: str) -> None:
    """Status, headers, then the body (bytes, or chunks written as they come)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    if isinstance(body, bytes):
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if isinstance(body, bytes):
        handler.wfile.write(body)
        return
    for chunk in body:
        handler.wfile.write(chunk)
        handler.wfile.flush()


def repeated(chunk: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes made of one chunk sent again and again (the server allocates nothing more)."""
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


def trickle(piece: bytes, every: float, forever: bool = True) -> Iterator[bytes]:
    while True:
        yield piece
        time.sleep(every)
        if not forever:
            return


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.stop()
