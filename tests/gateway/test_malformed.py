"""Malformed message ids and non-numeric numbers are answered with IB's error 320, never a traceback (issue 12).

Over a raw socket, a request whose message id is not a plain ASCII number (a superscript digit, an Arabic-Indic
digit that Python's ``int`` would read as 3, a decimal point, an empty field, more digits than an integer may
have) or whose number field holds text, ``nan`` or ``inf`` gets error 320 ("error reading request", IB's code
for a message it cannot decode) and only that client is dropped, as TWS does. The gateway logs a warning, no
traceback and no 322; another client connected meanwhile keeps its market data stream and is still served.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from ib_async import Stock

from sdk.gateway import OfflineGateway
from sdk.gateway.protocol import encode_frame

from .conftest import ASX_OPEN_2025, eventually
from .test_connection import _raw_client, _read_messages, _read_until_closed

#: reqMktData at server version 178: msgId, version, reqId, the contract (conId .. tradingClass), no combo legs,
#: no delta-neutral contract, generic ticks, snapshot, regulatory snapshot, options.
_MKT_DATA = [1, 11, 7, 0, "BHP", "STK", "", 0.0, "", "", "ASX", "", "AUD", "", "", 0, 0, "", 0, 0, ""]

MALFORMED = {
    "id-superscript-digit": [encode_frame(["\u00b2", 1])],
    "id-arabic-indic-digit": [encode_frame(["\u0663", 1])],  # int() reads it as 3 (placeOrder)
    "id-decimal-point": [encode_frame(["49.0", 1])],
    "id-empty": [encode_frame(["", 1])],
    "id-too-many-digits": [encode_frame(["9" * 5000, 1])],
    "id-signed": [encode_frame(["+49", 1])],
    "reqIds-numIds-text": [encode_frame([8, 1, "many"])],
    "reqMktData-reqId-text": [encode_frame([_MKT_DATA[0], _MKT_DATA[1], "abc", *_MKT_DATA[3:]])],
    "reqMktData-conId-nan": [encode_frame([*_MKT_DATA[:3], "nan", *_MKT_DATA[4:]])],
    "reqMktData-strike-inf": [encode_frame([*_MKT_DATA[:7], "inf", *_MKT_DATA[8:]])],
    "reqMktData-strike-nan": [encode_frame([*_MKT_DATA[:7], "nan", *_MKT_DATA[8:]])],
    "reqExecutions-reqId-text": [encode_frame([7, 3, "x", 0, "", "", "", "", "", ""])],
}


@pytest.mark.parametrize("frames", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_request_is_320_without_a_traceback_and_other_streams_survive(
    gateway: OfflineGateway, connect: Any, frames: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    good = await connect(gateway, 1)
    [bhp] = await good.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    ticker = good.reqMktData(bhp)
    await eventually(lambda: ticker.bid == ticker.bid and ticker.bid > 0)  # not NaN: the stream runs
    caplog.set_level(logging.INFO, logger="sdk.gateway")

    sock = await asyncio.to_thread(_raw_client, gateway.port, 178)
    try:
        sock.sendall(b"".join(frames))
        answers = await asyncio.to_thread(_read_until_closed, sock)
    finally:
        sock.close()
    errors = [m for m in answers if m[0] == "4" and m[3] not in ("2104", "2106", "2158", "2199")]
    assert [e[3] for e in errors] == ["320"], answers
    assert not [m for m in answers if m[0] != "4"], f"the malformed request was answered: {answers}"
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    assert "320" in caplog.text

    assert good.isConnected() and gateway.state()["clients"] == [1]
    assert await good.reqCurrentTimeAsync() == ASX_OPEN_2025  # still served
    updates: list[Any] = []
    ticker.updateEvent += updates.append
    gateway.clock.advance(120)
    await eventually(lambda: bool(updates), timeout=5)  # its market data stream goes on


#: calculateImpliedVolatility / calculateOptionPrice as IB's official client (ibapi 10.x) writes them at server
#: version 178: msgId, version 3, reqId, the contract (12 fields), option price or volatility, under price, and the
#: options string alone (no count before it, unlike ib_async): 18 fields.
_SPY_OPTION = [0, "SPY", "OPT", "20250321", 580.0, "C", "100", "SMART", "", "USD", "", ""]


@pytest.mark.parametrize(("msg_id", "name"), [(54, "calculateImpliedVolatility"), (55, "calculateOptionPrice")])
async def test_the_official_clients_option_calculation_is_answered_322_and_the_session_survives(
    gateway: OfflineGateway, msg_id: int, name: str
) -> None:
    sock = await asyncio.to_thread(_raw_client, gateway.port, 178)
    try:
        frame = encode_frame([msg_id, 3, 9, *_SPY_OPTION, 1.25, 585.0, ""])
        assert len([msg_id, 3, 9, *_SPY_OPTION, 1.25, 585.0, ""]) == 18
        sock.sendall(frame + encode_frame([49, 1]))  # then reqCurrentTime: answered on the same session
        answers = await asyncio.to_thread(_read_messages, sock, 7)  # 5 connect notices, the 322, the time
    finally:
        sock.close()
    errors = [m for m in answers if m[0] == "4" and m[2] != "-1"]
    assert [(e[2], e[3]) for e in errors] == [("9", "322")], f"{name}: {answers}"  # not simulated, not 320
    assert [m for m in answers if m[0] == "49"], f"{name}: the session was dropped: {answers}"
