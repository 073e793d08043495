"""The validator that stands between the language model's output and the app, checked against the reference
implementation (`jsonschema`) on schemas of the features it supports and on whatever values hypothesis makes:
it accepts exactly what the reference accepts, and refuses only with `OffSchema`."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldrec.llm.intent import INTENT_SCHEMA
from shieldrec.llm.schema import OffSchema, parse, validate

PROPS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(alphabet="abcxyz", max_size=4)
# JSON values without floats: a float such as 1.0 is an integer to the reference, and never to ShieldRec,
# whose schemas hold no numbers but integers.
values = st.recursive(
    st.none() | st.booleans() | st.integers(-50, 50) | words,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)


def _bounds(low: str, high: str, top: int) -> st.SearchStrategy[dict[str, int]]:
    return st.fixed_dictionaries({}, optional={low: st.integers(0, top), high: st.integers(0, top)})


def _schemas(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("array")}, optional={"items": inner}).flatmap(
            lambda s: _bounds("minItems", "maxItems", 3).map(lambda b: {**s, **b})),
        st.dictionaries(words, inner, max_size=3).flatmap(lambda props: st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.just(props)},
            optional={"required": st.lists(words, max_size=2, unique=True),
                      "additionalProperties": st.just(False)})),
        st.lists(inner, min_size=1, max_size=3).map(lambda options: {"anyOf": options}),
    )


leaves = st.one_of(
    st.just({"type": "null"}),
    _bounds("minLength", "maxLength", 4).map(lambda b: {"type": "string", **b}),
    st.fixed_dictionaries({"type": st.just("integer")},
                          optional={"minimum": st.integers(-20, 20), "maximum": st.integers(-20, 20)}),
    st.lists(st.none() | st.booleans() | st.integers(-3, 3) | words, min_size=1, max_size=4, unique_by=repr).map(
        lambda options: {"enum": options}),
    st.just({}),
)
schemas = st.recursive(leaves, _schemas, max_leaves=8)


def _reference(value: Any, schema: dict[str, Any]) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(value)


def _ours(value: Any, schema: dict[str, Any]) -> bool:
    try:
        validate(value, schema)
    except OffSchema as exc:
        assert str(exc).startswith("$")  # names where the value went wrong
        return False
    return True


@PROPS
@given(schemas, values)
def test_the_validator_agrees_with_the_reference(schema: dict[str, Any], value: Any) -> None:
    assert _ours(value, schema) == _reference(value, schema), (schema, value)


@PROPS
@given(schemas, st.data())
def test_values_the_reference_accepts_parse_back_whole(schema: dict[str, Any], data: st.DataObject) -> None:
    value = data.draw(values.filter(lambda v: _reference(v, schema)))
    assert parse(json.dumps(value), schema) == value


@PROPS
@given(st.one_of(st.text(max_size=60), values.map(json.dumps), st.binary(max_size=40).map(
    lambda b: b.decode("latin-1"))))
def test_any_model_text_is_the_intent_or_off_schema(text: str) -> None:
    try:
        value = parse(text, INTENT_SCHEMA)
    except OffSchema as exc:
        assert str(exc)
        return
    assert _reference(value, INTENT_SCHEMA)
