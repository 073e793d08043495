"""The private profile store (SQLite)."""

from shieldrec.store.profiles import (
    Profile,
    Store,
    load_profile_file,
    parse_profile_bytes,
    parse_profile_document,
)

__all__ = ["Profile", "Store", "load_profile_file", "parse_profile_bytes", "parse_profile_document"]
