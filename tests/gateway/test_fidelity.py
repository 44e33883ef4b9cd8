"""Fidelity: this gateway's answers decode through ib_async's own ``Decoder`` like the real TWS answers did,
and the whole feature set works from unmodified ib_async 2.x (server version 178) and ib_insync 0.9.86 (176).

The recorded session (``ib_captures/tws176_paper_account_capture.json``, a real TWS 176 paper account)
is keyed by request (``"61_1"`` = message 61 version 1, ``"3_219"`` = placeOrder id 219). Each request is
sent again, as ib_async writes it at server version 176, over a raw socket; every answer must decode
without error, and per request the message types and their field counts must match the real ones.
Three differences come from the recording itself, not from the protocol: the EUR.USD contract of the
recorded orders is replaced by AUD.USD (the data has no EUR.USD); TWS's answer to the what-if order 219
arrived after order 220 was sent, so 219 and 220 are compared together; and the ``updateAccountTime``,
``accountUpdateMulti`` and ``accountUpdateMultiEnd`` messages recorded during ``reqAccountSummary`` were
pushes of the account subscriptions opened earlier, which this gateway pushes only when the account changes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ib_async import Contract, ExecutionFilter, Forex, MarketOrder
from ib_async.client import Client
from ib_async.decoder import Decoder

from sdk.gateway import OfflineGateway
from sdk.gateway.protocol import split_frames

CAPTURE = "ib_captures/tws176_paper_account_capture.json"
#: message id that ends each recorded request's answer
END_OF = {"61_1": "62", "5_1": "53", "99_0": "102", "6_2": "54", "76_1": "74", "7_3": "55", "62_1": "64"}
PUSHED_DURING = {"62_1": {"8", "73", "74"}}


def _recorded(shared_data: Path) -> dict[str, list[list[str]]]:
    raw = json.loads((shared_data / CAPTURE).read_text())
    out: dict[str, list[list[str]]] = {}
    for key, chunks in raw.items():
        data = b"".join(base64.b64decode(c) for c in chunks)
        if key == "API_":
            out[key] = [data[4:].decode().split("\0")[:-1]]
        else:
            out[key] = split_frames(data)[0]
    return out


def _signature(messages: list[list[str]]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for fields in messages:
        found.setdefault(fields[0], set()).add(len(fields))
    return found


class _Recorder:
    """A wrapper that accepts every callback the decoder makes and remembers its name."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.calls.append(name)

        return record


def _requests(version: int, con_id: int) -> dict[str, bytes]:
    """The recorded session's requests, as ib_async's Client writes them at ``version``."""
    client = Client(_Recorder())
    sent: list[str] = []
    client.connState = Client.CONNECTED
    client._serverVersion = version
    client.sendMsg = sent.append  # type: ignore[method-assign]
    aud = Forex("AUDUSD")
    aud.conId = con_id
    no_exchange = Contract(conId=con_id, secType="CASH", symbol="AUD", currency="USD")
    what_if = MarketOrder("BUY", 100, whatIf=True)
    steps: dict[str, Callable[[], None]] = {
        "71_2": lambda: client.send(71, 2, 0, ""),
        "61_1": client.reqPositions,
        "5_1": client.reqOpenOrders,
        "99_0": lambda: client.reqCompletedOrders(False),
        "6_2": lambda: client.reqAccountUpdates(True, "DU0000001"),
        "76_1": lambda: client.reqAccountUpdatesMulti(217, "DU0000001", "", False),
        "7_3": lambda: client.reqExecutions(218, ExecutionFilter()),
        "3_219": lambda: client.placeOrder(219, aud, what_if),
        "3_220": lambda: client.placeOrder(220, no_exchange, MarketOrder("BUY", 100)),
        "62_1": lambda: client.reqAccountSummary(221, "All", "AccountType,NetLiquidation,$LEDGER:ALL"),
    }
    out: dict[str, bytes] = {}
    for key, step in steps.items():
        sent.clear()
        step()
        out[key] = b"".join(struct.pack(">I", len(m.encode())) + m.encode() for m in sent)
    return out


