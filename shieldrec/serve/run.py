"""Binding and running: loopback addresses only, a socket the caller may bind first."""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
from collections.abc import Callable

import uvicorn

from shieldrec.errors import ShieldRecError
from shieldrec.serve.app import create_app
from shieldrec.serve.service import Service

CONCURRENCY = 256  # open connections at once; past this the service answers 503 at once
GRACE_SECONDS = 30  # on SIGTERM: calls in progress get this long to finish
_STOP = (signal.SIGINT, signal.SIGTERM)


class NotLoopback(ShieldRecError):
    pass


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on a loopback address (port 0: any free one). Anything else is refused:
    the service is for programs on this machine."""
    name = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise NotLoopback(f"{host!r} is not an address; the service binds 127.0.0.1 or ::1 only") from None
    if not address.is_loopback:
        raise NotLoopback(f"{host} is not a loopback address; the service binds 127.0.0.1 or ::1 only")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    # IPPROTO_TCP by name: asyncio turns Nagle's algorithm off only on sockets that say so, and
    # with it on every small answer waits out the peer's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((str(address), port))
    except OSError as exc:
        sock.close()
        raise ShieldRecError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
    sock.listen(CONCURRENCY)
    sock.set_inheritable(True)
    return sock


def server(service: Service, sock: socket.socket, token: str) -> uvicorn.Server:
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(service, token=token, port=port), lifespan="on", log_level="warning", access_log=False,
        server_header=False, limit_concurrency=CONCURRENCY, timeout_graceful_shutdown=GRACE_SECONDS,
    )
    return uvicorn.Server(config)


def serve(service: Service, sock: socket.socket, token: str, on_ready: Callable[[int], None] | None = None) -> None:
    """Run until SIGINT/SIGTERM (uvicorn's own handlers): calls in progress finish, feedback
    they carried is written, the call log is flushed, then it returns."""
    srv = server(service, sock, token)
    if on_ready is not None:
        on_ready(sock.getsockname()[1])
    # uvicorn stops gracefully on these, then raises the signal again for the handler it found:
    # this one notes it, so the stop ends as a normal exit (status 0) after the cleanup.
    noted: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, lambda signum, frame: noted.append(signum)) for sig in _STOP} if main else {}
    try:
        srv.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
