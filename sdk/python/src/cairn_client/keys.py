"""Key encoding and etcd-style range selection."""

from __future__ import annotations

from typing import Union

Bytesish = Union[str, bytes]


def to_bytes(value: Bytesish) -> bytes:
    """Keys and values are bytes on the wire; str is sent as UTF-8."""
    return value.encode() if isinstance(value, str) else bytes(value)


def prefix_end(prefix: bytes) -> bytes:
    """The exclusive end of the range holding every key that starts with `prefix`: the
    prefix with its last byte below 0xff incremented; b"\\0" (every key) if there is none."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b"\0"
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
