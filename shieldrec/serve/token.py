"""The service's bearer token: made once, kept by the system keyring, never written by us.

Where the machine has no keyring backend, the token comes from `SHIELDREC_SERVE_TOKEN`
(as platform tokens come from `SHIELDREC_TOKEN_<NAME>`); nothing falls back to a file.
"""

from __future__ import annotations

import hmac
import os
import secrets

from shieldrec.errors import CredentialError
from shieldrec.platforms.credentials import get_token, keyring_available, set_token

ENV = "SHIELDREC_SERVE_TOKEN"
# The keyring entry: ':' can never start a platform's name, so no platform token can collide.
KEY = ":serve"
MIN_LENGTH = 16


class NoServiceToken(CredentialError):
    pass


def _from_env() -> str | None:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_LENGTH:
        raise NoServiceToken(f"{ENV} is shorter than {MIN_LENGTH} characters: too easy to guess")
    return value


def service_token(create: bool = True) -> str:
    """The token (from the environment, else the keyring), made and stored on first use."""
    found = _from_env()
    if found:
        return found
    if not keyring_available():
        raise NoServiceToken(
            "this machine has no keyring backend to keep the service's token (ShieldRec never writes "
            f"tokens to a file). Set {ENV} to a long random value, e.g. "
            "`export SHIELDREC_SERVE_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`"
        )
    stored = get_token(KEY)
    if stored:
        return stored
    if not create:
        raise NoServiceToken("no service token yet: `shieldrec serve` makes one on its first start")
    token = secrets.token_urlsafe(32)
    set_token(KEY, token)
    return token


def token_source() -> str:
    return "environment" if os.environ.get(ENV, "").strip() else "keyring"


def matches(given: str | None, token: str) -> bool:
    """Constant-time comparison: how long a refusal takes says nothing about the token."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())
