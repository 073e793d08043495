"""Every on-disk location ShieldRec uses, resolved in one place.

`SHIELDREC_HOME` overrides all of them at once (tests, portable installs);
otherwise platformdirs picks the platform's conventional folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "shieldrec"
HOME_ENV = "SHIELDREC_HOME"


@dataclass(frozen=True)
class Paths:
    data: Path
    config: Path
    cache: Path

    @property
    def database(self) -> Path:
        """The private profile database: nothing but ShieldRec reads it."""
        return self.data / "profiles.db"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def config_file(self) -> Path:
        return self.config / "config.toml"

    @property
    def logs(self) -> Path:
        return self.cache / "logs"

    def as_dict(self) -> dict[str, str]:
        return {
            "data": str(self.data),
            "config": str(self.config),
            "cache": str(self.cache),
            "database": str(self.database),
            "config_file": str(self.config_file),
            "models": str(self.models),
            "logs": str(self.logs),
        }


def get_paths() -> Paths:
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(data=root / "data", config=root / "config", cache=root / "cache")
    return Paths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )


def ensure_dir(path: Path) -> Path:
    """Create a private folder (0700): the profile lives under it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
