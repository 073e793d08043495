"""User settings, persisted in the config folder as TOML. Never secrets, never profile data.

The dataclasses below are the settings every module uses; `Settings.load`/`from_dict` check what
the file says against their annotations (with pydantic) before building them. A setting that is
misspelt, of the wrong type or out of range is refused with an `InvalidInput` naming the key and
what it accepts; it is never replaced by a default in silence.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from annotated_types import Ge, Gt, Le
from pydantic import ConfigDict, Strict, StringConstraints, TypeAdapter, ValidationError

from shieldrec.errors import InvalidInput
from shieldrec.paths import ensure_dir, get_paths

DEFAULT_WEIGHTS: dict[str, float] = {
    "instruction": 1.0,  # similarity to what the user asked for now
    "history": 1.0,  # closeness to what they liked before
    "avoid": 1.0,  # distance from what they disliked or avoid
    "lexical": 0.3,  # rare words shared with liked history (names, series)
    "popularity": 0.15,  # public rating counts the platform sent
    # The local language model's likelihood score, when enabled. Small on purpose: with the
    # bundled 270M base model, 0.05 is neutral on MovieLens-100K and 0.1 or more lowers NDCG@10
    # (scripts/sweep_llm_weight.py). A larger model of the user's own may earn more.
    "llm": 0.05,
}


Ranker = Literal["learned", "fusion"]
RANKERS: tuple[str, ...] = typing.get_args(Ranker)
QueryReview = Literal["ask", "show", "silent"]

# What a value in config.toml may be. Strict: TOML has real types, so "0.3" (a string) is not a
# number and 1 is not true; a whole number is a number, though (diversity = 1 means 1.0).
Text = Annotated[str, Strict()]
Flag = Annotated[bool, Strict()]
Number = Annotated[float, Strict()]
Unit = Annotated[float, Strict(), Ge(0), Le(1)]
NonNegative = Annotated[float, Strict(), Ge(0)]
PositiveSeconds = Annotated[float, Strict(), Gt(0)]
Count = Annotated[int, Strict(), Ge(0)]
PositiveCount = Annotated[int, Strict(), Ge(1)]
Port = Annotated[int, Strict(), Ge(0), Le(65535)]
# "auto", "cpu", "cuda", or one GPU of several ("cuda:1"; torch takes it as it is).
Device = Annotated[str, Strict(), StringConstraints(pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$")]

_CHECKED = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass
class RankingSettings:
    __pydantic_config__ = _CHECKED

    # "learned": the shipped model scores the candidates (shieldrec/ranking/weights/);
    # "fusion": the hand-set weights below. Filters, penalties, diversity and reasons are the same.
    ranker: Ranker = "learned"
    # How much the platforms' public counts (ratings, votes, plays) may count, 0..1: 0 ignores
    # them, 1 lets them weigh what they weighed when the learned ranker was trained (and the full
    # fusion weight below). The default is scripts/sweep_popularity.py's choice (README, "Popularity").
    popularity: Unit = 0.5
    diversity: Unit = 0.3  # 0 = pure relevance; 1 = maximal variety (MMR trade-off)
    sponsored_penalty: NonNegative = 0.3  # subtracted from the fused score of paid placements
    # Subtracted from items whose text tries to instruct the agent. Large on purpose: such items
    # are written to match what people ask for, so a small penalty leaves them on top.
    injection_penalty: NonNegative = 2.0
    include_consumed: Flag = False
    # Read each description also without each of its passages, so words planted in one passage
    # count against the item (ranking/passages.py). The views are pooled from the pass that encodes
    # the whole text, so it costs little (a fresh answer about 1.1x); off, such words buy rank again.
    passage_check: Flag = True
    # Signal name -> weight. A table in the file changes the weights it names; the others keep
    # their defaults. Names beyond DEFAULT_WEIGHTS are plug-in scorers' (ranking/pipeline.py).
    weights: dict[Text, Number] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # How far an item's description may move its score, either way, from what its title and tags
    # alone score: what text written to buy rank can buy at most (SECURITY.md, "The description
    # cap"). In score units; the default is scripts/attack_report.py's and the suite's choice.
    description_cap: NonNegative = 0.3


@dataclass
class LlmSettings:
    __pydantic_config__ = _CHECKED

    enabled: Flag = True
    model: Text = "bundled"  # "bundled" or a path to any GGUF file
    device: Device = "auto"  # auto | cpu | cuda
    n_ctx: PositiveCount = 2048
    listwise_top_k: Count = 10
    listwise_passes: Count = 3
    # llama.cpp's weight repacking into extra buffer types: faster kernels on some CPUs, a
    # segfault at the first computation on CPUs with AMX. Off unless asked for.
    repack_weights: Flag = False
    # Seconds one request to the model's worker process may take (plus a little per
    # candidate); past it the worker is stopped, replaced, and the ranking goes on without it.
    timeout_s: PositiveSeconds = 60.0


@dataclass
class PrivacySettings:
    __pydantic_config__ = _CHECKED

    # What the user sees of the words sent to platforms: "ask" (shown to edit or cancel before
    # they go), "show" (shown with the answer) or "silent" (only in the audit log).
    query_review: QueryReview = "show"


@dataclass
class TuiSettings:
    __pydantic_config__ = _CHECKED

    theme: Text = "textual-dark"
    # Binding id -> key(s), e.g. {"card.like": "l"}; overrides the defaults.
    keys: dict[Text, Text] = field(default_factory=dict)
    compact: Flag = False  # one line per pick
    # Where the app runs the bundled demo platform: a fixed port keeps the links in saved
    # conversations working from one start to the next (0: any free port).
    demo_port: Port = 8765


@dataclass
class ServeSettings:
    """`shieldrec serve`: the local HTTP service (loopback only; never a secret here: the token
    lives in the keyring)."""

    __pydantic_config__ = _CHECKED

    port: Port = 8731
    # Web pages allowed to call the service from a browser, one origin at a time
    # ("https://reader.example"); none by default: pages cannot call it at all.
    allowed_origins: list[Text] = field(default_factory=list)
    max_body_bytes: PositiveCount = 4 * 1024 * 1024  # one request body
    max_items: PositiveCount = 1000  # candidates (and history entries) in one request


@dataclass
class Settings:
    __pydantic_config__ = _CHECKED

    profile: Text = ""  # the profile used when none is named
    embedding_device: Device = "auto"  # auto | cpu | cuda
    ranking: RankingSettings = field(default_factory=RankingSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    tui: TuiSettings = field(default_factory=TuiSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    serve: ServeSettings = field(default_factory=ServeSettings)

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        path = path or get_paths().config_file
        if not path.exists():
            return cls()
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"settings file {path} cannot be read: {exc}") from exc
        return cls.from_dict(raw, source=f"settings file {path}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> "Settings":
        """The settings `raw` (a parsed config.toml) gives; InvalidInput, naming every key that is
        unknown, of the wrong type or out of range and what it accepts, when it gives any such."""
        try:
            settings = _adapter(cls).validate_python(raw)
        except ValidationError as exc:
            problems = _describe(exc, cls)
            head = f"{source}: " if len(problems) == 1 else f"{source} has {len(problems)} problems:\n  "
            raise InvalidInput(head + "\n  ".join(problems)) from None
        # A [ranking.weights] table changes the weights it names; the rest keep their defaults.
        settings.ranking.weights = {**DEFAULT_WEIGHTS, **settings.ranking.weights}
        return settings

    def save(self, path: Path | None = None) -> Path:
        """Write atomically: a crash mid-save leaves the old file whole."""
        path = path or get_paths().config_file
        ensure_dir(path.parent)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(asdict(self)), "utf-8")
        os.replace(tmp, path)
        return path


@functools.cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    """The validator of `kind`'s annotations, built on the first load (about 50 ms), then kept."""
    return TypeAdapter(kind)