def _exchange(port: int, requests: dict[str, bytes]) -> dict[str, list[list[str]]]:
    """Send each request over one raw connection; collect its answers (up to its end message)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    versions = b"v157..176"
    sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
    buffer = b""
    answers: dict[str, list[list[str]]] = {}

    def read(until: Callable[[list[list[str]]], bool], quiet: float = 0.3) -> list[list[str]]:
        nonlocal buffer
        got: list[list[str]] = []
        deadline = time.monotonic() + 10
        sock.settimeout(quiet)
        while time.monotonic() < deadline:
            messages, buffer = split_frames(buffer)
            got += messages
            if until(got):
                sock.settimeout(quiet)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if until(got):
                    break
                continue
            if not chunk:
                break
            buffer += chunk
        return got

    handshake, buffer = b"", b""
    while len(handshake) < 4 or len(handshake) < 4 + struct.unpack(">I", handshake[:4])[0]:
        handshake += sock.recv(1024)
    length = struct.unpack(">I", handshake[:4])[0]
    answers["API_"] = [handshake[4 : 4 + length].decode().split("\0")[:-1]]
    buffer = handshake[4 + length :]
    for key, payload in requests.items():
        sock.sendall(payload)
        if key == "71_2":
            answers[key] = read(lambda got: any(m[0] == "4" and m[3] == "2158" for m in got))
        elif key in END_OF:
            answers[key] = read(lambda got, end=END_OF[key]: any(m[0] == end for m in got))
        else:
            answers[key] = read(lambda got: bool(got))
    sock.close()
    return answers


async def test_answers_decode_like_the_recorded_tws_176_session(
    gateway: OfflineGateway, shared_data: Path, caplog: Any
) -> None:
    recorded = _recorded(shared_data)
    aud = gateway.instruments.get("AUD/USD")
    assert aud is not None
    ours = await asyncio.to_thread(_exchange, gateway.port, _requests(176, aud.con_id))
    assert ours["API_"][0][0] == "176" and len(ours["API_"][0]) == len(recorded["API_"][0]) == 2

    caplog.set_level(logging.ERROR, logger="ib_async.Decoder")
    recorder = _Recorder()
    decoder = Decoder(recorder, 176)  # type: ignore[arg-type]
    for key, messages in ours.items():
        if key == "API_":
            continue
        for fields in messages:
            decoder.interpret(list(fields))
    decode_errors = [r.getMessage() for r in caplog.records if r.name.startswith("ib_async")]
    assert decode_errors == []  # every answer decoded
    expected_calls = {
        "managedAccounts", "nextValidId", "positionEnd", "openOrderEnd", "completedOrdersEnd", "updateAccountValue",
        "accountDownloadEnd", "accountUpdateMulti", "accountUpdateMultiEnd", "execDetailsEnd", "openOrder", "error",
        "accountSummary", "accountSummaryEnd",
    }  # fmt: skip
    assert expected_calls <= set(recorder.calls)

    groups = [["71_2"], ["61_1"], ["5_1"], ["99_0"], ["6_2"], ["76_1"], ["7_3"], ["3_219", "3_220"], ["62_1"]]
    for group in groups:
        real = _signature([m for key in group for m in recorded[key]])
        mine = _signature([m for key in group for m in ours[key]])
        for pushed in (PUSHED_DURING.get(k, set()) for k in group):
            for msg_id in pushed:
                real.pop(msg_id, None)
        assert set(real) <= set(mine), (group, real, mine)
        for msg_id, counts in real.items():
            assert mine[msg_id] == counts, (group, msg_id, counts, mine[msg_id])
    errors = [m for m in ours["3_220"] if m[0] == "4"]
    assert errors[0][3] == "321" and "Missing order exchange" in errors[0][4]  # as TWS answered
