"""The button codec: every payload declared once, unique prefixes, at most 64 bytes, and anything else refused."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from hypothesis import given, strategies as st

import handlers  # noqa: F401  (declares every payload the bot uses)
from bot import payloads
from bot.errors import StaleButton
from bot.payloads import REGISTRY, payload, parse, widest


def test_every_payload_fits_telegrams_64_bytes():
    assert REGISTRY, "no payloads declared"
    too_wide = {prefix: widest(cls) for prefix, cls in REGISTRY.items() if widest(cls) > payloads.MAX_BYTES}
    assert too_wide == {}


def test_a_prefix_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        payload(next(iter(REGISTRY)))(type("Again", (), {"__annotations__": {"x": "int"}}))


@payload("test-p")
class Sample:
    child: int
    step: Literal["y", "n"]
    room: Annotated[str, 8] | None = None


def test_round_trip():
    for value in (Sample(0, "y"), Sample(payloads.SQLITE_MAX, "n", "a-b.c")):
        assert parse(value.pack()) == value
    assert Sample(7, "y").pack() == "test-p:7:y"


@pytest.mark.parametrize("data", [
    "test-p:²:y", "test-p:7", "test-p:7:q", "test-p:7:y:toolongroom", "test-p:7:y:a:b", "test-p::y",
    "test-p:9223372036854775808:y", "test-p:12345678901234567890123:y", "test-p:-1:y", "test-p: 7:y",
    "test-p:٧:y", "test-p:7:y:亲情室", "nope:1", "", None,
])
def test_forged_or_stale_data_is_refused(data):
    with pytest.raises(StaleButton):
        parse(data)


@given(st.text(max_size=80))
def test_any_text_either_parses_to_a_declared_payload_or_is_refused(data):
    try:
        value = parse(data)
    except StaleButton:
        return
    assert type(value) in REGISTRY.values()
    assert value.pack() == data


def test_a_value_that_cannot_be_packed_is_a_programming_error():
    with pytest.raises(ValueError):
        Sample(-1, "y").pack()
    with pytest.raises(ValueError):
        Sample(1, "y", "亲情室").pack()
