"""The one way out: every request any adapter makes goes through `Egress`.

Each attempt (each retry, each redirect hop) is written to the audit log before it is sent
and completed after. Bodies are streamed and cut at a size cap, redirects are followed by
hand so each hop is audited and a token never follows a redirect to another origin, cookies
are refused so a platform cannot stitch requests together, and the token is added to the
request here, from the keyring, and recorded nowhere.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import ssl
import time
import urllib.request
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from shieldrec.errors import PlatformError
from shieldrec.platforms import credentials, http_cache
from shieldrec.sanitize import clean_text
from shieldrec.store import Store
from shieldrec.store.platform_configs import credential_in_url, token_in_url_message

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_MAX = 10.0


def user_agent() -> str:
    """Who is asking, as platforms want it said (Reddit and Wikimedia refuse anonymous clients)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("shieldrec")
    except PackageNotFoundError:
        number = "dev"
    return f"ShieldRec/{number} (user-side recommender agent)"


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_bytes: int = 2_000_000
    max_redirects: int = 3
    retries: int = 2
    backoff: float = 0.5  # seconds before the first retry; doubled for each one after
    cache_for: float = 0.0  # seconds an answer stays fresh when the platform says nothing; 0: not cached

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        base = cls()
        picked = {k: settings[k] for k in cls.__dataclass_fields__ if settings.get(k) is not None}
        limits = cls(**{**{k: getattr(base, k) for k in cls.__dataclass_fields__}, **picked})
        if (limits.max_bytes < 1 or limits.max_redirects < 0 or limits.retries < 0 or limits.backoff < 0
                or limits.cache_for < 0):
            raise PlatformError("limits must be positive: max_bytes, max_redirects, retries, backoff, cache_for")
        if limits.connect_timeout <= 0 or limits.read_timeout <= 0:
            raise PlatformError("timeouts must be more than 0 seconds")
        return limits


@dataclass(frozen=True)
class Auth:
    """How the token travels: `Authorization: Bearer <token>` or a bare API-key header."""

    header: str = "Authorization"
    scheme: str = "Bearer"
    optional: bool = False  # sent when a token is stored; asked without one otherwise

    def value(self, token: str) -> str:
        return f"{self.scheme} {token}" if self.scheme else token


@dataclass
class Response:
    platform: str
    status: int
    url: str
    content_type: str
    body: bytes
    location: str = ""
    retry_after: float | None = None
    budget_reset: float | None = None  # seconds until the platform's spent request budget comes back


class _Transient(PlatformError):
    """A failure worth another try (timeout, refused connection)."""


class _TooLarge(PlatformError):
    pass


# Encodings we ask for and can decode a piece at a time; anything else is refused.
ACCEPT_ENCODING = "gzip, deflate"
MAX_ENCODING_LAYERS = 2
_PIECE = 64 * 1024  # most bytes one decoding step may produce


