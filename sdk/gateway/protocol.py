"""The TWS API wire format: length-prefixed frames of NUL-terminated text fields.

Source: ``../shared/docs/ib-reference.md`` and ib_async 2.1.0's ``client.py`` (``_prefix``,
``send``, ``_onSocketHasData``): every message is a 4-byte big-endian length followed by fields,
each terminated by ``\\0``. The handshake is the one exception: the client first sends the bare
bytes ``API\\0`` and then a framed version range (``v157..178``).

Field encoding, as TWS writes it: ``None`` -> empty, ``bool`` -> ``1``/``0``, the unset double
-> ``1.7976931348623157E308``, ``Decimal`` in plain notation, floats with Python's shortest
round-trip repr. Decoding is done by :class:`Fields`, a cursor whose typed getters raise
:class:`ProtocolError` naming the field that was missing or malformed.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

__all__ = [
    "MAX_FRAME_BYTES",
    "UNSET_DOUBLE",
    "UNSET_DOUBLE_TEXT",
    "UNSET_INTEGER",
    "Fields",
    "ProtocolError",
    "encode_field",
    "encode_frame",
    "read_frame",
    "read_handshake",
    "split_frames",
]

#: IB's "no value" for doubles (``Double.MAX_VALUE``) and ints (``Integer.MAX_VALUE``).
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"
#: TWS refuses messages above 16 MB (``0xFFFFFF``); a longer length prefix is a malformed frame.
MAX_FRAME_BYTES = 0xFFFFFF
_LENGTH = struct.Struct(">I")


class ProtocolError(ValueError):
    """A frame or a field could not be read; the message says which and why."""


def encode_field(value: Any) -> str:
    """One field as TWS writes it (see the module docstring for the rules)."""
    kind = type(value)
    if kind is float:
        if value == UNSET_DOUBLE:
            return UNSET_DOUBLE_TEXT
        return f"{value:.1f}" if value.is_integer() and abs(value) < 1e15 else repr(value)
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if value == UNSET_DOUBLE:
            return UNSET_DOUBLE_TEXT
        if math.isinf(value):
            return "Infinite"
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:.1f}"
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def encode_frame(fields: Iterable[Any]) -> bytes:
    """A complete frame (length prefix included) for a message's fields."""
    parts: list[str] = []
    append = parts.append
    for f in fields:  # the common types inline: this runs for every tick of every stream
        kind = type(f)
        if kind is str:
            append(f)
        elif kind is int:
            append(str(f))
        elif kind is float and f != UNSET_DOUBLE and not f.is_integer() and f == f:
            append(repr(f))
        else:
            append(encode_field(f))
    body = "\0".join(parts).encode() + b"\0"
    return _LENGTH.pack(len(body)) + body


def split_frames(data: bytes) -> tuple[list[list[str]], bytes]:
    """Split a byte buffer into complete messages' fields and the incomplete rest.

    Used by tests and the fidelity check to read recorded traffic the way ib_async does.
    """
    messages: list[list[str]] = []
    while len(data) >= 4:
        (length,) = _LENGTH.unpack_from(data)
        if len(data) < 4 + length:
            break
        fields = data[4 : 4 + length].decode(errors="backslashreplace").split("\0")
        fields.pop()
        messages.append(fields)
        data = data[4 + length :]
    return messages, data


async def read_frame(reader: asyncio.StreamReader) -> list[str]:
    """Read one frame and return its fields.

    Raises:
        asyncio.IncompleteReadError: the peer closed the connection (possibly mid-message).
        ProtocolError: the length is zero or above :data:`MAX_FRAME_BYTES`, the body is not UTF-8,
            or its last field is not NUL-terminated.
    """
    header = await reader.readexactly(4)
    (length,) = _LENGTH.unpack(header)
    if length == 0 or length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame length {length} is outside 1..{MAX_FRAME_BYTES}")
    body = await reader.readexactly(length)
    if not body.endswith(b"\0"):
        raise ProtocolError("frame does not end with a NUL field terminator")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"frame is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.split("\0")[:-1]


