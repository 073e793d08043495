"""Finding adapters: the built-in ones, plus plug-ins from the `shieldrec.platforms` entry-point group.

Built-ins are listed here too, so a source checkout works without an installed package, and
they cannot be replaced by a plug-in of the same name (a plug-in must not silently take over
`demo` or `http-json`). A plug-in that fails to load is reported, never fatal. Presets
(`shieldrec.platforms.presets`) are found here too, as the adapter kinds `preset:NAME`.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.platforms.base import Adapter
from shieldrec.store.platform_configs import PlatformConfig

if TYPE_CHECKING:
    from shieldrec.platforms.egress import Egress

GROUP = "shieldrec.platforms"
BUILTIN = {
    "http-json": "shieldrec.platforms.http_json:HttpJsonAdapter",
    "rss": "shieldrec.platforms.rss:RssAdapter",
    "file": "shieldrec.platforms.file:FileAdapter",
    "demo": "shieldrec.platforms.demo:DemoAdapter",
}


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _check(name: str, obj: object) -> type[Adapter]:
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        raise TypeError(f"{name!r} does not point at an Adapter subclass")
    return obj


@functools.lru_cache(maxsize=1)
def discover() -> tuple[dict[str, type[Adapter]], dict[str, str]]:
    """(adapters by name, problems by plug-in name); cached, `discover.cache_clear()` rescans."""
    adapters: dict[str, type[Adapter]] = {}
    problems: dict[str, str] = {}
    for name, target in BUILTIN.items():
        adapters[name] = _check(name, _load(target))
    for ep in entry_points(group=GROUP):
        if ep.name in BUILTIN:
            continue
        try:
            adapters[ep.name] = _check(ep.name, ep.load())
        except Exception as exc:  # a broken third-party plug-in must not take ShieldRec down with it
            problems[ep.name] = f"{type(exc).__name__}: {exc}"
    return adapters, problems


def available_adapters() -> dict[str, type[Adapter]]:
    return dict(discover()[0])


def adapter_class(kind: str) -> type[Adapter] | None:
    """The class behind an adapter kind: a plain adapter, or a preset (`preset:NAME`)."""
    from shieldrec.platforms.presets import PREFIX, preset_adapter

    if kind.startswith(PREFIX):
        return preset_adapter(kind)
    return discover()[0].get(kind)


def build_adapter(config: PlatformConfig, egress: Egress) -> Adapter:
    adapters, problems = discover()
    cls = adapter_class(config.adapter)
    if cls is None:
        from shieldrec.platforms.presets import PREFIX
        from shieldrec.platforms.presets import discover as presets

        if config.adapter.startswith(PREFIX):
            name = config.adapter[len(PREFIX):]
            why = f" (it failed to load: {presets()[1][name]})" if name in presets()[1] else ""
            raise PlatformError(f"{config.name}: unknown preset {name!r}{why}; known: "
                                + ", ".join(sorted(presets()[0])))
        why = f" (it failed to load: {problems[config.adapter]})" if config.adapter in problems else ""
        raise PlatformError(
            f"{config.name}: unknown adapter {config.adapter!r}{why}; known: {', '.join(sorted(adapters))}"
        )
    try:
        return cls(config.name, config.settings, egress)
    except InvalidInput as exc:
        raise PlatformError(f"{config.name}: {exc}") from None
