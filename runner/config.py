"""The runner's configuration (one frozen object, from ``trader run`` options) and how a run is resumed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sdk.ledger import Ledger
from sdk.ledger import queries as q
from sdk.symbols import parse_symbol
from sdk.timeframes import timeframe_seconds

__all__ = ["RunnerConfig", "find_resumable", "last_processed_bars", "parse_until"]


@dataclass(frozen=True)
class RunnerConfig:
    """What one run trades and how.

    Attributes:
        symbols: canonical symbols (``BHP/AUD``, ``AUD/USD``).
        strategy: a registered strategy name; ``params`` its parameters.
        timeframe: ccxt timeframe the strategy decides on (``5m`` default; ``1d`` supported).
        shadow: simulate fills (nothing sent) instead of executing.
        until: stop (exit 0) when the venue's clock reaches this time, epoch seconds; None runs until stopped.
        order_value: notional of one sized order in the base currency (None: the smaller of
            ``MAX_ORDER_VALUE`` and AUD 10,000).
        settle: clock seconds after a bar's close before it is asked for (lets the venue finish it).
        monitor_interval: clock seconds between plan checks and order refreshes while anything is open.
        snapshot_interval: clock seconds between portfolio snapshots (one also follows every batch of bars).
        min_wall_gap: least wall seconds between monitor ticks (a fast replay does not spin).
        history: bars backfilled per symbol (None: the strategy's warm-up plus 5).
        resume: True resumes the interrupted run of this configuration (error when there is none), False
            always starts a fresh run, None resumes one when there is one.
        plugins: modules imported before the strategy is built (they register strategies with
            ``@register_strategy``), for strategies not installed under the ``trader_sdk.strategies`` entry point.
        take_over: when the run to resume is held by another process's lease, wait (bounded) for that lease
            to expire instead of refusing at once; a live lease is never taken (``sdk.services.lease``).
        send_at_close: a decision made at the very close of its bar is sent then rather than at the next open
            (market-on-close: a backtest's ``--fill at-close``, whose simulated venue matches it in the closing
            auction; :class:`~runner.actions.DecisionExecutor`).
    """

    symbols: tuple[str, ...]
    strategy: str = "ma_crossover"
    params: Mapping[str, float] = field(default_factory=dict)
    timeframe: str = "5m"
    shadow: bool = True
    until: float | None = None
    order_value: Decimal | None = None
    settle: float = 1.0
    monitor_interval: float = 60.0
    snapshot_interval: float = 3600.0
    min_wall_gap: float = 0.05
    history: int | None = None
    resume: bool | None = None
    plugins: tuple[str, ...] = ()
    take_over: bool = False
    send_at_close: bool = False

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("give at least one symbol, e.g. --symbols BHP/AUD,CBA/AUD")
        for symbol in self.symbols:
            parse_symbol(symbol)
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"a symbol is listed twice: {', '.join(self.symbols)}")
        timeframe_seconds(self.timeframe)
        if self.order_value is not None and self.order_value <= 0:
            raise ValueError(f"order value must be positive (base currency), got {self.order_value}")

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed run must share with the interrupted one."""
        found: dict[str, Any] = {
            "symbols": list(self.symbols),
            "strategy": self.strategy,
            "plugins": list(self.plugins),
            "params": {k: float(v) for k, v in sorted(self.params.items())},
            "timeframe": self.timeframe,
            "shadow": self.shadow,
        }
        if self.send_at_close:  # only when set: the fingerprints of runs made before it existed stay the same
            found["send_at_close"] = True
        return found


def parse_until(text: str) -> float:
    """``--until``: an ISO date (00:00 UTC that day) or date-time (UTC when it has no offset) -> epoch seconds.

    Raises:
        ValueError: not ISO 8601; the message gives examples.
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--until {text!r} is not ISO 8601; e.g. 2025-12-31 (00:00 UTC) or 2025-12-31T16:10:00+11:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def find_resumable(
    ledger: Ledger, *, venue: str, account: str | None, mode: str, config_hash: str, fingerprint: Mapping[str, Any]
) -> str | None:
    """The newest runner run of this venue, account (masked; None: any), mode, settings and configuration
    that never ended.

    A run that never ended may still be running in another process: the caller must take its lease
    (:func:`sdk.services.lease.claim`) before resuming it, and refuse when that lease is live."""
    for session in q.sessions(ledger, venue=venue, limit=50):
        if session.get("program") != "runner" or session.get("ended_at") is not None:
            continue
        if (session["mode"], session.get("config_hash")) != (mode, config_hash):
            continue
        if account is not None and session["account"] != account:
            continue
        events = q.recent_events(ledger, kinds=["runner.config"], run_id=session["run_id"], limit=1)
        if events and (events[0].get("payload") or {}).get("fingerprint") == dict(fingerprint):
            return str(session["run_id"])
    return None


def last_processed_bars(ledger: Ledger, run_id: str, symbols: tuple[str, ...]) -> dict[str, int]:
    """The newest bar (ms) the run decided on, per symbol (``runner.bar`` events)."""
    found: dict[str, int] = {}
    for event in q.recent_events(ledger, kinds=["runner.bar"], run_id=run_id, limit=50 * max(1, len(symbols))):
        payload = event.get("payload") or {}
        symbol, ts = payload.get("symbol"), payload.get("bar_ts")
        if symbol in symbols and isinstance(ts, int):
            found[symbol] = max(found.get(symbol, ts), ts)
    return found
