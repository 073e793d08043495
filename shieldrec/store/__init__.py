"""The private profile store (SQLite).

Names load on first use, so a light submodule (`shieldrec.store.peek`) can be imported without
sqlite-utils and what it pulls in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shieldrec.lazy import lazy_exports

if TYPE_CHECKING:
    from shieldrec.store.profiles import (
        Profile,
        Store,
        load_profile_file,
        parse_profile_bytes,
        parse_profile_document,
    )

__all__ = ["Profile", "Store", "load_profile_file", "parse_profile_bytes", "parse_profile_document"]

_EXPORTS = {name: "profiles" for name in __all__}

__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
