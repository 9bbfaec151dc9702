"""Sealing children's data at rest with the deployment's key (DATA_KEY): media files and backups.

The cipher is AES-256-GCM from `cryptography` (authenticated: a changed or cut file is refused, never read as
something else). A sealed file is a stream of chunks so that a backup of several gigabytes never has to sit in
memory: the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, 2015), as age and Tink use it:

    header  = MAGIC (4 bytes) | key id (8) | nonce prefix (8, random per file)
    chunk i = AES-GCM(key, nonce = prefix | i as 4 bytes, data = up to CHUNK bytes, aad = header | last flag)

Each chunk is authenticated with its position and with whether it is the last, so chunks cannot be reordered,
dropped or the file truncated at a chunk's end without the tag failing. The key id (an HMAC of a constant under
the key) tells a file sealed under another key (one from before a key rotation) from a damaged one; it reveals
nothing of the key.

The key itself is 32 random bytes written in URL-safe base64 (`python -m bot keygen`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
MAGIC = b"QQB\x01"
KEY_ID_BYTES = 8
PREFIX_BYTES = 8
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + PREFIX_BYTES
CHUNK = 64 * 1024
TAG_BYTES = 16
MAX_CHUNKS = 2 ** 32  # the counter's 4 bytes: 256 TiB a file, far beyond any backup


class BadKey(ValueError):
    """DATA_KEY is not 32 bytes in URL-safe base64."""


class Unreadable(Exception):
    """A sealed file that cannot be opened: `reason` is 'not_sealed', 'other_key' or 'damaged'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def generate_key() -> str:
    """A new key, as DATA_KEY holds it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_key(text: str) -> bytes:
    """DATA_KEY's 32 bytes; BadKey if it is anything else (a typo must not start a bot that seals nothing)."""
    text = text.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadKey() from None
    if len(key) != KEY_BYTES:
        raise BadKey()
    return key


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"qinqing-bridge data key id", hashlib.sha256).digest()[:KEY_ID_BYTES]


def is_sealed(head: bytes) -> bool:
    """Whether these first bytes of a file are a sealed file's."""
    return head[:len(MAGIC)] == MAGIC


def seal_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Seal everything `src` holds into `dst`; returns the bytes written."""
    aead = AESGCM(key)
    header = MAGIC + key_id(key) + os.urandom(PREFIX_BYTES)
    dst.write(header)
    written = len(header)
    prefix = header[-PREFIX_BYTES:]
    chunk = src.read(CHUNK)
    index = 0
    while True:
        following = src.read(CHUNK)
        last = not following
        sealed = aead.encrypt(_nonce(prefix, index), chunk, header + (b"\x01" if last else b"\x00"))
        dst.write(sealed)
        written += len(sealed)
        if last:
            return written
        chunk, index = following, index + 1
        if index >= MAX_CHUNKS:
            raise ValueError("too large to seal")


def open_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Write what a sealed `src` holds into `dst`; returns the bytes written. Unreadable if `src` is not sealed,
    was sealed under another key, or was changed or cut (then `dst` holds part of it: write to a temporary file
    and keep it only on success)."""
    header = src.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not is_sealed(header):
        raise Unreadable("not_sealed")
    if not hmac.compare_digest(header[len(MAGIC):len(MAGIC) + KEY_ID_BYTES], key_id(key)):
        raise Unreadable("other_key")
    aead = AESGCM(key)
    prefix = header[-PREFIX_BYTES:]
    size = CHUNK + TAG_BYTES
    chunk = src.read(size)
    index, written = 0, 0
    while True:
        following = src.read(size)
        last = not following
        try:
            plain = aead.decrypt(_nonce(prefix, index), chunk, header + (b"\x01" if last else b"\x00"))
        except InvalidTag:
            raise Unreadable("damaged") from None
        dst.write(plain)
        written += len(plain)
        if last:
            return written
        chunk, index = following, index + 1


def seal(data: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    seal_stream(io.BytesIO(data), out, key)
    return out.getvalue()


def unseal(data: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    open_stream(io.BytesIO(data), out, key)
    return out.getvalue()


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)