async def read_handshake(reader: asyncio.StreamReader) -> tuple[int, int, str]:
    """Read ``API\\0`` and the framed version range ``v<min>..<max>[ <options>]``.

    Returns:
        ``(min_version, max_version, connect_options)``.

    Raises:
        ProtocolError: the prefix or the version range is malformed.
        asyncio.IncompleteReadError: the peer closed the connection.
    """
    prefix = await reader.readexactly(4)
    if prefix != b"API\0":
        raise ProtocolError(f"expected the API\\0 handshake prefix, got {prefix!r}")
    header = await reader.readexactly(4)
    (length,) = _LENGTH.unpack(header)
    if length == 0 or length > 1024:
        raise ProtocolError(f"handshake version frame length {length} is not plausible")
    text = (await reader.readexactly(length)).decode(errors="replace").rstrip("\0")
    versions, _, options = text.partition(" ")
    if not versions.startswith("v") or ".." not in versions:
        raise ProtocolError(f"expected a version range like v157..178, got {text!r}")
    low, _, high = versions[1:].partition("..")
    try:
        return int(low), int(high), options
    except ValueError:
        raise ProtocolError(f"version range {versions!r} is not numeric") from None


class Fields:
    """A cursor over one request's fields, with typed getters.

    ``Fields(["3", "17", "0", "BHP", ...])`` -- the message id is field 0. Every getter advances;
    an empty field is "unset": ``integer`` gives its ``default``, ``number`` the unset double,
    ``decimal`` ``None``.
    """

    __slots__ = ("_fields", "_pos")

    def __init__(self, fields: Sequence[str], start: int = 0) -> None:
        self._fields = fields
        self._pos = start

    @property
    def msg_id(self) -> int:
        return int(self._fields[0])

    @property
    def position(self) -> int:
        return self._pos

    def remaining(self) -> int:
        return len(self._fields) - self._pos

    def _next(self, what: str) -> str:
        if self._pos >= len(self._fields):
            raise ProtocolError(
                f"message {self._fields[0] if self._fields else '?'} ended after {len(self._fields)} fields; "
                f"field {self._pos} ({what}) is missing"
            )
        value = self._fields[self._pos]
        self._pos += 1
        return value

    def text(self, what: str = "text") -> str:
        return self._next(what)

    def integer(self, what: str = "integer", default: int = 0) -> int:
        raw = self._next(what)
        if raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            try:
                as_float = float(raw)
            except ValueError:
                raise ProtocolError(f"field {self._pos - 1} ({what}) should be an integer, got {raw!r}") from None
            if not as_float.is_integer():
                raise ProtocolError(f"field {self._pos - 1} ({what}) should be an integer, got {raw!r}") from None
            return int(as_float)

    def number(self, what: str = "number", default: float = UNSET_DOUBLE) -> float:
        raw = self._next(what)
        if raw == "":
            return default
        if raw == "Infinite":
            return math.inf
        try:
            return float(raw)
        except ValueError:
            raise ProtocolError(f"field {self._pos - 1} ({what}) should be a number, got {raw!r}") from None

    def decimal(self, what: str = "number") -> Decimal | None:
        raw = self._next(what)
        if raw == "" or raw == UNSET_DOUBLE_TEXT:
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            raise ProtocolError(f"field {self._pos - 1} ({what}) should be a number, got {raw!r}") from None
        if not value.is_finite() or value >= Decimal(UNSET_DOUBLE):
            return None
        return value

    def flag(self, what: str = "flag") -> bool:
        raw = self._next(what)
        if raw in ("", "0", "false", "False"):
            return False
        if raw in ("1", "true", "True"):
            return True
        raise ProtocolError(f"field {self._pos - 1} ({what}) should be 0 or 1, got {raw!r}")

    def skip(self, count: int, what: str = "unused") -> None:
        for _ in range(count):
            self._next(what)

    def rest(self) -> list[str]:
        values = list(self._fields[self._pos :])
        self._pos = len(self._fields)
        return values
