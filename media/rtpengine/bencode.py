"""Bencode, the dictionary format of rtpengine's ng control protocol.

    integer     i<decimal>e              i42e, i-3e
    byte string <length>:<bytes>         4:ping
    list        l<items>e                l4:spam4:eggse
    dictionary  d<key><value>...e        d7:command4:pinge  (keys are byte strings)

Strings are encoded as UTF-8 byte strings; decoding returns bytes for every string
(SDP and call-ids are bytes on the wire), with dictionary keys decoded to str.
Pure and synchronous.
"""

from __future__ import annotations

from typing import TypeAlias

Value: TypeAlias = int | bytes | str | list["Value"] | dict[str, "Value"]
Decoded: TypeAlias = int | bytes | list["Decoded"] | dict[str, "Decoded"]

MAX_DEPTH = 64


class BencodeError(ValueError):
    """Malformed bencoded data, or a value bencode cannot carry."""


def encode(value: Value) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Value, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise BencodeError("booleans have no bencode form; send an integer or a flag")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, bytes | bytearray):
        out.append(b"%d:" % len(value))
        out.append(bytes(value))
    elif isinstance(value, str):
        data = value.encode()
        out.append(b"%d:" % len(data))
        out.append(data)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        # Keys sorted as raw strings (the bencode rule; rtpengine does not insist).
        for key in sorted(value, key=lambda k: k.encode()):
            if not isinstance(key, str):
                raise BencodeError(f"dictionary key {key!r} is not a string")
            _encode(key, out)
            _encode(value[key], out)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes) -> Decoded:
    """Decode one complete value; trailing bytes are an error."""
    value, end = _decode(data, 0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} trailing bytes after the value")
    return value


def _decode(data: bytes, pos: int, depth: int) -> tuple[Decoded, int]:
    if depth > MAX_DEPTH:
        raise BencodeError("nested deeper than 64 levels")
    if pos >= len(data):
        raise BencodeError("truncated: a value was expected")
    lead = data[pos : pos + 1]
    if lead == b"i":
        end = data.find(b"e", pos)
        if end < 0:
            raise BencodeError("truncated integer")
        text = data[pos + 1 : end]
        if not text or not text.lstrip(b"-").isdigit():
            raise BencodeError(f"bad integer {text!r}")
        return int(text), end + 1
    if lead.isdigit():
        colon = data.find(b":", pos)
        if colon < 0 or not data[pos:colon].isdigit():
            raise BencodeError("bad string length")
        length = int(data[pos:colon])
        start = colon + 1
        if start + length > len(data):
            raise BencodeError("truncated string")
        return data[start : start + length], start + length
    if lead == b"l":
        items: list[Decoded] = []
        pos += 1
        while data[pos : pos + 1] != b"e":
            item, pos = _decode(data, pos, depth + 1)
            items.append(item)
        return items, pos + 1
    if lead == b"d":
        result: dict[str, Decoded] = {}
        pos += 1
        while data[pos : pos + 1] != b"e":
            key, pos = _decode(data, pos, depth + 1)
            if not isinstance(key, bytes):
                raise BencodeError("dictionary key is not a string")
            result[key.decode("utf-8", "replace")], pos = _decode(data, pos, depth + 1)
        return result, pos + 1
    raise BencodeError(f"unexpected byte {lead!r} at offset {pos}")