# --- Refusals in words: the key as written in config.toml, what was there, what it accepts.


def _shown(value: Any) -> str:
    """`value` as TOML writes it (strings in double quotes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _strip(hint: Any) -> tuple[Any, list[Any]]:
    """The type under an Annotated hint, and its metadata."""
    if typing.get_origin(hint) is Annotated:
        base, *meta = typing.get_args(hint)
        return base, meta
    return hint, []


def _hint_at(root: type, loc: tuple[Any, ...]) -> tuple[Any, str]:
    """The annotation that holds the value at `loc` (pydantic's error location), and the key in
    config.toml's dotted spelling."""
    hint: Any = root
    parts: list[str] = []
    for step in loc:
        base, _ = _strip(hint)
        origin = typing.get_origin(base)
        if is_dataclass(base) and isinstance(step, str):
            parts.append(step)
            hint = typing.get_type_hints(base, include_extras=True).get(step)
        elif origin is dict:
            parts.append(_key(str(step)))
            hint = typing.get_args(base)[1]
        elif origin is list:
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
            hint = typing.get_args(base)[0]
        else:
            parts.append(str(step))
            hint = None
        if hint is None:
            break
    return hint, ".".join(parts)


def _key(name: str) -> str:
    """A table key as TOML needs it written: bare when it can be, quoted otherwise."""
    bare = name and all(c.isalnum() and c.isascii() or c in "-_" for c in name)
    return name if bare else json.dumps(name, ensure_ascii=False)


def _bounds(meta: list[Any]) -> tuple[Any, Any, bool]:
    low = high = None
    open_low = False
    for m in meta:
        if isinstance(m, Ge):
            low = m.ge
        elif isinstance(m, Gt):
            low, open_low = m.gt, True
        elif isinstance(m, Le):
            high = m.le
    return low, high, open_low


def _accepts(hint: Any) -> str:
    """What a setting of annotation `hint` accepts, in words."""
    base, meta = _strip(hint)
    origin = typing.get_origin(base)
    if origin is Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(base))
    if hint == Device:
        return "one of auto, cpu, cuda (or cuda:N for one GPU of several)"
    if base is bool:
        return "true or false"
    if base in (int, float):
        kind = "a whole number" if base is int else "a number"
        low, high, open_low = _bounds(meta)
        if low is not None and high is not None:
            return f"{kind} between {low:g} and {high:g}"
        if low is not None:
            return f"{kind} above {low:g}" if open_low else f"{kind} of at least {low:g}"
        return kind
    if base is str:
        return 'a string in double quotes ("...")'
    if origin is list:
        return f"a list of {_plural(typing.get_args(base)[0])}, e.g. [\"...\"]"
    if origin is dict:
        return f"a table of names to {_plural(typing.get_args(base)[1])}"
    if is_dataclass(base):
        return "a table of settings"
    return str(base)


