"""Checking model output against the JSON schema it was constrained by.

The grammar makes llama.cpp emit text shaped like the schema, but output cut at the token
limit, a grammar-converter gap or a different backend can still produce something else.
Nothing the model says is used until this check passes; anything off-schema is dropped.
Only the schema features ShieldRec's own schemas use are understood.
"""

from __future__ import annotations

import json
from typing import Any


class OffSchema(ValueError):
    """Model output that is not valid JSON for the schema it was asked to follow."""


def _check(value: Any, schema: dict[str, Any], where: str) -> None:
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                _check(value, option, where)
                return
            except OffSchema:
                continue
        raise OffSchema(f"{where}: matches none of the allowed forms")
    if "enum" in schema:
        if value not in schema["enum"]:
            raise OffSchema(f"{where}: {value!r} is not one of the allowed values")
        return
    kind = schema.get("type")
    if kind == "null":
        if value is not None:
            raise OffSchema(f"{where}: expected null")
    elif kind == "string":
        if not isinstance(value, str):
            raise OffSchema(f"{where}: expected a string")
        if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
            raise OffSchema(f"{where}: string length {len(value)} is out of bounds")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise OffSchema(f"{where}: expected an integer")
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            raise OffSchema(f"{where}: {value} is out of range")
    elif kind == "array":
        if not isinstance(value, list):
            raise OffSchema(f"{where}: expected an array")
        if len(value) > schema.get("maxItems", len(value)) or len(value) < schema.get("minItems", 0):
            raise OffSchema(f"{where}: {len(value)} entries is out of bounds")
        for i, entry in enumerate(value):
            _check(entry, schema.get("items", {}), f"{where}[{i}]")
    elif kind == "object":
        if not isinstance(value, dict):
            raise OffSchema(f"{where}: expected an object")
        props: dict[str, Any] = schema.get("properties", {})
        missing = [k for k in schema.get("required", []) if k not in value]
        if missing:
            raise OffSchema(f"{where}: missing {', '.join(missing)}")
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                raise OffSchema(f"{where}: unexpected {', '.join(extra)}")
        for key, sub in props.items():
            if key in value:
                _check(value[key], sub, f"{where}.{key}")
    elif kind is not None:
        raise OffSchema(f"{where}: the schema uses an unsupported type {kind!r}")


def validate(value: Any, schema: dict[str, Any]) -> None:
    """Raise OffSchema unless `value` satisfies `schema`."""
    _check(value, schema, "$")


def parse(text: str, schema: dict[str, Any]) -> Any:
    """The JSON value in `text`, if it is exactly one value that satisfies `schema`."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise OffSchema(f"not valid JSON: {exc}") from exc
    validate(value, schema)
    return value