class _Layer:
    """One content-encoding, decoded a bounded piece at a time (never a whole layer at once)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: Any = None
        self._raw_deflate = False
        self._reset()

    def _reset(self) -> None:
        if self.encoding == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            # "deflate" is zlib-wrapped by the standard and raw in practice: try one, then the other.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Any:
        """Decoded output of `data`, at most `_PIECE` bytes at a time."""
        if self.encoding == "identity":
            for start in range(0, len(data), _PIECE):
                yield data[start : start + _PIECE]
            return
        started = False
        while data:
            try:
                out = self._zlib.decompress(data, _PIECE)
            except zlib.error:
                if self.encoding == "deflate" and not self._raw_deflate and not started:
                    self._raw_deflate = True
                    self._reset()
                    continue
                raise
            started = True
            if out:
                yield out
            if self._zlib.eof:
                # A gzip body may hold several members one after another.
                data = self._zlib.unused_data
                if data and self.encoding == "gzip":
                    self._reset()
                    continue
                return
            data = self._zlib.unconsumed_tail

    def finish(self) -> bytes:
        return b"" if self._zlib is None else self._zlib.flush(_PIECE)


class _Decoded:
    """An answer's body as the platform meant it, with the size cap applied to what every
    decoding layer produces as it is produced: a small compressed answer cannot grow into
    gigabytes in memory (or in time) before the cap is checked."""

    def __init__(self, platform: str, content_encoding: str, limit: int) -> None:
        names = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
        names = ["gzip" if n == "x-gzip" else n for n in names if n != "identity"]
        unknown = [n for n in names if n not in ("gzip", "deflate")]
        if unknown:
            raise PlatformError(
                f"{platform}: the answer is encoded as {clean_text(unknown[0], 40)!r}, which was not asked for"
            )
        if len(names) > MAX_ENCODING_LAYERS:
            raise PlatformError(
                f"{platform}: the answer is compressed {len(names)} times over; "
                f"more than {MAX_ENCODING_LAYERS} layers are refused"
            )
        self.platform = platform
        self.limit = limit
        self.layers = [_Layer(n) for n in reversed(names)]  # the last encoding applied comes off first
        self.produced = [0] * len(self.layers)
        self.chunks: list[bytes] = []
        self.size = 0

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self.layers):
            self.size += len(data)
            if self.size > self.limit:
                raise _TooLarge(
                    f"{self.platform}: the answer is larger than the {self.limit:,}-byte limit; stopped reading"
                )
            self.chunks.append(data)
            return
        layer = self.layers[index]
        try:
            for piece in layer.pieces(data):
                self.produced[index] += len(piece)
                if self.produced[index] > self.limit:
                    raise _TooLarge(
                        f"{self.platform}: the answer decompresses to more than the {self.limit:,}-byte limit; "
                        "stopped reading"
                    )
                self._push(index + 1, piece)
        except zlib.error:
            raise PlatformError(f"{self.platform}: the answer's {layer.encoding} compression is corrupt") from None

    def feed(self, raw: bytes) -> None:
        self._push(0, raw)

    def close(self) -> bytes:
        for index, layer in enumerate(self.layers):
            rest = layer.finish()
            if rest:
                self._push(index + 1, rest)
        return b"".join(self.chunks)


@functools.lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    # Building the default context (loading the CA bundle) costs ~20 ms; one per process is enough.
    return httpx.create_ssl_context()


# Never sent through a proxy, whatever the environment says: the bundled demo platform, local feeds and the
# tests run here, and a corporate proxy asked for "127.0.0.1" would answer for its own loopback, not ours.
LOOPBACK_ROUTES = ("all://localhost", "all://*.localhost", "all://127.0.0.1", "all://[::1]")


def _no_proxy_route(entry: str) -> str | None:
    """One NO_PROXY entry as an httpx mount pattern ("all://*example.com" matches example.com and every
    name under it, as curl and urllib read "example.com" and ".example.com"); None where it names nothing
    a pattern can match (a CIDR range such as 10.0.0.0/8 is not read, as neither urllib nor httpx read it)."""
    entry = entry.strip().lower()
    if not entry or "/" in entry:
        return None
    port = ""
    bare = entry.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
        host, sep, tail = entry.rpartition(":")
        if sep and tail.isdigit():
            entry, port = host, f":{tail}"
        bracketed = entry.strip("[]")
        try:
            address = ipaddress.ip_address(bracketed)
        except ValueError:
            pass
    if address is not None:
        route = f"all://[{address}]{port}" if address.version == 6 else f"all://{address}{port}"
    else:
        domain = entry.lstrip("*").lstrip(".")
        if not domain:
            return None
        route = f"all://*{domain}{port}"
    try:
        httpx.URL(route.replace("*", "x", 1))  # a name httpx cannot read is skipped, not a crash at every request
    except (httpx.InvalidURL, ValueError):
        return None
    return route


def proxy_routes(found: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Where requests leave through, from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, either
    case, as `urllib.request.getproxies` reads them; on macOS and Windows the system's settings where the
    environment names none): httpx mount patterns, each to a proxy URL or to None ("straight to the
    platform"). Empty when no proxy is set, or when NO_PROXY is "*"."""
    found = urllib.request.getproxies() if found is None else found
    routes: dict[str, str | None] = {}
    for scheme in ("http", "https"):
        proxy = (found.get(scheme) or found.get("all") or "").strip()
        if proxy:
            routes[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    if not routes:
        return {}
    for entry in (found.get("no") or "").split(","):
        if entry.strip() == "*":
            return {}
        route = _no_proxy_route(entry)
        if route is not None:
            routes[route] = None
    for route in LOOPBACK_ROUTES:
        routes[route] = None
    return routes


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _no_cookies() -> CookieJar:
    # Handed to httpx as a bare jar: wrapping it in httpx.Cookies would copy it into a permissive one.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _query_params(url: httpx.URL) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in url.params:
        values = url.params.get_list(key)
        out[key] = values[0] if len(values) == 1 else values
    return out


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: not worth parsing for a bounded wait
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _budget_reset(headers: httpx.Headers) -> float | None:
    """Seconds until a platform's request budget comes back, where it says the budget is spent
    (`x-ratelimit-remaining: 0` with `x-ratelimit-reset`, as Reddit sends them); None otherwise."""
    remaining = _seconds(headers.get("x-ratelimit-remaining", "").strip())  # a count; Reddit sends "0.0"
    if remaining is None or remaining >= 1:
        return None
    reset = _seconds(headers.get("x-ratelimit-reset", "").strip())
    if reset is None:
        return None  # an HTTP or ISO date (Mastodon's form): not worth parsing for a bounded wait
    if reset > 1_000_000_000:  # a Unix time (GitHub's form), not a number of seconds
        reset -= time.time()
    return reset if reset > 0 else None


def _wire_size(request: httpx.Request) -> int:
    head = len(request.method) + len(request.url.raw_path) + 12
    head += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
    return head + len(request.content)


class Egress:
    """An audited HTTP client shared by the adapters of one fan-out (or one `platform test`)."""

    def __init__(
        self,
        store: Store,
        profile_id: int | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token_for: Callable[[str], str | None] = credentials.get_token,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.profile_id = profile_id
        self._transport = transport
        self._token_for = token_for
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self.audit_ids: list[int] = []

    async def __aenter__(self) -> Egress:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            storages: dict[str, Any] = {}  # one cache file per platform, whichever route its requests take
            mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
            if self._transport is None:
                # httpx reads the proxy variables only when it builds its own transport, and ours is explicit
                # (it sits under the cache): the environment's proxies are read here instead, each a mount
                # wrapped by the same caching layer. A transport handed in (tests) gets every request as is.
                for pattern, proxy in proxy_routes().items():
                    mounts[pattern] = None if proxy is None else http_cache.CachingTransport(
                        self._proxied(proxy), self.profile_id, storages
                    )
            inner = self._transport or httpx.AsyncHTTPTransport(verify=_tls())
            self._client = httpx.AsyncClient(
                transport=http_cache.CachingTransport(inner, self.profile_id, storages), mounts=mounts,
                follow_redirects=False, cookies=_no_cookies(), verify=_tls(), headers={"User-Agent": user_agent()},
                # trust_env=False, said outright: what of the environment applies is decided above (proxies) and
                # in `_tls()` (SSL_CERT_FILE / SSL_CERT_DIR, which a TLS-inspecting proxy needs), in this file,
                # not by whatever a given httpx version would otherwise pick up from it on its own.
                trust_env=False,
            )
        return self._client

    @staticmethod
    def _proxied(proxy: str) -> httpx.AsyncHTTPTransport:
        try:
            return httpx.AsyncHTTPTransport(verify=_tls(), proxy=proxy)
        except ImportError:
            raise PlatformError(
                f"the proxy {_without_credentials(proxy)!r} from the environment needs SOCKS support "
                "(pip install 'httpx[socks]')"
            ) from None
        except (httpx.InvalidURL, ValueError, TypeError):
            # httpx's own message repeats the URL with its user name: only ours, without credentials, is shown.
            raise PlatformError(
                f"the proxy {clean_text(_without_credentials(proxy), 120)!r} from the environment cannot be used "
                "(an http://, https:// or socks5:// URL is needed)"
            ) from None

    async def send(
        self,
        platform: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        auth: Auth | None = None,
        limits: Limits = Limits(),
    ) -> Response:
        """One logical request: retried on 5xx/429/timeouts with backoff, redirects followed."""
        method = method.upper()
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise PlatformError(f"{platform}: only http(s) URLs can be requested, not {clean_text(url, 80)!r}")
        # Checked before anything is audited or sent: a token in a URL would be written down with it.
        what = credential_in_url(url)
        if what:
            raise PlatformError(token_in_url_message(platform, what))
        origin = "%s://%s:%s" % _origin(url)
        wait = http_cache.blocked_for(origin)
        if wait > 0:
            raise PlatformError(f"{platform}: rate limited, retry after {math.ceil(wait)} s (nothing was sent)")
        token = None
        if auth is not None:
            token = self._token_for(platform)
            if not token and auth.optional:
                auth = None
            elif not token:
                raise PlatformError(
                    f"{platform}: no token stored; run `shieldrec platform login {platform}` "
                    f"or set {credentials.env_var(platform)}"
                )
        attempt = 0
        while True:
            try:
                response = await self._follow(platform, method, url, params, json_body, auth, token, limits)
            except _Transient:
                if attempt >= limits.retries:
                    raise
                await self._sleep(limits.backoff * 2**attempt)
                attempt += 1
                continue
            if response.budget_reset:
                # The platform says its budget is spent (Reddit's x-ratelimit-remaining: 0): remembered as a 429's
                # Retry-After is, so nothing is sent to it until the reset, from this process or the next; and
                # not retried, as a retry would only spend what is not there.
                http_cache.remember_limit(origin, max(response.budget_reset, response.retry_after or 0))
                return response
            # A platform asking for a longer pause than we would wait gets it, from this process and the next.
            too_long = response.status == 429 and (response.retry_after or 0) > RETRY_AFTER_MAX
            if response.status in RETRY_STATUSES and attempt < limits.retries and not too_long:
                await self._sleep(self._retry_delay(limits, attempt, response))
                attempt += 1
                continue
            if response.status == 429 and response.retry_after:
                http_cache.remember_limit(origin, response.retry_after)
            return response

    @staticmethod
    def _retry_delay(limits: Limits, attempt: int, response: Response) -> float:
        delay = float(limits.backoff * 2**attempt)
        # Retry-After is a platform's wish; honoured only up to a bound so a platform cannot stall us.
        if response.retry_after is not None:
            delay = max(delay, min(response.retry_after, RETRY_AFTER_MAX))
        return delay

    async def _follow(
        self,
        platform: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        auth: Auth | None,
        token: str | None,
        limits: Limits,
    ) -> Response:
        origin = _origin(url)
        for _hop in range(limits.max_redirects + 1):
            headers = {}
            if auth is not None and token and _origin(url) == origin:
                headers[auth.header] = auth.value(token)
            response = await self._once(platform, method, url, params, json_body, headers, auth, limits)
            if response.status not in REDIRECT_STATUSES:
                return response
            location = response.location
            if not location:
                raise PlatformError(f"{platform}: redirect (HTTP {response.status}) without a Location")
            target = urljoin(url, location)
            scheme = urlsplit(target).scheme.lower()
            if scheme not in ("http", "https"):
                raise PlatformError(f"{platform}: redirected to a non-web address; not followed")
            if urlsplit(url).scheme.lower() == "https" and scheme == "http":
                raise PlatformError(f"{platform}: redirected from https to plain http; not followed")
            url, params = target, None
            if response.status == 303:
                method, json_body = "GET", None
        raise PlatformError(f"{platform}: more than {limits.max_redirects} redirects; stopped")

    @staticmethod
    async def _read(platform: str, reply: httpx.Response, limits: Limits) -> bytes:
        if reply.is_stream_consumed:
            # A response a transport built in memory (no wire): httpx has already decoded it.
            body = _Decoded(platform, "", limits.max_bytes)
            body.feed(reply.content)
            return body.close()
        # Raw bytes, decoded here: httpx would decode each layer whole, with no limit.
        body = _Decoded(platform, reply.headers.get("content-encoding", ""), limits.max_bytes)
        async for chunk in reply.aiter_raw():
            if reply.num_bytes_downloaded > limits.max_bytes:
                raise _TooLarge(
                    f"{platform}: the answer is larger than the {limits.max_bytes:,}-byte limit; stopped reading"
                )
            body.feed(chunk)
        return body.close()

    async def _once(
        self,
        platform: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: dict[str, str],
        auth: Auth | None,
        limits: Limits,
    ) -> Response:
        try:
            client = self._http()
        except PlatformError as exc:
            raise PlatformError(f"{platform}: {exc}") from None
        timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout)
        try:
            cached = limits.cache_for > 0 and not headers and method == "GET"  # never store a token's answers
            request = client.build_request(
                method, url, params=params, json=json_body,
                headers={**headers, "Accept-Encoding": ACCEPT_ENCODING}, timeout=timeout,
                extensions={"shieldrec.platform": platform, http_cache.FRESH_FOR: limits.cache_for if cached else 0},
            )
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise PlatformError(f"{platform}: the request cannot be built: {clean_text(str(exc), 200)}") from None
        recorded: dict[str, Any] = {"query": _query_params(request.url)}
        if json_body is not None:
            recorded["body"] = json_body
        if headers:
            recorded["credential"] = f"{auth.header if auth else 'token'} header (value not recorded)"
        plain_url = str(request.url.copy_with(query=None))
        entry = self.store.audit.record(
            profile_id=self.profile_id, platform=platform, method=method, url=plain_url,
            params=recorded, bytes_out=_wire_size(request),
        )
        self.audit_ids.append(entry)
        started = time.perf_counter()
        status: int | None = None
        reply: httpx.Response | None = None

        def done(error: str | None) -> None:
            note = http_cache.cache_note(reply) if reply is not None else None
            wire = reply is not None and note not in ("hit", "revalidated")
            self.store.audit.complete(
                entry, status=304 if note == "revalidated" else status, error=error,
                bytes_in=reply.num_bytes_downloaded if wire and reply is not None else 0,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                bytes_out=0 if note == "hit" else None, cache=note,
            )

        try:
            reply = await client.send(request, stream=True)
            status = reply.status_code
            try:
                if status in REDIRECT_STATUSES:
                    done(None)
                    location = reply.headers.get("location", "")
                    return Response(platform, status, str(reply.url), "", b"", location=location)
                declared = reply.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.max_bytes:
                    raise _TooLarge(
                        f"{platform}: the answer is {int(declared):,} bytes, over the {limits.max_bytes:,}-byte limit"
                    )
                content = await self._read(platform, reply, limits)
            finally:
                await reply.aclose()
        except asyncio.CancelledError:
            done("cancelled: the platform ran out of time")
            raise
        except PlatformError as exc:
            done(str(exc))
            raise
        except httpx.ConnectTimeout:
            done("connect timeout")
            raise _Transient(f"{platform}: could not connect within {limits.connect_timeout:g}s") from None
        except httpx.TimeoutException:
            done("read timeout")
            raise _Transient(f"{platform}: no answer within {limits.read_timeout:g}s") from None
        except httpx.ProxyError:
            done("the proxy refused the request")
            raise PlatformError(f"{platform}: the proxy from the environment refused or failed the request") from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            done(f"connection failed: {type(exc).__name__}")
            raise _Transient(f"{platform}: connection failed ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            done(f"request failed: {type(exc).__name__}")
            raise PlatformError(f"{platform}: request failed ({type(exc).__name__})") from None
        done(None if status < 400 else f"HTTP {status}")
        # A cache hit's headers are the stored answer's: its budget is not today's.
        budget = None if http_cache.cache_note(reply) == "hit" else _budget_reset(reply.headers)
        retry_after = _seconds(reply.headers.get("retry-after", ""))
        if status == 429 and retry_after is None:
            retry_after = budget
        return Response(
            platform, status, str(reply.url), reply.headers.get("content-type", ""), content,
            retry_after=retry_after, budget_reset=budget,
        )
