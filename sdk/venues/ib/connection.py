"""The IB session: live-trading guard, client-id lease, heartbeat, health, reconnection and resync.

What it solves (the complaints every IB integration collects):

* ``clientId already in use`` (326) loops: :class:`ClientIdLease` takes the next free id of the
  configured range (``IB_CLIENT_ID`` .. ``IB_CLIENT_ID_MAX``) instead of retrying the same one;
  with a single configured id it backs off and retries, because 326 after a drop usually means the
  gateway still holds the dead session for a while.
* The nightly gateway restart, a dropped socket or a heartbeat that stops answering: the session
  reconnects with exponential backoff and jitter (tenacity), then runs every resync hook in order
  (market-data streams, keepUpToDate bar series, then order/execution reconciliation) before it
  declares itself ready again. ib_async's start-up synchronisation (positions, open and completed
  orders, account updates, executions) must complete (``raiseSyncErrors``): a session whose
  start-up answers timed out is dropped and opened again rather than used half-synchronised.
* Each resync step runs on its own: a step that fails (a bar series IB refuses, order lists that did
  not arrive in time) is logged, named in the health detail (``degraded``), reported as a
  ``resync_failed`` event and retried with backoff until it succeeds; the other steps, order
  reconciliation above all, still run, and the session never gives up reconnecting because of one.
* IB's connectivity notices: 1100 degrades health; 1101 ("restored, data lost") re-runs the
  data hooks; 1102 restores; farm notices 2103/2105/2157 degrade and 2104/2106/2158 restore.

Live trading is refused unless ``IB_ALLOW_LIVE=true``: the live ports (7496 TWS, 4001 IB Gateway),
``IB_PAPER=false`` and any managed account that is not a paper account (:data:`PAPER_ACCOUNT_PREFIXES`:
``DU…``, ``DF…``) all stop here. Facts that disagree (``IB_PAPER=true`` on a ``U…`` account) are refused
even with ``IB_ALLOW_LIVE=true`` (:func:`sdk.venues.mode.ib_mode`), and the session notes whether the gateway
identified itself as the offline one (:attr:`IBConnection.offline_gateway`).

Events for a health circuit (the runner's HealthCircuitManager) are :class:`ConnectivityEvent`
values delivered to listeners registered with :meth:`IBConnection.add_listener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from ib_async import IB
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, stop_never, wait_exponential_jitter

from sdk.clock import Clock, SystemClock
from sdk.errors import ExchangeNotAvailable, LiveTradingNotAllowed, NetworkError, RequestTimeout
from sdk.redaction import mask_account
from sdk.settings import LIVE_IB_PORTS, Settings, SettingsError
from sdk.venues.ib import notices
from sdk.venues.ib.parsing import (
    CONNECTIVITY_LOST,
    CONNECTIVITY_RESTORED_DATA_KEPT,
    CONNECTIVITY_RESTORED_DATA_LOST,
    FARM_DOWN,
    FARM_OK,
    is_informational,
)
from sdk.venues.mode import PAPER_ACCOUNT_PREFIXES, ib_mode, is_offline_gateway_notice

__all__ = [
    "PAPER_ACCOUNT_PREFIXES",
    "Backoff",
    "ClientIdInUse",
    "ClientIdLease",
    "ConnectivityEvent",
    "Health",
    "IBConnection",
    "ResyncReason",
    "check_live_allowed",
]

log = logging.getLogger(__name__)

ResyncReason = Literal["connect", "reconnect", "data_lost"]
ResyncHook = Callable[[ResyncReason], Awaitable[None]]
Listener = Callable[["ConnectivityEvent"], None]
#: ``(answer, started, ended)``: one ``reqCurrentTime`` answer and the ``time.monotonic()`` span of its request.
TimeListener = Callable[[datetime, float, float], None]


class Health(StrEnum):
    """The session's health, as a health circuit reads it."""

    CONNECTING = "connecting"
    HEALTHY = "healthy"
    DEGRADED = "degraded"  # socket up, but IB lost (1100), a data farm down, or heartbeats missed
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectivityEvent:
    """One change in connectivity.

    ``kind``: ``connected`` (first session ready), ``disconnected`` (socket lost), ``reconnecting``
    (an attempt starts; ``attempt`` counts them), ``reconnected`` (socket and account back),
    ``resynced`` (every resync step succeeded -- streams resubscribed and orders reconciled: safe
    to trade; ``detail`` is the reason, ``connect``/``reconnect``/``data_lost``, also when a retried
    step completes a resync late), ``resync_failed`` (the session is up but a step failed; ``detail``
    names the steps; they are retried), ``health`` (health changed without a reconnect),
    ``data_lost`` (IB 1101: streams requested again), ``client_id`` (the lease moved to another id
    after 326), ``closed``. ``at``: the venue's time (the session's clock), epoch seconds.
    """

    kind: str
    health: Health
    client_id: int | None
    at: float
    detail: str = ""
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect waits: exponential from ``initial`` seconds, capped at ``maximum``, plus up to ``jitter``.

    ``max_attempts`` None retries until :meth:`IBConnection.close` (a nightly restart can take minutes).
    """

    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5
    max_attempts: int | None = None


class ClientIdInUse(ExchangeNotAvailable):
    """IB error 326: the client id is held by another session."""


def is_paper_account(account: str) -> bool:
    """True for an IB paper account number (:data:`PAPER_ACCOUNT_PREFIXES`; IB sends them upper case)."""
    return account.startswith(PAPER_ACCOUNT_PREFIXES)


def check_live_allowed(settings: Settings, port: int, account: str | None = None) -> None:
    """Refuse live trading unless ``IB_ALLOW_LIVE=true``.

    Raises:
        LiveTradingNotAllowed: a live port (7496, 4001), ``IB_PAPER=false``, or a non-paper account
            (IB paper accounts start with ``DU``, FA paper masters with ``DF``:
            :data:`PAPER_ACCOUNT_PREFIXES`), while ``IB_ALLOW_LIVE`` is false.
    """
    if settings.ib_allow_live:
        return
    if port in LIVE_IB_PORTS:
        raise LiveTradingNotAllowed(
            f"IB_PORT={port} is a live-trading port (7496 TWS, 4001 IB Gateway); use a paper port "
            "(7497 TWS, 4002 IB Gateway) or set IB_ALLOW_LIVE=true to trade live"
        )
    if not settings.ib_paper:
        raise LiveTradingNotAllowed("IB_PAPER=false selects live trading; set IB_ALLOW_LIVE=true to allow it")
    if account and not is_paper_account(account):
        raise LiveTradingNotAllowed(
            f"account {mask_account(account)} is a live account (paper accounts start with DU, FA paper with DF); "
            "connect to a paper gateway or set IB_ALLOW_LIVE=true to trade live"
        )


class ClientIdLease:
    """The client ids this process may use: ``first`` .. ``last`` inclusive.

    :meth:`candidates` lists them starting from the id held last (so a reconnect keeps its orders'
    owner when it can), then the rest of the range in order. ``history`` records every id held.
    """

    def __init__(self, first: int, last: int | None = None) -> None:
        self.first = first
        self.last = first if last is None else last
        if self.last < self.first:
            raise SettingsError(f"IB_CLIENT_ID_MAX ({self.last}) must be >= IB_CLIENT_ID ({self.first})")
        self.current: int | None = None
        self.history: list[int] = []

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def candidates(self) -> list[int]:
        """Ids to try, the one held last first."""
        ids = list(range(self.first, self.last + 1))
        if self.current is not None and self.current in ids:
            ids.remove(self.current)
            ids.insert(0, self.current)
        return ids

    def take(self, client_id: int) -> None:
        """Record that ``client_id`` is now held."""
        self.current = client_id
        if not self.history or self.history[-1] != client_id:
            self.history.append(client_id)


@dataclass(frozen=True, slots=True)
class _StepFailure:
    reason: ResyncReason
    error: str


@dataclass(slots=True)
class _State:
    health: Health = Health.DISCONNECTED
    ib_lost: bool = False
    farms_down: set[str] = field(default_factory=set)
    heartbeat_misses: int = 0
    last_heartbeat: float | None = None  # wall clock of the last answered heartbeat
    server_time: datetime | None = None  # IB's reqCurrentTime answer at last_heartbeat
    reconnects: int = 0
    failed_steps: dict[str, _StepFailure] = field(default_factory=dict)  # resync step -> why (retried)


_RETRYABLE = (ConnectionError, OSError, asyncio.TimeoutError, NetworkError)


class IBConnection:
    """One IB API session that keeps itself alive.

    Args:
        settings: ``IB_HOST``, ``IB_PORT``, ``IB_CLIENT_ID``/``IB_CLIENT_ID_MAX``, ``IB_ACCOUNT_ID``,
            ``IB_PAPER``, ``IB_ALLOW_LIVE``, ``IB_CONNECT_TIMEOUT``, ``IB_HEARTBEAT_INTERVAL``.
        client_id: overrides ``IB_CLIENT_ID`` (the MCP server uses ``MCP_IB_CLIENT_ID``).
        client_id_max: overrides ``IB_CLIENT_ID_MAX`` (end of the lease range).
        backoff: reconnect timing.
        heartbeat_interval: seconds between ``reqCurrentTime`` heartbeats (default from settings).
        port: overrides ``IB_PORT`` (tests point it at an offline gateway on port 0's pick).
        clock: the venue's time, which stamps :class:`ConnectivityEvent` (default the wall clock).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: int | None = None,
        client_id_max: int | None = None,
        backoff: Backoff | None = None,
        heartbeat_interval: float | None = None,
        host: str | None = None,
        port: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.host = host or settings.ib_host
        self.port = port or settings.ib_port
        first = settings.ib_client_id if client_id is None else client_id
        last = client_id_max
        if last is None and client_id is None:
            last = settings.ib_client_id_max
        self.lease = ClientIdLease(first, last)
        self.backoff = backoff or Backoff()
        self.heartbeat_interval = heartbeat_interval or settings.ib_heartbeat_interval
        self.timeout = settings.ib_connect_timeout
        self.ib = IB()
        self.ib.RaiseRequestErrors = True
        notices.install()  # IB's expected answers (202 after our cancel, ...) are not ERROR lines
        self.account: str | None = None
        #: the session saw the offline gateway's identification notice (:mod:`sdk.venues.mode`)
        self.offline_gateway = False
        self._state = _State()
        self._listeners: list[Listener] = []
        self._time_listeners: list[TimeListener] = []
        self._hooks: list[tuple[str, ResyncHook, frozenset[ResyncReason]]] = []
        self._ready = asyncio.Event()
        self._closing = False
        self._connecting = False  # inside connectAsync: its own disconnects are not drops
        self._opening = False  # inside a session opening: the opener retries, no second reconnect
        self._reconnect_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._data_lost_task: asyncio.Task[None] | None = None
        self._step_retry_task: asyncio.Task[None] | None = None
        self._epoch = 0
        self._time_lock = asyncio.Lock()
        self.ib.disconnectedEvent += self._on_disconnected
        self.ib.errorEvent += self._on_error

    # --- observation ----------------------------------------------------------------------
    @property
    def health(self) -> Health:
        """Current :class:`Health`."""
        return self._state.health

    @property
    def client_id(self) -> int | None:
        """The client id currently held (None before the first connect)."""
        return self.lease.current

    @property
    def is_ready(self) -> bool:
        """Connected and resynced: requests may be sent."""
        return self._ready.is_set() and self.ib.isConnected()

    @property
    def server_time(self) -> datetime | None:
        """IB's time at the last answered heartbeat (``reqCurrentTime``), timezone-aware UTC."""
        return self._state.server_time

    @property
    def reconnects(self) -> int:
        """How many times the session has been re-established."""
        return self._state.reconnects

    @property
    def resync_epoch(self) -> int:
        """Counts resync runs (each connect, reconnect and 1101), not the retries of a failed step.

        A hook marks what it renewed with the epoch, so a retry renews only what is still missing.
        """
        return self._epoch

    @property
    def failed_steps(self) -> dict[str, str]:
        """Resync steps that failed and are being retried: step name -> the error."""
        return {name: failure.error for name, failure in self._state.failed_steps.items()}

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on every :class:`ConnectivityEvent`; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def add_time_listener(self, listener: TimeListener) -> None:
        """Call ``listener(answer, started, ended)`` with every ``reqCurrentTime`` answer (heartbeats, ``fetch_time``
        and the one read when a session opens, before its resync hooks), e.g. a venue clock's ``observe``."""
        self._time_listeners.append(listener)

    def add_resync_hook(
        self,
        name: str,
        hook: ResyncHook,
        reasons: frozenset[ResyncReason] = frozenset({"connect", "reconnect"}),
    ) -> None:
        """Run ``hook(reason)`` after each (re)connect, in registration order, before the session is ready.

        ``reasons`` selects when: ``connect`` (first session), ``reconnect``, ``data_lost`` (IB 1101).
        A hook that raises does not stop the others: it is logged, degrades health and is called
        again (same reason) with backoff until it succeeds, so it must be safe to call twice
        (see :attr:`resync_epoch`).
        """
        self._hooks.append((name, hook, reasons))

    def _emit(self, kind: str, detail: str = "", attempt: int = 0) -> None:
        event = ConnectivityEvent(kind, self._state.health, self.lease.current, self.clock.now(), detail, attempt)
        log.info("connectivity %s", kind, extra={"health": str(event.health), "clientId": event.client_id})
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("connectivity listener failed", extra={"kind": kind})

    def _set_health(self, health: Health, detail: str = "") -> None:
        if health != self._state.health:
            self._state.health = health
            self._emit("health", detail)

    def _refresh_health(self) -> None:
        s = self._state
        if s.health in (Health.CLOSED, Health.DISCONNECTED, Health.RECONNECTING, Health.CONNECTING):
            return
        degraded = s.ib_lost or bool(s.farms_down) or s.heartbeat_misses > 0 or bool(s.failed_steps)
        reasons = []
        if s.ib_lost:
            reasons.append("IB connectivity lost (1100)")
        if s.farms_down:
            reasons.append(f"farms down: {', '.join(sorted(s.farms_down))}")
        if s.heartbeat_misses:
            reasons.append(f"{s.heartbeat_misses} heartbeat(s) missed")
        for name, failure in s.failed_steps.items():
            reasons.append(f"resync step {name!r} failed ({failure.error}); retrying")
        self._set_health(Health.DEGRADED if degraded else Health.HEALTHY, "; ".join(reasons))

    # --- lifecycle ------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the session (lease, live guard, resync hooks) and start the heartbeat. Idempotent.

        Raises:
            LiveTradingNotAllowed: live port, ``IB_PAPER=false`` or a live account without ``IB_ALLOW_LIVE``.
            SettingsError: ``IB_ACCOUNT_ID`` is not an account the gateway manages; ``ModeConflict`` when
                ``IB_PAPER``, the port and the account disagree (:func:`sdk.venues.mode.ib_mode`).
            ExchangeNotAvailable: every client id of the lease is in use.
            NetworkError: the gateway cannot be reached (after the connect timeout).
        """
        if self.is_ready:
            return
        check_live_allowed(self.settings, self.port)
        ib_mode(self.settings, port=self.port)
        self._closing = False
        self._state.health = Health.CONNECTING
        try:
            await self._retrying(self._open_session, "connect", attempts=3)
        except BaseException:
            self._state.health = Health.DISCONNECTED
            raise
        if self._heartbeat_task is None or self._heartbeat_task.done():
            self._heartbeat_task = asyncio.ensure_future(self._heartbeat())

    async def close(self) -> None:
        """Stop the heartbeat and any reconnect, then disconnect. Idempotent."""
        self._closing = True
        self._ready.clear()
        for task in (self._heartbeat_task, self._reconnect_task, self._data_lost_task, self._step_retry_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.ib.isConnected():
            self.ib.disconnect()
        if self._state.health != Health.CLOSED:
            self._state.health = Health.CLOSED
            self._emit("closed")

    async def ensure_ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - a bound, not a cancel scope
        """Wait until the session is connected and resynced.

        Raises:
            NetworkError: not ready within ``timeout`` seconds (default ``IB_CONNECT_TIMEOUT``), or closed.
        """
        if self.is_ready:
            return
        if self._closing:
            raise NetworkError("IB session is closed; create a new trader or call connect()")
        if not self._opening and (self._reconnect_task is None or self._reconnect_task.done()):
            self._start_reconnect("not connected")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout or self.timeout)
        except TimeoutError:
            raise NetworkError(
                f"IB gateway at {self.host}:{self.port} is not connected (health {self.health}); "
                "the session keeps reconnecting in the background, retry later"
            ) from None

    async def maybe_reconnect(self) -> bool:
        """Health-circuit hook: reconnect now if the session is down or silent; True when ready after.

        A session that looks up but has missed heartbeats is probed once with ``reqCurrentTime``;
        if that fails too the socket is dropped and a reconnect starts.
        """
        if self._closing:
            return False
        if self.is_ready and self._state.heartbeat_misses == 0:
            return True
        if self.is_ready:
            try:
                await self.current_time()
                return True
            except (NetworkError, RequestTimeout):
                self.ib.disconnect()  # fires disconnectedEvent -> reconnect
        elif not self._opening and (self._reconnect_task is None or self._reconnect_task.done()):
            self._start_reconnect("maybe_reconnect")
        try:
            await asyncio.wait_for(self._ready.wait(), self.timeout)
        except TimeoutError:
            return False
        return self.is_ready

    async def current_time(self) -> datetime:
        """IB's current time (``reqCurrentTime``; one-second resolution), timezone-aware UTC.

        Raises:
            RequestTimeout: no answer within the heartbeat interval.
            NetworkError: not connected.
        """
        if not self.ib.isConnected():
            raise NetworkError("IB gateway is not connected")
        async with self._time_lock:  # ib_async keys reqCurrentTime by a fixed name: one at a time
            started = time.monotonic()
            try:
                answer = await asyncio.wait_for(self.ib.reqCurrentTimeAsync(), self.heartbeat_interval)
            except TimeoutError:
                raise RequestTimeout(f"IB did not answer reqCurrentTime within {self.heartbeat_interval} s") from None
            except ConnectionError as exc:
                raise NetworkError(f"IB connection lost: {exc}") from exc
            ended = time.monotonic()
        self._state.server_time = answer
        self._state.last_heartbeat = time.time()
        for listener in list(self._time_listeners):
            listener(answer, started, ended)
        return answer

    # --- session --------------------------------------------------------------------------
    async def _retrying(
        self, call: Callable[[ResyncReason], Awaitable[None]], reason: ResyncReason, attempts: int | None
    ) -> None:
        b = self.backoff
        limit = attempts or b.max_attempts
        stop = stop_after_attempt(limit) if limit else stop_never
        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=b.initial, max=b.maximum, jitter=b.jitter),
            retry=retry_if_exception_type(_RETRYABLE),
            stop=stop,
            reraise=True,
        )
        number = 0
        async for attempt in retrying:
            with attempt:
                number += 1
                if self._closing:
                    return
                if reason == "reconnect":
                    self._emit("reconnecting", attempt=number)
                await call(reason)

    async def _open_session(self, reason: ResyncReason) -> None:
        self._opening = True
        try:
            await self._open_session_inner(reason)
        finally:
            self._opening = False

    async def _open_session_inner(self, reason: ResyncReason) -> None:
        self._ready.clear()
        self._connecting = True
        try:
            await self._lease_and_connect()
        finally:
            self._connecting = False
        try:
            self._choose_account()
        except BaseException:
            self.ib.disconnect()
            raise
        with contextlib.suppress(RequestTimeout, NetworkError):  # the heartbeat will notice a silent session
            await self.current_time()  # the venue's time, before anything of this session is stamped
        s = self._state
        s.ib_lost, s.heartbeat_misses = False, 0
        s.farms_down.clear()
        s.health = Health.HEALTHY
        self._emit("connected" if reason == "connect" else "reconnected")
        await self._run_hooks(reason)
        if not self.ib.isConnected():
            raise ConnectionError("IB connection dropped during resync")
        self._ready.set()
        self._refresh_health()
        self._resync_finished(reason)

    async def _lease_and_connect(self) -> None:
        candidates = self.lease.candidates()
        in_use: list[int] = []
        for client_id in candidates:
            try:
                await self._connect_once(client_id)
            except ClientIdInUse:
                in_use.append(client_id)
                log.warning("client id in use (IB 326)", extra={"clientId": client_id})
                continue
            previous = self.lease.current
            self.lease.take(client_id)
            if previous is not None and previous != client_id:
                self._emit("client_id", detail=f"client id {previous} was in use; now {client_id}")
            return
        ids = ", ".join(str(i) for i in in_use)
        raise ClientIdInUse(
            f"every client id of the lease is in use (IB 326: {ids}); stop the other API client, "
            "or widen the range with IB_CLIENT_ID_MAX"
        )

    async def _connect_once(self, client_id: int) -> None:
        loop = asyncio.get_running_loop()
        refused: asyncio.Future[str] = loop.create_future()
        closed: asyncio.Future[str] = loop.create_future()

        def on_error(req_id: int, code: int, message: str, contract: Any) -> None:
            if code == 326 and not refused.done():
                refused.set_result(message)
            if is_offline_gateway_notice(code, message):
                self.offline_gateway = True

        def on_closed(message: str) -> None:
            # The peer closed the socket during the handshake: ib_async would wait out its timeout.
            if not closed.done():
                closed.set_result(message or "closed during the handshake")

        socket = self.ib.client.conn
        if socket.transport is not None:  # the previous socket is still closing: let it finish first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(socket.disconnected, 1.0)
        self.offline_gateway = False  # this session's own notice decides
        self.ib.errorEvent += on_error
        socket.disconnected += on_closed
        connecting = asyncio.ensure_future(
            self.ib.connectAsync(
                self.host,
                self.port,
                clientId=client_id,
                timeout=self.timeout,
                account=self.settings.ib_account_id or "",
                # a start-up request that timed out (open or completed orders, executions...) fails
                # the attempt, which is retried on a fresh socket: reconciliation never starts from
                # half the orders, nor shares the socket with an answer still on its way
                raiseSyncErrors=True,
            )
        )
        try:
            done, _ = await asyncio.wait({connecting, refused, closed}, return_when=asyncio.FIRST_COMPLETED)
            succeeded = connecting in done and connecting.exception() is None
            if not succeeded and (refused in done or closed in done):
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
                self.ib.disconnect()
                if refused.done():
                    raise ClientIdInUse(f"IB 326: client id {client_id} is already in use")
                raise NetworkError(f"IB gateway at {self.host}:{self.port} closed the connection: {closed.result()}")
            try:
                connecting.result()
            except ConnectionRefusedError as exc:
                raise NetworkError(f"IB gateway refused the connection at {self.host}:{self.port}") from exc
            except ConnectionError as exc:  # raiseSyncErrors: a start-up request timed out
                raise NetworkError(
                    f"IB gateway at {self.host}:{self.port} did not complete the start-up synchronisation "
                    f"within {self.timeout} s ({exc}); the session is opened again"
                ) from exc
        finally:
            self.ib.errorEvent -= on_error
            socket.disconnected -= on_closed
            if not connecting.done():
                connecting.cancel()

    def _choose_account(self) -> None:
        managed = [a for a in self.ib.managedAccounts() if a]
        wanted = self.settings.ib_account_id
        if wanted and wanted not in managed:
            shown = ", ".join(mask_account(a) or "" for a in managed) or "none"
            raise SettingsError(
                f"IB_ACCOUNT_ID: {mask_account(wanted)} is not an account this gateway manages ({shown}). "
                f"Example: IB_ACCOUNT_ID={managed[0] if managed else 'DU1234567'}"
            )
        account = wanted or (managed[0] if managed else None)
        check_live_allowed(self.settings, self.port, account)
        ib_mode(self.settings, port=self.port, account=account)  # facts that disagree: refused, never guessed
        self.account = account

    async def _run_hooks(self, reason: ResyncReason) -> None:
        """Run every hook registered for ``reason``, in order, each isolated from the others' failures."""
        if self._step_retry_task is not None and not self._step_retry_task.done():
            self._step_retry_task.cancel()  # this run redoes what the retry was about to
        self._epoch += 1
        failed = self._state.failed_steps
        if reason == "data_lost":
            for name, _, reasons in self._hooks:
                if reason in reasons:
                    failed.pop(name, None)
        else:
            failed.clear()  # a new session: every step runs again
        for name, hook, reasons in self._hooks:
            if reason in reasons:
                await self._run_step(name, hook, reason)

    async def _run_step(self, name: str, hook: ResyncHook, reason: ResyncReason) -> bool:
        """One resync step; a failure is recorded (health, retry), never raised. True when it succeeded."""
        started = time.perf_counter()
        try:
            await hook(reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._state.failed_steps[name] = _StepFailure(reason, error)
            log.error("resync step failed", extra={"step": name, "reason": reason, "error": error}, exc_info=exc)
            return False
        self._state.failed_steps.pop(name, None)
        log.info(
            "resync step done",
            extra={"step": name, "reason": reason, "ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        return True

    def _resync_finished(self, reason: ResyncReason) -> None:
        """After a resync run: ``resynced`` when every step succeeded, else ``resync_failed`` and a retry."""
        failed = self._state.failed_steps
        if not failed:
            self._emit("resynced", detail=reason)
            return
        self._emit("resync_failed", detail="; ".join(f"{name}: {f.error}" for name, f in failed.items()))
        if not self._closing and (self._step_retry_task is None or self._step_retry_task.done()):
            self._step_retry_task = asyncio.ensure_future(self._retry_failed_steps())

    async def _retry_failed_steps(self) -> None:
        """Call each failed step again, with exponential backoff and jitter, until none is left.

        While the session is down nothing is tried: the next session runs every step anyway (and
        cancels this task when it starts).
        """
        b = self.backoff
        wait = b.initial
        while self._state.failed_steps and not self._closing:
            await asyncio.sleep(wait + random.uniform(0, b.jitter))
            wait = min(wait * 2, b.maximum)
            if not self.is_ready:
                continue
            failed = dict(self._state.failed_steps)
            for name, hook, _ in self._hooks:
                if name in failed and self.is_ready:
                    await self._run_step(name, hook, failed[name].reason)
            self._refresh_health()
            if not self._state.failed_steps and self.is_ready:
                reasons = {f.reason for f in failed.values()}
                detail: ResyncReason = next((r for r in ("reconnect", "connect") if r in reasons), "data_lost")
                log.info("failed resync steps succeeded on retry", extra={"steps": sorted(failed)})
                self._emit("resynced", detail=detail)

    async def _resync_data_lost(self) -> None:
        """IB 1101: renew the streams (the hooks registered for ``data_lost``) on the live session."""
        await self._run_hooks("data_lost")
        if self.is_ready:
            self._refresh_health()
            if self._state.failed_steps:
                self._resync_finished("data_lost")

    # --- events from ib_async -------------------------------------------------------------
    def _on_disconnected(self) -> None:
        if self._closing or self._connecting:
            return
        self._ready.clear()
        if self._opening:
            return  # the session being opened fails and is retried by its opener
        self._state.health = Health.DISCONNECTED
        self._emit("disconnected")
        self._start_reconnect("socket closed")

    def _start_reconnect(self, why: str) -> None:
        if self._closing or (self._reconnect_task is not None and not self._reconnect_task.done()):
            return
        log.warning("IB session lost; reconnecting", extra={"why": why})
        self._reconnect_task = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        self._state.health = Health.RECONNECTING
        try:
            await self._retrying(self._open_session, "reconnect", attempts=None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._state.health = Health.DISCONNECTED
            self._emit("disconnected", detail=f"reconnect gave up: {exc}")
            log.error("IB reconnect gave up", extra={"error": str(exc)})
            return
        if not self._closing:
            self._state.reconnects += 1

    def _on_error(self, req_id: int, code: int, message: str, contract: Any) -> None:
        s = self._state
        if code in FARM_DOWN:
            s.farms_down.add(_farm_name(message, code))
            self._refresh_health()
        elif code in FARM_OK:
            s.farms_down.discard(_farm_name(message, code))
            self._refresh_health()
        elif code in CONNECTIVITY_LOST and req_id == -1:
            s.ib_lost = True
            self._refresh_health()
        elif code in CONNECTIVITY_RESTORED_DATA_LOST:
            s.ib_lost = False
            self._refresh_health()
            self._emit("data_lost", detail=message)
            if self._data_lost_task is None or self._data_lost_task.done():
                self._data_lost_task = asyncio.ensure_future(self._resync_data_lost())
        elif code in CONNECTIVITY_RESTORED_DATA_KEPT:
            s.ib_lost = False
            self._refresh_health()
        if is_informational(code):
            log.info("IB notice %s", code, extra={"code": code, "ib_message": message})

    async def _heartbeat(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.heartbeat_interval)
            if not self.is_ready:
                continue
            try:
                await self.current_time()
            except (RequestTimeout, NetworkError) as exc:
                self._state.heartbeat_misses += 1
                self._refresh_health()
                log.warning("heartbeat missed", extra={"misses": self._state.heartbeat_misses, "error": str(exc)})
                if self._state.heartbeat_misses >= 2 and self.ib.isConnected():
                    self.ib.disconnect()  # a silent socket: drop it, disconnectedEvent reconnects
                continue
            if self._state.heartbeat_misses:
                self._state.heartbeat_misses = 0
                self._refresh_health()


def _farm_name(message: str, code: int) -> str:
    """The farm a notice is about (``"usfarm"`` from "Market data farm connection is OK:usfarm")."""
    _, sep, name = message.rpartition(":")
    return name.strip() if sep and name.strip() else str(code)
