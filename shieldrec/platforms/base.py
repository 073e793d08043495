"""The adapter contract: what a platform plug-in implements, and the settings schema it declares.

An adapter turns a `Query` (public words only) into candidate `Item`s. It never sees the
profile, and every request it makes goes through the `Egress` it is given, so each one is
audited and bounded. Third parties add a platform by subclassing `Adapter` and declaring an
entry point in the `shieldrec.platforms` group.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from shieldrec.errors import InvalidInput, PlatformError
from shieldrec.items import Item

if TYPE_CHECKING:
    from shieldrec.platforms.egress import Egress

QUERY_TEXT_MAX = 200
LIMIT_MAX = 100
_TYPES = ("str", "int", "float", "bool", "dict", "list", "choice")


@dataclass(frozen=True)
class Query:
    """Everything a platform may learn from one request: public words, a page size, an item kind."""

    text: str = ""
    limit: int = 20
    kind: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or not 1 <= self.limit <= LIMIT_MAX:
            raise InvalidInput(f"a query's limit must be between 1 and {LIMIT_MAX}")
        if len(self.text) > QUERY_TEXT_MAX:
            raise InvalidInput(f"a query's text is limited to {QUERY_TEXT_MAX} characters")


@dataclass(frozen=True)
class Setting:
    """One entry of an adapter's settings schema."""

    name: str
    type: str = "str"
    default: Any = None
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"unknown setting type {self.type!r}")

    def parse(self, text: str) -> Any:
        """A value typed on the command line (`--set key=value`) as this setting's type."""
        text = text.strip()
        try:
            if self.type == "int":
                return int(text)
            if self.type == "float":
                return float(text)
            if self.type == "bool":
                lowered = text.lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if self.type in ("dict", "list"):
                return json.loads(text)
        except (ValueError, json.JSONDecodeError):
            raise InvalidInput(f"setting {self.name!r} expects {self._describe()}, got {text!r}") from None
        return text

    def check(self, value: Any) -> Any:
        ok = {
            "str": isinstance(value, str),
            "choice": isinstance(value, str) and value in self.choices,
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "dict": isinstance(value, dict),
            "list": isinstance(value, list),
        }[self.type]
        if not ok:
            raise InvalidInput(f"setting {self.name!r} expects {self._describe()}, got {value!r}")
        return float(value) if self.type == "float" else value

    def _describe(self) -> str:
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        return {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false",
                "dict": "a JSON object", "list": "a JSON list"}[self.type]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "required": self.required,
                "help": self.help, "choices": list(self.choices)}


def validate_settings(schema: tuple[Setting, ...], raw: Mapping[str, Any], *, adapter: str) -> dict[str, Any]:
    """Check settings against a schema; return them with defaults filled in."""
    by_name = {s.name: s for s in schema}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise InvalidInput(
            f"adapter {adapter!r} has no setting {unknown[0]!r} (it knows: {', '.join(sorted(by_name)) or 'none'})"
        )
    out: dict[str, Any] = {}
    for setting in schema:
        if setting.name in raw and raw[setting.name] is not None:
            out[setting.name] = setting.check(raw[setting.name])
        elif setting.required:
            raise InvalidInput(f"adapter {adapter!r} needs the setting {setting.name!r} ({setting.help})")
        else:
            out[setting.name] = copy.deepcopy(setting.default)
    return out


class Adapter(ABC):
    """A platform ShieldRec can ask for candidates.

    Subclasses set `kind` (the adapter's name), `summary` and `settings_schema`, and implement
    `recommend`. `search` and `item` are optional. Requests go through `self.egress` only.
    """

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    settings_schema: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, name: str, settings: Mapping[str, Any], egress: Egress) -> None:
        self.name = name
        self.settings = validate_settings(self.settings_schema, settings, adapter=self.kind or type(self).__name__)
        self.egress = egress

    @abstractmethod
    async def recommend(self, query: Query) -> list[Item]:
        """Candidates for the query, best first in the platform's own opinion."""

    async def search(self, query: Query) -> list[Item]:
        return await self.recommend(query)

    async def item(self, item_id: str) -> Item | None:
        raise PlatformError(f"{self.name}: this platform cannot look up a single item")

    @property
    def deadline(self) -> float | None:
        """The platform's own time budget in a fan-out, if its settings name one."""
        value = self.settings.get("timeout")
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

