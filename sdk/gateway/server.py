"""The offline IB Gateway: the TWS API server, its simulated clock and paper account, in one object.

Use it in-process (tests, the demo) as an async context manager::

    from sdk.gateway import GatewayConfig, OfflineGateway

    async with OfflineGateway(GatewayConfig(port=0, control_port=0, data_dir=Path("../shared/data"),
                                            speed=0)) as gw:
        ib = IB(); await ib.connectAsync("127.0.0.1", gw.port, clientId=1)
        gw.clock.advance(60)          # one simulated minute: fills, ticks, bar updates happen now
        gw.state()                    # the same dict as GET /state

or from the command line (``trader gateway``). Port 0 binds a free port and :attr:`OfflineGateway.port`
reports it. :meth:`OfflineGateway.restart` stops and starts again on the same ports, reloading the
account from the state file, as a nightly IB Gateway restart would. A new gateway process on an existing
state file resumes the simulated clock where it stopped (:func:`resume_start`): ``--start`` may move it
forward, and one earlier than the saved clock is an error.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sdk.calendars import get_calendar
from sdk.gateway.account import AccountSnapshot, snapshot
from sdk.gateway.broker import Broker
from sdk.gateway.clock import SimClock
from sdk.gateway.config import GatewayConfig
from sdk.gateway.control import ControlServer
from sdk.gateway.faults import Faults, parse_faults
from sdk.gateway.handlers import handlers
from sdk.gateway.handlers.connection import unsupported
from sdk.gateway.instruments import GatewayContract, InstrumentTable
from sdk.gateway.market import CatalogLike, MarketReplay
from sdk.gateway.messages import MAX_SERVER_VERSION, MIN_SERVER_VERSION, In
from sdk.gateway.notify import Notifier
from sdk.gateway.pacing import HistoricalPacer
from sdk.gateway.protocol import Fields, ProtocolError
from sdk.gateway.replay import Replay
from sdk.gateway.requests import VARIABLE_LAYOUTS, check_field_count, finish
from sdk.gateway.session import ClientSession, FatalRequest
from sdk.redaction import mask_account

__all__ = ["ListenError", "OfflineGateway"]

log = logging.getLogger("sdk.gateway")
_KNOWN_IDS = frozenset(int(m) for m in In)


class ListenError(OSError):
    """The gateway could not bind one of its ports: ``host``, ``port``, the CLI ``option`` and why."""

    def __init__(self, host: str, port: int, option: str, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(
            f"cannot listen on {host}:{port} ({reason}); another program may hold the port: "
            f"stop it or pass another {option} (0 picks a free one)"
        )
        self.errno = cause.errno
        self.host, self.port, self.option = host, port, option


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def resume_start(start: datetime | None, saved_clock: float | None, state_file: Path | None) -> datetime | None:
    """Where the simulated clock starts: the state file's saved clock, or ``start`` when it is not earlier.

    A gateway restarted on its state file resumes at the time it stopped (orders and fills in the file
    are never put before their own times); ``--start`` may move it forward, never back.

    Raises:
        ValueError: ``start`` is earlier than the saved clock; the message gives both and what to do.
    """
    if saved_clock is None:
        return start
    saved = datetime.fromtimestamp(saved_clock, UTC)
    if start is None:
        return saved
    if start < saved:
        raise ValueError(
            f"--start {start.isoformat()} is earlier than the clock saved in state file {state_file} "
            f"({saved.isoformat()}): the account's orders and fills would be in the future. Leave --start out "
            f"to resume at {saved.isoformat()}, give a later --start, or use another --state-file for a fresh account"
        )
    return start


def default_start(catalog: CatalogLike) -> datetime:
    """The open of the ASX session ten sessions before the end of the ASX data (any market if none)."""
    infos = list(catalog.instruments.values())
    asx = [i for i in infos if i.market == "ASX" and i.sec_type == "STK"] or infos
    if not asx:
        raise ValueError("the market data holds no instruments; there is nothing to replay")
    preferred = next((i for i in asx if i.symbol == "BHP/AUD"), None) or max(asx, key=lambda i: i.last)
    calendar = get_calendar(preferred.market)
    sessions = calendar.sessions(preferred.last - timedelta(days=60), preferred.last + timedelta(days=1))
    if not sessions:
        return preferred.last
    return sessions[max(0, len(sessions) - 10)].open


class OfflineGateway:
    """A TWS API server over replayed market data and a simulated paper account.

    Args:
        config: the gateway's settings (:class:`GatewayConfig`); the defaults serve the synthetic
            universe on 127.0.0.1:4002 with the control API on 4099.
        catalog: an already loaded :class:`sdk.data.Catalog` to replay (tests share one); by
            default :func:`sdk.data.load_catalog` loads ``config.data_dir`` at :meth:`start`.

    Attributes (after :meth:`start`):
        port, control_port: the bound ports. clock: the :class:`SimClock` (``now()``, ``advance()``,
        ``jump()``, ``speed``). instruments, market, broker, pacer, faults: the parts, for tests.
    """

    def __init__(self, config: GatewayConfig | None = None, *, catalog: CatalogLike | None = None) -> None:
        self.config = config or GatewayConfig()
        self.catalog: CatalogLike | None = catalog
        self.faults = Faults()
        self.faults.set(parse_faults(self.config.faults))
        self.pacer = HistoricalPacer(enabled=self.config.pacing)
        #: requests received since start, by TWS message name (``placeOrder`` counted even when refused)
        self.received: Counter[str] = Counter()
        self.port = self.config.port
        self.control_port: int | None = self.config.control_port
        self._clock: SimClock | None = None
        self._instruments: InstrumentTable | None = None
        self._market: MarketReplay | None = None
        self._broker: Broker | None = None
        self._sessions: dict[int, ClientSession] = {}
        self._clients: dict[int, ClientSession] = {}
        self._conn_ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._control: ControlServer | None = None
        self._replay: Replay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connection_tasks: set[asyncio.Task[None]] = set()
        self.notifier = Notifier(self)
        self.running = False

    # --- parts ----------------------------------------------------------------------------------
    @property
    def clock(self) -> SimClock:
        if self._clock is None:
            raise RuntimeError("the gateway is not started; use 'async with OfflineGateway(...)' or await start()")
        return self._clock

    @property
    def instruments(self) -> InstrumentTable:
        assert self._instruments is not None, "gateway not started"
        return self._instruments

    @property
    def market(self) -> MarketReplay:
        assert self._market is not None, "gateway not started"
        return self._market

    @property
    def broker(self) -> Broker:
        assert self._broker is not None, "gateway not started"
        return self._broker

    # --- lifecycle ------------------------------------------------------------------------------
    async def __aenter__(self) -> OfflineGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Load the data (first start only), restore the account, listen, and start the replay."""
        if self.running:
            return
        config = self.config
        if self.catalog is None:
            from sdk.data import load_catalog

            self.catalog = await asyncio.to_thread(load_catalog, config.data_dir, seed=config.seed)
        catalog = self.catalog
        assert catalog is not None
        if self._instruments is None:
            self._instruments = InstrumentTable(GatewayContract.from_source(i) for i in catalog.instruments.values())
            self._market = MarketReplay(catalog, self._instruments, seed=config.seed, tick_seconds=config.tick_seconds)
        self._broker = Broker(
            account=config.account, base_currency=config.base_currency, cash=dict(config.cash),
            instruments=self.instruments, market=self.market, listener=self.notifier, plan=config.commission_plan,
            gst=config.gst, participation=config.participation, state_file=config.state_file,
        )  # fmt: skip
        if self._clock is None:
            start = resume_start(config.start, self._broker.saved_clock, config.state_file)
            self._clock = SimClock(start or default_start(catalog), config.speed)
        self._broker.clock_fn = self._clock.timestamp
        self._broker.save()
        self._check_cash_rates()
        try:
            self._server = await asyncio.start_server(self._on_connect, config.host, self.port)
        except OSError as exc:
            raise ListenError(config.host, self.port, "--port", exc) from exc
        self.port = self._server.sockets[0].getsockname()[1]
        if config.control_port is not None:
            self._control = ControlServer(self)
            try:
                self.control_port = await self._control.start(config.host, self.control_port or 0)
            except OSError as exc:
                self._server.close()
                await self._control.stop()
                self._control = None
                raise ListenError(config.host, self.control_port or 0, "--control-port", exc) from exc
        self._replay = Replay(self)
        self._replay.start()
        self.running = True
        self._start_fault_tasks()
        self._log_start()

    async def stop(self) -> None:
        """Close every client, stop listening, charge pending commissions and write the state file."""
        if not self.running:
            return
        self.running = False
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self._replay is not None:
            await self._replay.stop()
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()):
            await session.close()
        if self._connection_tasks:
            await asyncio.wait(list(self._connection_tasks), timeout=2)
        if self._server is not None:
            await self._server.wait_closed()
        if self._control is not None:
            await self._control.stop()
            self._control = None
        self.notifier.settle_all()
        self.broker.save()
        log.info("offline IB gateway on port %d stopped", self.port)

    async def restart(self) -> None:
        """Stop and start again on the same ports; the account comes back from the state file (if any)."""
        await self.stop()
        await self.start()

    def _log_start(self) -> None:
        assert self.catalog is not None
        for line in self.catalog.summary():
            (log.warning if self.catalog.synthetic and line.startswith("market data") else log.info)(line)
        cash = ", ".join(f"{ccy}={amount}" for ccy, amount in self.broker.cash.items())
        log.info(
            "offline IB gateway listening on %s:%d (TWS API versions %d..%d)%s; %d instruments; account %s, "
            "base %s, cash %s",
            self.config.host, self.port, MIN_SERVER_VERSION, MAX_SERVER_VERSION,
            f", control API on http://{self.config.host}:{self.control_port}" if self._control else "",
            len(self.instruments), mask_account(self.config.account), self.config.base_currency, cash,
        )  # fmt: skip
        log.info(
            "simulated clock at %s, speed x%g%s; pacing %s; faults: %s",
            self.clock.now().isoformat(), self.clock.speed, " (paused)" if self.clock.speed == 0 else "",
            "on" if self.pacer.enabled else "off", self.faults.spec.to_dict() or "none",
        )  # fmt: skip

    def _check_cash_rates(self) -> None:
        now = self.clock.timestamp()
        for currency in self.broker.cash:
            try:
                self.market.fx_rate(currency, self.config.base_currency, now)
            except Exception as exc:
                log.error("cash in %s cannot be valued in %s: %s", currency, self.config.base_currency, exc)

    # --- connections ------------------------------------------------------------------------------
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.take_refusal():
            log.warning("fault refuse_next: refused a connection from %s", writer.get_extra_info("peername"))
            writer.close()
            return
        session = ClientSession(self, reader, writer, next(self._conn_ids))
        self._sessions[session.conn_id] = session
        task = asyncio.current_task()
        if task is not None:
            self._connection_tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._connection_tasks.discard(task)

    def sessions(self) -> Iterator[ClientSession]:
        """Every connected client that has started the API."""
        return iter([s for s in self._clients.values() if not s.closed])

    def register_client(self, session: ClientSession, client_id: int) -> bool:
        """Claim ``client_id`` for ``session``; False when another live connection holds it (error 326)."""
        holder = self._clients.get(client_id)
        if holder is not None and not holder.closed:
            log.warning("client id %d is already connected (%r): error 326 to %s", client_id, holder, session.peer)
            return False
        session.client_id = client_id
        self._clients[client_id] = session
        log.info("client %r started the API", session)
        return True

    def session_closed(self, session: ClientSession) -> None:
        self._sessions.pop(session.conn_id, None)
        if session.client_id is not None and self._clients.get(session.client_id) is session:
            del self._clients[session.client_id]

    def drop_all_clients(self, reason: str) -> int:
        """Close every client connection (faults, tests); returns how many were closed."""
        sessions = list(self._sessions.values())
        for session in sessions:
            log.warning("closing %r (%s)", session, reason)
            asyncio.get_running_loop().create_task(session.close())
        return len(sessions)

    async def dispatch(self, session: ClientSession, fields: list[str]) -> None:
        """Run the handler of one request.

        An unknown message id is 505; a wrong field count is 320 before the handler runs (fixed layouts,
        :func:`sdk.gateway.requests.check_field_count`) or once its reader has read the whole message
        (variable layouts); both drop the client. A request before startApi is refused with 321.
        """
        msg_id = int(fields[0])
        if msg_id not in _KNOWN_IDS:
            raise FatalRequest(505, f"message id {msg_id}")
        self.received[_request_name(msg_id)] += 1
        check_field_count(fields, session.version)
        if session.client_id is None and msg_id != In.START_API:
            session.error(-1, 321, f"request {In(msg_id).name} before startApi; send startApi first")
            return
        handler = handlers().get(msg_id, unsupported)
        cursor = Fields(fields)
        try:
            result = handler(session, cursor)
            if result is not None:
                await result
            if msg_id in VARIABLE_LAYOUTS:
                finish(cursor)
        except (ProtocolError, FatalRequest):
            raise
        except Exception:
            log.exception("request %s from %r failed", In(msg_id).name, session)
            session.error(-1, 322, f"{In(msg_id).name} failed in the offline gateway (its log has the details)")

    # --- account --------------------------------------------------------------------------------
    def account_snapshot(self) -> AccountSnapshot:
        """Every account value at the simulated now."""
        return snapshot(self.broker, self.clock.timestamp())

    # --- faults -----------------------------------------------------------------------------------
    def set_faults(self, spec: str | dict[str, Any]) -> dict[str, Any]:
        """Replace the faults in force (``""`` clears them); returns ``GET /faults``'s dict.

        Raises:
            ValueError: a malformed spec (nothing changes).
        """
        parsed = parse_faults(spec)
        self.faults.set(parsed)
        log.warning("faults set: %s", parsed.to_dict() or "none")
        if self.running:
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()
            self._start_fault_tasks()
        return self.faults.state()

    def _start_fault_tasks(self) -> None:
        loop = asyncio.get_running_loop()
        spec = self.faults.spec
        if spec.drop_every:
            self._tasks.append(loop.create_task(self._drop_every(spec.drop_every)))
        if spec.farm_flap:
            self._tasks.append(loop.create_task(self._farm_flap(spec.farm_flap)))

    async def _drop_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            if self.drop_all_clients(f"fault drop_every={seconds:g}"):
                log.warning("fault drop_every: dropped every client")

    async def _farm_flap(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            code = self.faults.next_restore_code()
            sessions = list(self.sessions())
            for session in sessions:
                session.connectivity_lost = True
                session.error(-1, 1100)
            await asyncio.sleep(min(1.0, seconds / 4))
            for session in sessions:
                if code == 1101:
                    session.mkt.clear()
                    session.live_bars.clear()
                session.connectivity_lost = False
                session.error(-1, code)
            log.warning("fault farm_flap: sent 1100 then %d to %d client(s)", code, len(sessions))

    # --- state ------------------------------------------------------------------------------------
    def clock_state(self) -> dict[str, Any]:
        """``GET /clock``: ``{"now": ISO 8601 UTC, "speed": simulated seconds per wall second}``."""
        return {"now": self.clock.now().isoformat(), "speed": self.clock.speed}

    def state(self) -> dict[str, Any]:
        """``GET /state``: clock, orders, executions, positions, cash, and the gateway's counters."""
        broker = self.broker
        orders = [
            {
                "orderId": o.order_id, "clientId": o.client_id, "permId": o.perm_id, "orderRef": o.order_ref,
                "symbol": o.symbol, "action": o.action, "totalQuantity": float(o.total_quantity),
                "orderType": o.order_type, "lmtPrice": float(o.lmt_price) if o.lmt_price is not None else None,
                "auxPrice": float(o.aux_price) if o.aux_price is not None else None, "tif": o.tif,
                "status": o.status, "filled": float(o.filled), "avgFillPrice": float(o.avg_fill_price),
                "parentId": o.parent_id, "ocaGroup": o.oca_group,
            }
            for o in broker.orders.values()
        ]  # fmt: skip
        executions = [
            {
                "execId": e.exec_id, "orderId": e.order_id, "clientId": e.client_id, "permId": e.perm_id,
                "orderRef": e.order_ref, "symbol": e.symbol, "side": e.side, "shares": float(e.shares),
                "price": float(e.price), "time": _iso(e.time), "liquidity": "maker" if e.liquidity == 1 else "taker",
                "commission": float(e.commission) if e.commission is not None else None,
                "commissionCurrency": e.commission_currency or None,
            }
            for e in broker.executions
        ]  # fmt: skip
        positions = [
            {"symbol": p.symbol, "conId": p.con_id, "position": float(p.quantity), "avgCost": float(p.avg_cost),
             "realizedPnL": float(p.realized_pnl)}
            for p in broker.positions.values()
            if p.quantity != 0
        ]  # fmt: skip
        return {
            "clock": self.clock.now().isoformat(),
            "speed": self.clock.speed,
            "account": mask_account(self.config.account),
            "base_currency": self.config.base_currency,
            "orders": orders,
            "executions": executions,
            "positions": positions,
            "cash": {ccy: float(amount) for ccy, amount in broker.cash.items()},
            "clients": sorted(s.client_id for s in self.sessions() if s.client_id is not None),
            "pacing": self.pacer.state(),
            "received": dict(sorted(self.received.items())),
            "faults": self.faults.state(),
            "synthetic": bool(self.catalog.synthetic) if self.catalog is not None else None,
        }

    def cash(self, currency: str) -> Decimal:
        """The cash balance in ``currency`` (exact)."""
        return self.broker.cash.get(currency, Decimal(0))


def _request_name(msg_id: int) -> str:
    """TWS's name of a request message id: ``In.PLACE_ORDER`` -> ``placeOrder``."""
    head, *rest = In(msg_id).name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)
