"""Presets: the public recommenders people already read, each one command away.

A preset is data (one JSON file here per platform: its documented endpoints, what a query
does there, its item fields, its freshness, whether it needs a key) run by `PresetAdapter`,
or by a small adapter of its own where a shape needs code. It is stored as the adapter
`preset:NAME` with only the settings the user gave, so a corrected preset reaches every
platform made from it. Third parties add presets through the `shieldrec.presets` entry-point
group: an entry point names a `Preset`, a mapping in the JSON file's shape, or a callable
returning either. Built-ins cannot be replaced; a plug-in that fails to load is reported.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import entry_points
from typing import Any

from shieldrec.errors import InvalidInput
from shieldrec.platforms.base import Adapter, Setting

GROUP = "shieldrec.presets"
PREFIX = "preset:"
KEYS = ("none", "optional", "required")
FORMATS = ("json", "feed")
DEFAULT_ADAPTER = "shieldrec.platforms.presets.adapter:PresetAdapter"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    summary: str  # one line: what it is
    sends: str  # one line: what a request carries of the user's words
    lists: dict[str, dict[str, Any]]
    default_list: str = ""
    search: dict[str, Any] | None = None
    key: str = "none"  # none / optional / required: a token in the keyring
    key_help: str = ""
    site: str = ""
    kind: str = ""  # the item kind it offers (movie, book, article, podcast, video, game)
    fresh_for: float = 300.0  # seconds an answer is reused when the platform states no freshness
    format: str = "json"
    adapter: str = DEFAULT_ADAPTER
    settings: tuple[Setting, ...] = ()
    items_path: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Preset:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known - {"$comment"})
        name = str(raw.get("name", "?"))
        if unknown:
            raise InvalidInput(f"preset {name!r}: unknown key {unknown[0]!r}")
        values = {k: v for k, v in raw.items() if k in known}
        values["settings"] = tuple(
            Setting(**{**s, "choices": tuple(s.get("choices", ()))}) for s in raw.get("settings", ())
        )
        preset = cls(**values)
        preset.check()
        return preset

    def check(self) -> None:
        if not self.name.replace("-", "").isalnum() or not self.lists:
            raise InvalidInput(f"preset {self.name!r}: a name of letters, digits and '-', and at least one list")
        if self.key not in KEYS or self.format not in FORMATS:
            raise InvalidInput(f"preset {self.name!r}: key is one of {KEYS}, format one of {FORMATS}")
        if self.default_list and self.default_list not in self.lists:
            raise InvalidInput(f"preset {self.name!r}: default_list {self.default_list!r} is not one of its lists")
        for list_name, endpoint in self.lists.items():
            # A list is fetched whole and re-ranked here: the user's words have no place in it.
            if "{query}" in json.dumps(endpoint):
                raise InvalidInput(f"preset {self.name!r}: list {list_name!r} may not send {{query}}; "
                                   "only its search does")

    @property
    def first_list(self) -> str:
        return self.default_list or next(iter(self.lists))

    def settings_schema(self) -> tuple[Setting, ...]:
        from shieldrec.platforms.http_json import LIMIT_SETTINGS

        schema: list[Setting] = [Setting(
            "base_url", "str", "",
            help="replaces the scheme, host and port of every address asked (another instance, a mirror, "
                 "a test server); the paths stay the platform's own")]
        if len(self.lists) > 1:
            schema.append(Setting("list", "choice", self.first_list, choices=tuple(self.lists),
                                  help="which list: " + ", ".join(self.lists)))
        schema += list(self.settings)
        if self.search is not None:
            schema.append(Setting("search", "bool", False,
                                  help="send the public words of a search to the platform's search "
                                       "(off: the list is fetched and re-ranked here, and no words are sent)"))
        schema += [dataclasses.replace(s, default=self.fresh_for) if s.name == "cache_for" else s
                   for s in LIMIT_SETTINGS]
        return tuple(schema)

    def describe(self) -> dict[str, Any]:
        return {
            "preset": self.name, "title": self.title, "summary": self.summary, "sends": self.sends,
            "key": self.key, "key_help": self.key_help, "site": self.site, "kind": self.kind,
            "lists": list(self.lists), "search": self.search is not None, "fresh_for": self.fresh_for,
            "settings": [s.describe() for s in self.settings_schema()],
        }

    def line(self) -> str:
        """One line for a list to pick from: what it is and what it sends."""
        key = {"none": "", "optional": "; a token optional", "required": "; needs your key"}[self.key]
        return f"{self.title}: {self.summary}. Sends {self.sends}{key}"


def _builtin() -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            preset = Preset.from_dict(json.loads(entry.read_text(encoding="utf-8")))
            out[preset.name] = preset
    return out


def _as_preset(obj: Any) -> Preset:
    if callable(obj) and not isinstance(obj, (Preset, Mapping)):
        obj = obj()
    if isinstance(obj, Preset):
        obj.check()
        return obj
    if isinstance(obj, Mapping):
        return Preset.from_dict(obj)
    raise TypeError("an entry point in shieldrec.presets names a Preset, a mapping or a callable returning one")


@functools.lru_cache(maxsize=1)
def discover() -> tuple[dict[str, Preset], dict[str, str]]:
    """(presets by name, problems by plug-in name); cached, `discover.cache_clear()` rescans."""
    presets = _builtin()
    builtin = set(presets)
    problems: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        if ep.name in builtin:
            continue
        try:
            presets[ep.name] = _as_preset(ep.load())
        except Exception as exc:  # a broken third-party preset must not take ShieldRec down with it
            problems[ep.name] = f"{type(exc).__name__}: {exc}"
    return presets, problems


def available_presets() -> dict[str, Preset]:
    return dict(discover()[0])


_CLASSES: dict[str, tuple[Preset, type[Adapter]]] = {}


def _class_for(preset: Preset) -> type[Adapter]:
    made = _CLASSES.get(preset.name)
    if made is not None and made[0] is preset:
        return made[1]
    module, _, attr = preset.adapter.partition(":")
    base = getattr(importlib.import_module(module), attr)
    if not (isinstance(base, type) and issubclass(base, Adapter)):
        raise TypeError(f"preset {preset.name!r}: {preset.adapter!r} is not an Adapter subclass")
    cls = type(f"{base.__name__}_{preset.name.replace('-', '_')}", (base,), {
        "kind": PREFIX + preset.name, "summary": preset.line(), "settings_schema": preset.settings_schema(),
        "preset": preset,
    })
    _CLASSES[preset.name] = (preset, cls)
    return cls


def preset_adapter(kind: str) -> type[Adapter] | None:
    """The adapter class for `preset:NAME` (or a bare preset name), or None if there is no such preset."""
    name = kind[len(PREFIX):] if kind.startswith(PREFIX) else kind
    preset = available_presets().get(name)
    return None if preset is None else _class_for(preset)
