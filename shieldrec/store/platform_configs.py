"""Per-profile platform settings. Never secrets: tokens live in the keyring."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlite_utils import Database

from shieldrec.errors import InvalidInput, ShieldRecError
from shieldrec.store.db import tx

# Keys a settings dict may never carry into the database: those go to the keyring.
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret", "authorization", "bearer")
# Query parameters that carry credentials ("key", "api_key", "access_token", "X-Amz-Signature"...).
_CREDENTIAL_PARAM = re.compile(
    r"^(?:.*[_.-])?(?:token|key|apikey|secret|password|passwd|pwd|auth|authorization|bearer|"
    r"signature|sig|credential|credentials|session|sessionid|sid)$",
    re.IGNORECASE,
)


def credential_in_url(url: str) -> str | None:
    """What in `url` looks like a credential ("a password", "the 'api_key' parameter"), or None."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return "a user name and password"
        if parts.username:
            return "a user name (or a token in its place)"
    except ValueError:
        return None  # not a URL at all: the adapter's own checks say so
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if _CREDENTIAL_PARAM.match(name.strip()):
            return f"the {name.strip()[:40]!r} parameter"
    return None


def token_in_url_message(platform: str, what: str) -> str:
    name = platform or "NAME"
    return (
        f"{platform + ': ' if platform else ''}the URL carries {what}, which would be stored and audited "
        f"with it. Tokens go to the system keyring, never into a URL: remove it, run "
        f"`shieldrec platform login {name}`, and set auth=bearer (or auth=header with auth_header=...)"
    )


class PlatformNotFound(ShieldRecError):
    pass


@dataclass
class PlatformConfig:
    name: str
    adapter: str
    settings: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "adapter": self.adapter, "settings": self.settings, "enabled": self.enabled}


def check_no_secrets(settings: dict[str, Any], platform: str = "") -> None:
    for key, value in settings.items():
        if any(s in key.lower() for s in SECRET_KEYS):
            raise InvalidInput(
                f"setting {key!r} looks like a secret; store it with `shieldrec platform login` instead"
            )
        if isinstance(value, str) and "://" in value and (what := credential_in_url(value)):
            raise InvalidInput(token_in_url_message(platform, what))


class PlatformConfigs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, profile_id: int) -> list[PlatformConfig]:
        rows = self.db.execute(
            "SELECT id, name, adapter, settings, enabled FROM platforms WHERE profile_id = ? ORDER BY id",
            [profile_id],
        ).fetchall()
        return [PlatformConfig(id=r[0], name=r[1], adapter=r[2], settings=json.loads(r[3]), enabled=bool(r[4])) for r in rows]

    def get(self, profile_id: int, name: str) -> PlatformConfig:
        for cfg in self.list(profile_id):
            if cfg.name == name:
                return cfg
        raise PlatformNotFound(f"no platform named {name!r} in this profile")

    def save(self, profile_id: int, cfg: PlatformConfig) -> None:
        check_no_secrets(cfg.settings, cfg.name)
        with tx(self.db):
            self.db.conn.execute(
                "INSERT INTO platforms (profile_id, name, adapter, settings, enabled, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (profile_id, name) DO UPDATE SET "
                "adapter = excluded.adapter, settings = excluded.settings, enabled = excluded.enabled",
                (profile_id, cfg.name, cfg.adapter, json.dumps(cfg.settings, sort_keys=True), int(cfg.enabled), time.time()),
            )

    def remove(self, profile_id: int, name: str) -> None:
        with tx(self.db):
            cur = self.db.conn.execute("DELETE FROM platforms WHERE profile_id = ? AND name = ?", (profile_id, name))
        if cur.rowcount == 0:
            raise PlatformNotFound(f"no platform named {name!r} in this profile")
