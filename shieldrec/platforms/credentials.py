"""Platform tokens: kept by the system keyring, or read from the environment, never written by us.

A token is looked up by platform name. `SHIELDREC_TOKEN_<NAME>` (name upper-cased, anything
not a letter or digit turned into `_`) wins when set, so scripts and machines without a
keyring backend can still authenticate; nothing ever falls back to a file.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from shieldrec.errors import CredentialError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "shieldrec"
ENV_PREFIX = "SHIELDREC_TOKEN_"


class NoKeyringBackend(CredentialError):
    pass


def env_var(name: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def _no_backend_message(name: str) -> str:
    return (
        "this machine has no keyring backend to keep the token safely (ShieldRec never writes tokens "
        f"to a file). Set the environment variable {env_var(name)} instead, or install a system keyring "
        "(e.g. GNOME Keyring / KWallet via Secret Service, macOS Keychain, Windows Credential Locker)"
    )


def _backend() -> KeyringBackend | None:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    try:
        from keyring.backends import null

        unusable: tuple[type, ...] = (fail.Keyring, null.Keyring)
    except ImportError:  # pragma: no cover - older keyring
        unusable = (fail.Keyring,)
    return None if isinstance(backend, unusable) else backend


def keyring_available() -> bool:
    return _backend() is not None


def _check_name(name: str) -> None:
    if not name or not isinstance(name, str):
        raise CredentialError("a platform name is needed to store its token")


def set_token(name: str, token: str) -> None:
    _check_name(name)
    token = token.strip()
    if not token:
        raise CredentialError("the token is empty; nothing was stored")
    if any(ch in token for ch in "\r\n\x00"):
        raise CredentialError("the token contains a line break or NUL; nothing was stored")
    backend = _backend()
    if backend is None:
        raise NoKeyringBackend(_no_backend_message(name))
    from keyring.errors import KeyringError

    try:
        backend.set_password(SERVICE, name, token)
    except KeyringError as exc:
        # The backend's message, never the token.
        raise CredentialError(f"the keyring refused to store the token for {name!r}: {type(exc).__name__}") from None


def get_token(name: str) -> str | None:
    """The platform's token from the environment or the keyring, or None."""
    _check_name(name)
    from_env = os.environ.get(env_var(name))
    if from_env and from_env.strip():
        return from_env.strip()
    backend = _backend()
    if backend is None:
        return None
    from keyring.errors import KeyringError

    try:
        return backend.get_password(SERVICE, name) or None
    except KeyringError as exc:
        raise CredentialError(f"the keyring could not be read for {name!r}: {type(exc).__name__}") from None


def delete_token(name: str) -> bool:
    """Remove the stored token; False when there was none."""
    _check_name(name)
    backend = _backend()
    if backend is None:
        raise NoKeyringBackend(_no_backend_message(name))
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        backend.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise CredentialError(f"the keyring refused to delete the token for {name!r}: {type(exc).__name__}") from None
    return True


def token_source(name: str) -> str:
    """Where a token would come from, for display: 'env', 'keyring' or 'none' (never the value)."""
    if os.environ.get(env_var(name), "").strip():
        return "env"
    try:
        return "keyring" if get_token(name) else "none"
    except CredentialError:
        return "keyring unreadable"
