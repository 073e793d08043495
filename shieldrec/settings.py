"""User settings, persisted in the config folder as TOML. Never secrets, never profile data."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

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


RANKERS = ("learned", "fusion")


@dataclass
class RankingSettings:
    # "learned": the shipped model scores the candidates (shieldrec/ranking/weights/);
    # "fusion": the hand-set weights below. Filters, penalties, diversity and reasons are the same.
    ranker: str = "learned"
    # How much the platforms' public counts (ratings, votes, plays) may count, 0..1: 0 ignores
    # them, 1 lets them weigh what they weighed when the learned ranker was trained (and the full
    # fusion weight below). The default is scripts/sweep_popularity.py's choice (README, "Popularity").
    popularity: float = 0.5
    diversity: float = 0.3  # 0 = pure relevance; 1 = maximal variety (MMR trade-off)
    sponsored_penalty: float = 0.3  # subtracted from the fused score of paid placements
    # Subtracted from items whose text tries to instruct the agent. Large on purpose: such items
    # are written to match what people ask for, so a small penalty leaves them on top.
    injection_penalty: float = 2.0
    include_consumed: bool = False
    # Read each description also without each of its passages, so words planted in one passage
    # count against the item (ranking/passages.py). Off: described items embed about four times
    # faster the first time they are seen, and such words buy rank again.
    passage_check: bool = True
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


@dataclass
class LlmSettings:
    enabled: bool = True
    model: str = "bundled"  # "bundled" or a path to any GGUF file
    device: str = "auto"  # auto | cpu | cuda
    n_ctx: int = 2048
    listwise_top_k: int = 10
    listwise_passes: int = 3
    # llama.cpp's weight repacking into extra buffer types: faster kernels on some CPUs, a
    # segfault at the first computation on CPUs with AMX. Off unless asked for.
    repack_weights: bool = False
    # Seconds one request to the model's worker process may take (plus a little per
    # candidate); past it the worker is stopped, replaced, and the ranking goes on without it.
    timeout_s: float = 60.0


@dataclass
class PrivacySettings:
    # What the user sees of the words sent to platforms: "ask" (shown to edit or cancel before
    # they go), "show" (shown with the answer) or "silent" (only in the audit log).
    query_review: str = "show"


@dataclass
class TuiSettings:
    theme: str = "textual-dark"
    # Binding id -> key(s), e.g. {"card.like": "l"}; overrides the defaults.
    keys: dict[str, str] = field(default_factory=dict)
    compact: bool = False  # one line per pick
    # Where the app runs the bundled demo platform: a fixed port keeps the links in saved
    # conversations working from one start to the next (0: any free port).
    demo_port: int = 8765


@dataclass
class ServeSettings:
    """`shieldrec serve`: the local HTTP service (loopback only; never a secret here: the token
    lives in the keyring)."""

    port: int = 8731
    # Web pages allowed to call the service from a browser, one origin at a time
    # ("https://reader.example"); none by default: pages cannot call it at all.
    allowed_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 4 * 1024 * 1024  # one request body
    max_items: int = 1000  # candidates (and history entries) in one request


@dataclass
class Settings:
    profile: str = ""  # the profile used when none is named
    embedding_device: str = "auto"  # auto | cpu | cuda
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
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Settings":
        def build(kind: type, data: Any) -> Any:
            if not isinstance(data, dict):
                return kind()
            default = kind()
            kwargs = {}
            for f in fields(kind):
                if f.name not in data:
                    continue
                value, current = data[f.name], getattr(default, f.name)
                if isinstance(current, bool):
                    ok = isinstance(value, bool)
                elif isinstance(current, (int, float)):
                    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                elif isinstance(current, list):
                    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                elif isinstance(current, dict):
                    ok = isinstance(value, dict)
                    if ok and f.name == "weights":
                        value = {**current, **{k: float(v) for k, v in value.items() if isinstance(v, (int, float))}}
                else:
                    ok = isinstance(value, str)
                if ok:
                    kwargs[f.name] = type(current)(value) if isinstance(current, (int, float)) and not isinstance(current, bool) else value
            return kind(**kwargs)

        base = build(cls, {k: v for k, v in raw.items() if k not in ("ranking", "llm", "tui", "privacy", "serve")})
        base.ranking = build(RankingSettings, raw.get("ranking"))
        base.llm = build(LlmSettings, raw.get("llm"))
        base.tui = build(TuiSettings, raw.get("tui"))
        base.privacy = build(PrivacySettings, raw.get("privacy"))
        if base.privacy.query_review not in ("ask", "show", "silent"):
            base.privacy.query_review = "ask"  # a value it cannot read: the most careful one
        base.serve = build(ServeSettings, raw.get("serve"))
        return base

    def save(self, path: Path | None = None) -> Path:
        """Write atomically: a crash mid-save leaves the old file whole."""
        path = path or get_paths().config_file
        ensure_dir(path.parent)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(asdict(self)), "utf-8")
        os.replace(tmp, path)
        return path
