"""One API client connection: handshake, the request loop, answers (delayed by the ``delay_ms`` fault).

IB's connection sequence (``../shared/docs/ib-reference.md``): ``API\\0`` and a version range; one
frame ``[serverVersion, connectionTime]``; then the client's ``startApi``. Every later frame is a
request, dispatched by message id (:meth:`sdk.gateway.server.OfflineGateway.dispatch`). A malformed frame or a request
with the wrong field count is answered with error 320, an unknown message id with 505, and only
this client is dropped; a client that vanishes mid-message is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sdk.gateway import answers
from sdk.gateway.messages import MAX_SERVER_VERSION, MIN_SERVER_VERSION
from sdk.gateway.protocol import ProtocolError, encode_frame, read_frame, read_handshake

if TYPE_CHECKING:
    from sdk.gateway.server import OfflineGateway

__all__ = ["ClientSession", "FatalRequest", "LiveBars", "MarketSubscription"]

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0


def _is_message_id(text: str) -> bool:
    """A plain ASCII integer of at most 9 digits (``int`` also reads "٣" and fails on 5,000 digits)."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit() and len(digits) <= 9


class FatalRequest(Exception):
    """A request after which IB drops the client: ``code`` is the error sent first (505, 320)."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{code} {detail}")
        self.code = code
        self.detail = detail


@dataclass
class MarketSubscription:
    """A ``reqMktData`` stream and what was last sent on it (to send changes only)."""

    req_id: int
    symbol: str
    generic_ticks: str
    sent: dict[int, Any] = field(default_factory=dict)
    frozen: bool | None = None


@dataclass
class LiveBars:
    """A ``keepUpToDate`` historical subscription; ``last_label`` is the newest bar sent (epoch s)."""

    req_id: int
    symbol: str
    bar_label: str
    what_to_show: str
    use_rth: bool
    format_date: int
    last_label: float
    last_values: tuple[float, ...] = ()
    bar_end: float | None = None
    idle_until: float | None = None


class ClientSession:
    """One connected API client (see the module docstring)."""

    def __init__(
        self, gw: OfflineGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn_id: int
    ) -> None:
        self.gw = gw
        self.reader = reader
        self.writer = writer
        self.conn_id = conn_id
        self.version = 0
        self.client_id: int | None = None
        self.closed = False
        self.connectivity_lost = False
        self.mkt: dict[int, MarketSubscription] = {}
        self.live_bars: dict[int, LiveBars] = {}
        self.scanners: set[int] = set()
        self.account_updates = False
        self.account_multi: set[int] = set()
        self.summaries: dict[int, tuple[str, ...]] = {}
        self.positions_subscribed = False
        self.positions_multi: set[int] = set()
        self.pnl: dict[int, str] = {}
        self.auto_open_orders = False
        self.market_data_type = 1
        self._queue: deque[tuple[float, bytes]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    @property
    def ready(self) -> bool:
        """True after ``startApi`` was accepted."""
        return self.client_id is not None and not self.closed

    def __repr__(self) -> str:
        return f"<ClientSession #{self.conn_id} clientId={self.client_id} v{self.version} {self.peer}>"

    # --- writing ------------------------------------------------------------------------------
    def send(self, fields: Sequence[Any]) -> None:
        """Send one message (held back ``delay_ms`` when that fault is set)."""
        self._write(encode_frame(fields))

    def send_many(self, messages: Iterable[Sequence[Any]]) -> None:
        """Send several messages in one write."""
        data = b"".join(encode_frame(m) for m in messages)
        if data:
            self._write(data)

    def send_frame(self, frame: bytes) -> None:
        """Send an already framed message (see :func:`sdk.gateway.protocol.encode_frame`)."""
        self._write(frame)

    def error(self, req_id: int, code: int, detail: str = "", *, exact: bool = False) -> None:
        """Send IB error ``code`` for request ``req_id`` (-1: not about a request).

        ``detail`` is appended to TWS's text for the code, or is the whole text when ``exact``.
        """
        self.send(answers.error(req_id, code, detail, version=self.version or MAX_SERVER_VERSION, exact=exact))

    def _write(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            return
        delay = self.gw.faults.spec.delay_ms / 1000
        if delay <= 0 and not self._queue:
            self.writer.write(data)
            return
        loop = asyncio.get_running_loop()
        self._queue.append((loop.time() + delay, data))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_delayed())

    async def _flush_delayed(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue and not self.closed:
            due, data = self._queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._queue.popleft()
            if not self.writer.is_closing():
                self.writer.write(data)

    # --- reading ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve this client until it leaves or is dropped."""
        try:
            low, high, _options = await asyncio.wait_for(read_handshake(self.reader), HANDSHAKE_TIMEOUT)
            if high < MIN_SERVER_VERSION or low > MAX_SERVER_VERSION:
                log.warning(
                    "client %s offers API versions %d..%d; this gateway speaks %d..%d: dropped",
                    self.peer, low, high, MIN_SERVER_VERSION, MAX_SERVER_VERSION,
                )  # fmt: skip
                return
            self.version = min(high, MAX_SERVER_VERSION)
            now = datetime.fromtimestamp(self.gw.clock.timestamp(), UTC)
            self._write(encode_frame([self.version, now.strftime("%Y%m%d %H:%M:%S UTC")]))
            while not self.closed:
                fields = await read_frame(self.reader)
                if not fields or not _is_message_id(fields[0]):
                    raise ProtocolError(f"message id {fields[0][:20] if fields else ''!r} is not a number")
                await self.gw.dispatch(self, fields)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                log.warning("client %r vanished mid-message (%d bytes of a frame): dropped", self, len(exc.partial))
            else:
                log.info("client %r disconnected", self)
        except TimeoutError:
            log.warning("client %s sent no handshake within %.0f s: dropped", self.peer, HANDSHAKE_TIMEOUT)
        except ProtocolError as exc:
            log.warning("client %r sent a malformed request (%s): error 320, dropped", self, exc)
            if self.version:
                self.error(-1, 320, str(exc))
        except FatalRequest as exc:
            log.warning("client %r: error %d %s; dropped", self, exc.code, exc.detail)
            self.error(-1, exc.code, exc.detail)
        except (ConnectionError, OSError) as exc:
            log.info("client %r connection lost: %s", self, exc)
        finally:
            await self.close()

    async def close(self) -> None:
        """Drop the connection (pending delayed answers are discarded)."""
        if self.closed:
            return
        self.closed = True
        self.gw.session_closed(self)
        if self._flusher is not None:
            self._flusher.cancel()
        try:
            if not self.writer.is_closing():
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (ConnectionError, OSError, TimeoutError):
            pass