def _plural(hint: Any) -> str:
    base, _ = _strip(hint)
    return {str: "strings", float: "numbers", int: "whole numbers", bool: "true/false values"}.get(base, "values")


def _describe(exc: ValidationError, root: type) -> list[str]:
    problems: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] in ("unexpected_keyword_argument", "extra_forbidden") and loc:
            section_hint, section = _hint_at(root, loc[:-1])
            known = [f.name for f in fields(_strip(section_hint)[0])] if is_dataclass(_strip(section_hint)[0]) else []
            name = ".".join(p for p in (section, _key(str(loc[-1]))) if p)
            where = f"in [{section}]" if section else "at the top level"
            problem = f"unknown setting {name}"
            close = _closest(str(loc[-1]), known)
            if close:
                problem += f" (did you mean {'.'.join(p for p in (section, close) if p)}?)"
            problems.append(f"{problem}; the known settings {where} are {', '.join(known)}")
            continue
        hint, name = _hint_at(root, loc)
        value = error.get("input")
        problem = f"{name or 'the settings'} = {_shown(value)} is not allowed: it must be {_accepts(hint)}"
        base, _ = _strip(hint)
        if typing.get_origin(base) is Literal and isinstance(value, str):
            close = _closest(value, [str(v) for v in typing.get_args(base)])
            if close:
                problem += f' (did you mean "{close}"?)'
        problems.append(problem)
    return problems


def _closest(word: str, known: list[str]) -> str | None:
    """The known word `word` most likely misspells, if one is close (case aside)."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None
