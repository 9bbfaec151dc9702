"""The sealed-file format (bot.safekeeping.crypto): what goes in comes out, under the same key only, and a file
that was changed, cut, reordered or sealed under another key is refused, never read as something else."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safekeeping.crypto import (CHUNK, HEADER_BYTES, TAG_BYTES, BadKey, Unreadable, generate_key, parse_key,
                                    seal, seal_stream, unseal)

KEY = parse_key(generate_key())


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.integers(0, 3).map(lambda n: b"\x07" * (CHUNK * n))))
def test_what_is_sealed_opens_to_the_same_bytes(data):
    sealed = seal(data, KEY)
    assert unseal(sealed, KEY) == data
    assert len(sealed) == HEADER_BYTES + max(1, -(-len(data) // CHUNK)) * TAG_BYTES + len(data)


def test_a_sealed_file_holds_none_of_its_plaintext():
    secret = "王小明 身份证 110101201605010011".encode() * 50
    assert secret[:20] not in seal(secret, KEY)


@pytest.mark.parametrize("change", ["flip", "cut_chunk", "cut_tail", "swap", "append"])
def test_a_changed_or_cut_file_is_refused(change):
    data = bytes(range(256)) * (CHUNK // 256) * 3  # three full chunks
    sealed = bytearray(seal(data, KEY))
    step = CHUNK + TAG_BYTES
    if change == "flip":
        sealed[HEADER_BYTES + 10] ^= 1
    elif change == "cut_chunk":  # the last chunk dropped: the second now ends the file, without its last flag
        sealed = sealed[:HEADER_BYTES + 2 * step]
    elif change == "cut_tail":
        sealed = sealed[:-5]
    elif change == "swap":
        first = sealed[HEADER_BYTES:HEADER_BYTES + step]
        sealed[HEADER_BYTES:HEADER_BYTES + step] = sealed[HEADER_BYTES + step:HEADER_BYTES + 2 * step]
        sealed[HEADER_BYTES + step:HEADER_BYTES + 2 * step] = first
    else:
        sealed += seal(b"more", KEY)[HEADER_BYTES:]
    with pytest.raises(Unreadable) as refused:
        unseal(bytes(sealed), KEY)
    assert refused.value.reason == "damaged"


def test_another_key_and_a_plain_file_are_told_apart():
    sealed = seal(b"data", KEY)
    with pytest.raises(Unreadable) as other:
        unseal(sealed, parse_key(generate_key()))
    assert other.value.reason == "other_key"
    with pytest.raises(Unreadable) as plain:
        unseal(b"SQLite format 3\x00", KEY)
    assert plain.value.reason == "not_sealed"


def test_streams_seal_without_holding_the_whole_file():
    out = io.BytesIO()
    assert seal_stream(io.BytesIO(b"x" * (CHUNK + 1)), out, KEY) == len(out.getvalue())


@pytest.mark.parametrize("text", ["", "short", "A" * 43 + "!", "A" * 40, "A" * 48])
def test_a_key_that_is_not_32_bytes_of_base64_is_refused(text):
    with pytest.raises(BadKey):
        parse_key(text)


def test_a_key_reads_with_or_without_its_padding():
    key = generate_key()
    assert parse_key(key) == parse_key(key.rstrip("="))
