"""Connecting: handshake, startup answers, several clients, client id 326, and bad input."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

import pytest
from ib_async import IB
from support.waiting import eventually

from sdk.gateway import OfflineGateway
from sdk.gateway.protocol import encode_frame, split_frames

from .conftest import ASX_OPEN_2025


async def test_ib_async_connects_and_gets_every_startup_answer(gateway: OfflineGateway, connect: Any) -> None:
    notices: list[int] = []
    ib = IB()
    ib.errorEvent += lambda req_id, code, msg, contract: notices.append(code)
    # raiseSyncErrors: ib_async raises when a connect-time request is not answered with its end message
    # within the timeout, instead of logging it and carrying on
    await ib.connectAsync("127.0.0.1", gateway.port, clientId=7, timeout=10, raiseSyncErrors=True)
    try:
        assert ib.client.serverVersion() == 178
        assert ib.managedAccounts() == ["DU0000001"]
        assert ib.client._reqIdSeq >= 1  # nextValidId arrived
        assert {2104, 2106, 2158} <= set(notices)
        assert 2199 in notices, "the gateway identifies itself at connect (docs/gateway.md), before connect returns"
        # every connect-time request was answered with its end message (else connectAsync raised)
        assert ib.client.isReady()
        values = {(v.tag, v.currency): v.value for v in ib.accountValues()}
        assert values[("NetLiquidation", "AUD")] == "1000000.00"
        current = await ib.reqCurrentTimeAsync()
        assert current == ASX_OPEN_2025
    finally:
        ib.disconnect()


async def test_several_clients_connect_and_a_client_id_in_use_gets_326(gateway: OfflineGateway, connect: Any) -> None:
    first = await connect(gateway, 1)
    second = await connect(gateway, 2)
    assert first.isConnected() and second.isConnected()
    assert gateway.state()["clients"] == [1, 2]
    errors: list[int] = []
    clash = IB()
    clash.errorEvent += lambda req_id, code, msg, contract: errors.append(code)
    with pytest.raises((ConnectionError, TimeoutError, asyncio.TimeoutError)):
        await clash.connectAsync("127.0.0.1", gateway.port, clientId=1, timeout=0.5)
    assert 326 in errors
    assert first.isConnected()  # the holder of the id is untouched
    first.disconnect()
    await eventually(lambda: gateway.state()["clients"] == [2], what="the gateway to see client 1 leave")
    again = await connect(gateway, 1)  # the id is free once its holder left
    assert again.isConnected()


async def test_order_ids_are_per_client_and_continue_after_a_reconnect(gateway: OfflineGateway, connect: Any) -> None:
    ib = await connect(gateway, 3)
    assert ib.client.getReqId() >= 1
    from ib_async import LimitOrder, Stock

    [bhp] = await ib.qualifyContractsAsync(Stock("BHP", "ASX", "AUD"))
    trade = ib.placeOrder(bhp, LimitOrder("BUY", 100, 20.0))
    await eventually(lambda: trade.orderStatus.status == "Submitted")
    used = trade.order.orderId
    ib.disconnect()
    await eventually(lambda: gateway.state()["clients"] == [], what="the gateway to see client 3 leave")
    again = await connect(gateway, 3)
    assert again.client._reqIdSeq > used
    assert gateway.broker.next_valid_id(3) == used + 1
    assert gateway.broker.next_valid_id(4) == 1  # another client id keeps its own sequence


def _raw_client(port: int, version: int = 176, client_id: int = 50) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    versions = f"v157..{version}".encode()
    sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
    _read_messages(sock, 1)
    sock.sendall(encode_frame([71, 2, client_id, ""]))
    _read_messages(sock, 2)
    return sock


def _read_messages(sock: socket.socket, count: int, timeout: float = 3.0) -> list[list[str]]:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages, _ = split_frames(data)
        if len(messages) >= count:
            return messages
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return split_frames(data)[0]


def _read_until_closed(sock: socket.socket) -> list[list[str]]:
    data = b""
    sock.settimeout(3)
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return split_frames(data)[0]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (encode_frame([9999, 1]), 505),  # unknown message id
        (encode_frame([49]) + encode_frame([7, 3, 1]), 320),  # reqExecutions missing its filter fields
        (struct.pack(">I", 5) + b"\xff\xfe\xfd\xfc\x00", 320),  # not UTF-8
        (struct.pack(">I", 3) + b"abc", 320),  # last field not NUL-terminated
    ],
    ids=["unknown-id", "wrong-field-count", "not-utf8", "unterminated"],
)
async def test_bad_input_gets_ibs_error_drops_only_that_client(
    gateway: OfflineGateway, connect: Any, payload: bytes, code: int
) -> None:
    good = await connect(gateway, 1)
    sock = await asyncio.to_thread(_raw_client, gateway.port)
    try:
        sock.sendall(payload)
        answers = await asyncio.to_thread(_read_until_closed, sock)
    finally:
        sock.close()
    errors = [m for m in answers if m[0] == "4"]
    assert errors and errors[-1][3] == str(code), answers
    assert good.isConnected()
    assert await good.reqCurrentTimeAsync() == ASX_OPEN_2025  # the others are still served


async def test_a_client_vanishing_mid_message_and_a_garbage_handshake_are_survived(
    gateway: OfflineGateway, connect: Any
) -> None:
    sock = await asyncio.to_thread(_raw_client, gateway.port)
    sock.sendall(struct.pack(">I", 500) + b"3\x0012\x00")  # a frame announced as 500 bytes, cut short
    sock.close()
    junk = socket.create_connection(("127.0.0.1", gateway.port), timeout=3)
    junk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await asyncio.to_thread(_read_until_closed, junk) == []
    junk.close()
    ib = await connect(gateway, 2)
    assert await ib.reqCurrentTimeAsync() == ASX_OPEN_2025


async def test_a_request_before_start_api_is_refused_without_dropping(gateway: OfflineGateway) -> None:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=3)
    versions = b"v157..178"
    sock.sendall(b"API\0" + struct.pack(">I", len(versions)) + versions)
    [[version, _]] = await asyncio.to_thread(_read_messages, sock, 1)
    assert version == "178"
    sock.sendall(encode_frame([49, 1]))
    [error] = await asyncio.to_thread(_read_messages, sock, 1)
    assert error[:4] == ["4", "2", "-1", "321"] and "startApi" in error[4]
    sock.sendall(encode_frame([71, 2, 9, ""]) + encode_frame([49, 1]))
    answers = await asyncio.to_thread(_read_messages, sock, 8)  # 2 + 4 farm notices + identification + time
    assert ["49", "1", str(int(ASX_OPEN_2025.timestamp()))] in answers
    sock.close()
