"""A quick look into the profile database before anything else starts: standard library only,
read-only, no migrations, so a command line can be checked without delaying the app."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def profile_names(path: Path) -> list[str]:
    """The profiles in the database at `path` ([] when there is none yet). The full store (with its
    migrations) opens later; a database it cannot read is its error to report, so here it is []."""
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return [r[0] for r in conn.execute("SELECT name FROM profiles ORDER BY name")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()
