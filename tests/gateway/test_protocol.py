"""The wire format: frames, field encoding and the request cursor."""

from __future__ import annotations

import asyncio
import struct
from decimal import Decimal

import pytest

from sdk.gateway.protocol import (
    UNSET_DOUBLE,
    Fields,
    ProtocolError,
    encode_field,
    encode_frame,
    read_frame,
    read_handshake,
    split_frames,
)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_fields_are_encoded_the_way_tws_writes_them() -> None:
    assert encode_field(None) == ""
    assert encode_field(True) == "1"
    assert encode_field(False) == "0"
    assert encode_field(UNSET_DOUBLE) == "1.7976931348623157E308"
    assert encode_field(45.0) == "45.0"
    assert encode_field(0.1 + 0.2) == "0.30000000000000004"
    assert encode_field(Decimal("45.120")) == "45.120"
    assert encode_field(Decimal("1E+1")) == "10"
    assert encode_field(17) == "17"


def test_a_frame_round_trips_through_split_frames() -> None:
    data = encode_frame([9, 1, 217]) + encode_frame([4, 2, -1, 2104, "OK", ""]) + b"\x00\x00"
    messages, rest = split_frames(data)
    assert messages == [["9", "1", "217"], ["4", "2", "-1", "2104", "OK", ""]]
    assert rest == b"\x00\x00"


async def test_read_frame_reads_fields_and_rejects_bad_frames() -> None:
    assert await read_frame(_reader(encode_frame([49, 1]))) == ["49", "1"]
    with pytest.raises(ProtocolError, match="outside"):
        await read_frame(_reader(struct.pack(">I", 0)))
    with pytest.raises(ProtocolError, match="NUL"):
        await read_frame(_reader(struct.pack(">I", 3) + b"abc"))
    with pytest.raises(ProtocolError, match="UTF-8"):
        await read_frame(_reader(struct.pack(">I", 3) + b"\xff\xfe\x00"))
    with pytest.raises(asyncio.IncompleteReadError):
        await read_frame(_reader(struct.pack(">I", 10) + b"abc"))


async def test_handshake_reads_the_version_range() -> None:
    frame = b"v157..178 +PACEAPI"
    assert await read_handshake(_reader(b"API\0" + struct.pack(">I", len(frame)) + frame)) == (157, 178, "+PACEAPI")
    with pytest.raises(ProtocolError, match="API"):
        await read_handshake(_reader(b"GET / HTTP/1.1\r\n"))
    bad = b"157-178"
    with pytest.raises(ProtocolError, match="version range"):
        await read_handshake(_reader(b"API\0" + struct.pack(">I", len(bad)) + bad))


def test_the_cursor_reads_typed_fields_and_names_what_is_wrong() -> None:
    fields = Fields(["3", "12", "", "1.5", "", "1", "abc"])
    assert fields.msg_id == 3
    fields.skip(1)
    assert fields.integer("orderId") == 12
    assert fields.integer("parentId", default=7) == 7
    assert fields.number("price") == 1.5
    assert fields.decimal("aux") is None
    assert fields.flag("transmit") is True
    with pytest.raises(ProtocolError, match=r"field 6 \(quantity\) should be an integer"):
        fields.integer("quantity")
    with pytest.raises(ProtocolError, match=r"field 7 \(tif\) is missing"):
        fields.text("tif")


def test_the_framed_bars_message_equals_the_field_by_field_one() -> None:
    import numpy as np

    from sdk.gateway.historical import Bars, historical_data, historical_data_frame

    bars = Bars(
        times=np.array([0.0, 60.0]), open=np.array([45.12, 45.2]), high=np.array([45.3, 45.25]),
        low=np.array([45.0, 45.1]), close=np.array([45.2, 45.15]), volume=np.array([1000.0, -1.0]),
        wap=np.array([45.1234, -1.0]), count=np.array([12.0, -1.0]), sessions=None,
    )  # fmt: skip
    dates = ["20250304 11:00:00 Australia/NSW", "20250304 11:01:00 Australia/NSW"]
    framed = historical_data_frame(7, bars, dates, "start", "end")
    assert framed == encode_frame(historical_data(7, bars, dates, "start", "end"))
    [fields], _ = split_frames(framed)
    assert fields[:5] == ["17", "7", "start", "end", "2"] and fields[5:8] == [dates[0], "45.12", "45.3"]
