"""The pipe protocol between ShieldRec and its language-model worker process.

Each message is one frame: a 4-byte big-endian length, then that many bytes of UTF-8
JSON. The worker speaks first, once, with a hello that names the protocol version and
either what it loaded or why it could not. After that every request
`{"id": n, "op": name, "args": {...}}` gets exactly one response with the same id:
`{"id": n, "ok": true, "result": ...}` or `{"id": n, "ok": false, "error": {"kind", "message"}}`.
JSON floats round-trip exactly (Python writes the shortest repr), so scores computed in
the worker are bit-for-bit the ones computed in process.

An error the worker reports is a Python exception it caught: the worker is still alive
and the same kind of exception is raised on the caller's side. A worker that dies or
stops answering is the client's business, not the protocol's.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from shieldrec.errors import LlmBusyError, LlmUnavailable, ModelError

VERSION = 1
HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024  # far above any real message; a larger length is a broken stream

# What the worker can be asked; each maps to a LocalLLM method of the same meaning.
OPS = frozenset({
    "tokenize_many", "detokenize", "score_continuations", "choose_order",
    "complete", "chat", "chat_prompt", "prompt_tokens", "ping",
})

# Exceptions that cross the boundary as themselves; anything else arrives as ModelError.
_KINDS: dict[str, type[Exception]] = {
    "ValueError": ValueError,
    "LlmBusyError": LlmBusyError,
    "LlmUnavailable": LlmUnavailable,
}


class ProtocolError(ModelError):
    """A frame that is not what the protocol says (wrong length, not JSON, wrong version)."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"a message of {len(body)} bytes is larger than the protocol allows")
    return HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"a frame announced {length} bytes: the stream is broken")
    return length


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame is not a JSON object")
    return message


def error_payload(exc: BaseException) -> dict[str, str]:
    kind = type(exc).__name__
    return {"kind": kind if kind in _KINDS else "ModelError", "message": str(exc) or kind}


def raise_error(error: Any) -> None:
    """Raise, on the caller's side, the exception a worker reported."""
    if not isinstance(error, dict):
        raise ProtocolError("an error response without an error")
    kind = _KINDS.get(str(error.get("kind")), ModelError)
    raise kind(str(error.get("message", "the language model failed")))
