"""Per-profile platform settings. Never secrets: tokens live in the keyring."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from shieldrec.store.db import tx

from shieldrec.errors import InvalidInput, ShieldRecError

# Keys a settings dict may never carry into the database: those go to the keyring.
SECRET_KEYS = ("token", "api_key", "apikey", "password", "secret", "authorization", "bearer")


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


def check_no_secrets(settings: dict[str, Any]) -> None:
    for key in settings:
        if any(s in key.lower() for s in SECRET_KEYS):
            raise InvalidInput(
                f"setting {key!r} looks like a secret; store it with `shieldrec platform login` instead"
            )


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
        check_no_secrets(cfg.settings)
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
