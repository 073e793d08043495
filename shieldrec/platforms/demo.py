"""`demo`: the bundled demo platform, as an http-json adapter preset, and its start-up helper."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from shieldrec.platforms.base import Setting, validate_settings
from shieldrec.platforms.demo_server import DemoServer
from shieldrec.platforms.http_json import LIMIT_SETTINGS, HttpJsonAdapter, check_web_url
from shieldrec.store import Profile, Store
from shieldrec.store.platform_configs import PlatformConfig

DEMO_PLATFORMS = {"demo-movies": "movies", "demo-books": "books"}
STABLE_PORT = 8765
_LOCAL = ("127.0.0.1", "localhost", "::1")


class DemoAdapter(HttpJsonAdapter):
    kind: ClassVar[str] = "demo"
    summary: ClassVar[str] = "the demo platform bundled with ShieldRec (`shieldrec demo-platform`)"
    settings_schema: ClassVar[tuple[Setting, ...]] = (
        Setting("base_url", "str", required=True, help="where the demo platform runs, e.g. http://127.0.0.1:8765"),
        Setting("section", "choice", "movies", choices=("movies", "books"), help="which catalogue to ask"),
        *LIMIT_SETTINGS,
    )

    def expand(self, settings: dict[str, Any]) -> dict[str, Any]:
        base = settings["base_url"].rstrip("/")
        check_web_url(base, "base_url")
        limits = {s.name: settings[s.name] for s in LIMIT_SETTINGS}
        return validate_settings(HttpJsonAdapter.settings_schema, {
            "url": f"{base}/v1/recommend",
            "search_url": f"{base}/v1/search",
            "item_url": f"{base}/v1/items/{{id}}",
            "params": {"q": "{query}", "limit": "{limit}", "section": settings["section"]},
            "items_path": "items",
            "meta_fields": {
                "genres": "genres", "year": "year", "rating_count": "stats.rating_count",
                "average_rating": "stats.average_rating", "views": "stats.views",
                "section": "section", "attribution": "attribution",
            },
            **limits,
        }, adapter=self.kind)


def uses_demo_platform(store: Store, profile: Profile) -> bool:
    """Whether opening this profile should start the demo platform: it asks the demo platform,
    or it has no platform at all yet (a first run shows something instead of nothing)."""
    configs = store.platforms.list(profile.id)
    return not configs or any(c.adapter == "demo" and c.enabled for c in configs)


def ensure_demo_platform(store: Store, profile: Profile, server: DemoServer | None = None) -> DemoServer:
    """Start the demo platform (127.0.0.1, a free port) and point the profile's demo platforms at it.

    A profile without any demo platform gets `demo-movies` and `demo-books`; one that has some
    keeps exactly those (a removed one stays removed, a disabled one stays disabled), with the
    new address. The caller stops the returned server.
    """
    server = (server or DemoServer()).start()
    existing = [c for c in store.platforms.list(profile.id) if c.adapter == "demo"]
    if existing:
        for cfg in existing:
            cfg.settings = {**cfg.settings, "base_url": server.url}
            store.platforms.save(profile.id, cfg)
    else:
        taken = {c.name for c in store.platforms.list(profile.id)}
        for name, section in DEMO_PLATFORMS.items():
            if name not in taken:
                store.platforms.save(profile.id, PlatformConfig(
                    name=name, adapter="demo", settings={"base_url": server.url, "section": section},
                ))
    return server


def start_demo_server(port: int = STABLE_PORT) -> tuple[DemoServer, bool]:
    """Start the demo platform on `port`, so its links stay the same from one run to the next;
    on a free port when that one is taken. Returns the server and whether it had to move."""
    if port:
        try:
            return DemoServer(port=port).start(), False
        except OSError:
            pass
    return DemoServer(port=0).start(), bool(port)


def relink(url: str, base: str) -> str:
    """A demo item's link, pointed at the demo platform's address now (`base`). Links of any other
    host are returned unchanged: only the demo platform's own item pages move."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in _LOCAL or not parts.path.startswith("/v1/items/"):
        return url
    return base.rstrip("/") + parts.path
