"""Reads of the ledger that the dashboard, the MCP server and the ResyncService share.

Every function takes a :class:`~sdk.ledger.database.Ledger`, runs one parameterised SQLAlchemy
query in one read transaction, and returns plain dicts keyed by the table's column names (see
:mod:`sdk.ledger.models`): money as :class:`~decimal.Decimal` beside its currency column, times as
integer milliseconds UTC, accounts masked. Nothing here writes, and no SQL is built from strings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, Table, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from sdk.ledger.audit import EventKind
from sdk.ledger.database import Ledger
from sdk.ledger.errors import LedgerInputError
from sdk.ledger.models import (
    BalanceRow,
    EquitySnapshotRow,
    EventRow,
    MarketDataRow,
    OrderRow,
    PlanRow,
    PositionRow,
    SessionRow,
    TradeRow,
)
from sdk.ledger.rows import OPEN_PLAN_STATUSES
from sdk.ledger.values import to_ms

__all__ = [
    "day_open_equity",
    "day_range_ms",
    "equity_curve",
    "known_trade_ids",
    "latest_balances",
    "latest_market_data",
    "latest_positions",
    "open_plans",
    "orders_by_client_prefix",
    "orders_for_day",
    "recent_events",
    "recent_rejections",
    "sessions",
    "trades_by_client_prefix",
    "trades_with_commissions",
]

Row = dict[str, Any]

SESSIONS = cast(Table, SessionRow.__table__)
ORDERS = cast(Table, OrderRow.__table__)
TRADES = cast(Table, TradeRow.__table__)
POSITIONS = cast(Table, PositionRow.__table__)
BALANCES = cast(Table, BalanceRow.__table__)
EQUITY = cast(Table, EquitySnapshotRow.__table__)
MARKET = cast(Table, MarketDataRow.__table__)
PLANS = cast(Table, PlanRow.__table__)
EVENTS = cast(Table, EventRow.__table__)


def _rows(ledger: Ledger, query: Select[Any]) -> list[Row]:
    with ledger.read() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def _limit(limit: int | None) -> int | None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise LedgerInputError(f"limit must be a positive integer or None, not {limit!r}")
    return limit


def _scope(table: Table, *, venue: str | None, account: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if venue is not None:
        conditions.append(table.c.venue == venue)
    if account is not None:
        conditions.append(table.c.account == account)
    return conditions


def _time(table: Table, since: int | datetime | None, until: int | datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(table.c.timestamp >= to_ms(since, "since"))
    if until is not None:
        conditions.append(table.c.timestamp < to_ms(until, "until"))
    return conditions


def day_range_ms(day: date, tz: str = "UTC") -> tuple[int, int]:
    """``[start, end)`` of a calendar ``day`` in time zone ``tz`` (``Australia/Sydney``), in ms UTC.

    Raises:
        LedgerInputError: an unknown time zone name.
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise LedgerInputError(f"tz {tz!r} is not an IANA time zone name such as 'Australia/Sydney' or 'UTC'") from None
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def sessions(ledger: Ledger, *, venue: str | None = None, limit: int | None = 50) -> list[Row]:
    """Runs, newest first: run id, program, venue, account (masked), base currency, mode, start/end (ms)."""
    query = select(SESSIONS).where(*_scope(SESSIONS, venue=venue, account=None))
    return _rows(ledger, query.order_by(SESSIONS.c.started_at.desc()).limit(_limit(limit)))


def equity_curve(
    ledger: Ledger,
    *,
    since: int | datetime | None = None,
    until: int | datetime | None = None,
    venue: str | None = None,
    account: str | None = None,
    run_id: str | None = None,
    bucket_ms: int | None = None,
) -> list[Row]:
    """Equity snapshots in the base currency (``currency``), oldest first, in ``[since, until)``.

    Args:
        bucket_ms: keep only the last snapshot of each bucket of this many milliseconds per
            venue and account (``3_600_000``: hourly points for a month-long chart).

    Returns:
        Rows of ``equity_snapshots``: ``timestamp``, ``equity``, ``currency``, ``cash``,
        ``positions_value``, ``realized_pnl``, ``unrealized_pnl``, ``fx_rates``, ``run_id``, ...
    """
    conditions = [*_scope(EQUITY, venue=venue, account=account), *_time(EQUITY, since, until)]
    if run_id is not None:
        conditions.append(EQUITY.c.run_id == run_id)
    query = select(EQUITY).where(*conditions)
    if bucket_ms is not None:
        if not isinstance(bucket_ms, int) or isinstance(bucket_ms, bool) or bucket_ms < 1:
            raise LedgerInputError(f"bucket_ms must be a positive whole number of milliseconds, not {bucket_ms!r}")
        last_of_bucket = (
            select(func.max(EQUITY.c.id))
            .where(*conditions)
            .group_by(EQUITY.c.venue, EQUITY.c.account, EQUITY.c.timestamp // bucket_ms)
        )
        query = select(EQUITY).where(EQUITY.c.id.in_(last_of_bucket))
    return _rows(ledger, query.order_by(EQUITY.c.timestamp, EQUITY.c.id))


def day_open_equity(
    ledger: Ledger, *, venue: str, account: str, currency: str, since: int, until: int, shadow: bool
) -> Row | None:
    """The first equity snapshot of ``venue``/``account`` in ``[since, until)`` (a trading day, ms UTC) recorded
    in ``currency`` (the base currency) by any run (any process), or None when none is recorded yet.

    ``shadow``: the shadow account's equity (a shadow run's) or the venue's own (paper and live runs); the two
    are different accounts and never mix.
    """
    is_shadow = SESSIONS.c.mode == "shadow"
    query = (
        select(EQUITY)
        .join(SESSIONS, SESSIONS.c.run_id == EQUITY.c.run_id)
        .where(
            EQUITY.c.venue == venue,
            EQUITY.c.account == account,
            EQUITY.c.currency == currency,
            EQUITY.c.timestamp >= since,
            EQUITY.c.timestamp < until,
            is_shadow if shadow else ~is_shadow,
        )
        .order_by(EQUITY.c.timestamp, EQUITY.c.id)
        .limit(1)
    )
    rows = _rows(ledger, query)
    return rows[0] if rows else None


def _latest_snapshot(table: Table, *, venue: str | None, account: str | None, nonzero: ColumnElement[bool]) -> Any:
    """Rows of each (venue, account)'s newest snapshot; the pairs come from ``sessions`` (small)."""
    pairs = (
        select(SESSIONS.c.venue, SESSIONS.c.account)
        .distinct()
        .where(*_scope(SESSIONS, venue=venue, account=account))
        .subquery("pairs")
    )
    inner = table.alias("inner")
    newest = (
        select(func.max(inner.c.timestamp))
        .where(inner.c.venue == pairs.c.venue, inner.c.account == pairs.c.account)
        .correlate(pairs)
        .scalar_subquery()
    )
    latest = select(pairs.c.venue, pairs.c.account, newest.label("ts")).subquery("latest")
    on = and_(table.c.venue == latest.c.venue, table.c.account == latest.c.account, table.c.timestamp == latest.c.ts)
    return select(table).join(latest, on).where(nonzero)


def latest_positions(
    ledger: Ledger, *, venue: str | None = None, account: str | None = None, include_flat: bool = False
) -> list[Row]:
    """The open positions of each venue and account, from its newest snapshot.

    Returns:
        Rows of ``positions``: ``symbol``, ``side`` (long/short), ``contracts`` (base units),
        ``entry_price``/``mark_price``/``notional``/``unrealized_pnl`` in ``quote_currency``,
        ``notional_in_base`` in ``base_currency`` with the ``fx_rate`` used, ``timestamp``.
        Symbols that went flat in that snapshot only with ``include_flat``.
    """
    nonzero = POSITIONS.c.contracts != 0 if not include_flat else POSITIONS.c.id.is_not(None)
    query = _latest_snapshot(POSITIONS, venue=venue, account=account, nonzero=nonzero)
    return _rows(ledger, query.order_by(POSITIONS.c.venue, POSITIONS.c.account, POSITIONS.c.symbol))


def latest_balances(ledger: Ledger, *, venue: str | None = None, account: str | None = None) -> list[Row]:
    """Cash per currency of each venue and account, from its newest snapshot (zero balances left out).

    Returns:
        Rows of ``balances``: ``currency``, ``free``, ``used``, ``total`` (in ``currency``),
        ``total_in_base`` in ``base_currency`` with the ``fx_rate`` used, ``timestamp``.
    """
    nonzero = func.coalesce(BALANCES.c.total, 1) != 0
    query = _latest_snapshot(BALANCES, venue=venue, account=account, nonzero=nonzero)
    return _rows(ledger, query.order_by(BALANCES.c.venue, BALANCES.c.account, BALANCES.c.currency))


def orders_for_day(
    ledger: Ledger,
    day: date,
    *,
    tz: str = "UTC",
    venue: str | None = None,
    account: str | None = None,
    shadow: bool | None = None,
) -> list[Row]:
    """Orders created on calendar ``day`` in time zone ``tz``, oldest first.

    Args:
        tz: an IANA name; ``Australia/Sydney`` for an ASX trading day.
        shadow: only shadow (True) or only real (False) orders; both when None.

    Returns:
        Rows of ``orders`` (ccxt fields in snake case, ``shadow``, ``risk_decision``, ``strategy``,
        ``agent``, ``plan_id``).
    """
    start, end = day_range_ms(day, tz)
    conditions = [*_scope(ORDERS, venue=venue, account=account), ORDERS.c.timestamp >= start, ORDERS.c.timestamp < end]
    if shadow is not None:
        conditions.append(ORDERS.c.shadow.is_(shadow))
    return _rows(ledger, select(ORDERS).where(*conditions).order_by(ORDERS.c.timestamp, ORDERS.c.id))


def _prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise LedgerInputError(f"prefix must be a non-empty client order id prefix such as 'trd-', not {prefix!r}")
    return prefix


def orders_by_client_prefix(
    ledger: Ledger,
    prefix: str,
    *,
    venue: str | None = None,
    account: str | None = None,
    statuses: Collection[str] | None = None,
) -> list[Row]:
    """Our orders (``client_order_id`` starting with ``prefix``, e.g. ``CLIENT_ORDER_PREFIX``), oldest first.

    For the ResyncService: compare with the venue's open orders. ``prefix`` is matched literally
    (``_`` and ``%`` are not wildcards); ids after it may be any letters and digits.

    Args:
        statuses: only these ccxt statuses (``{"open"}``); all when None.
    """
    conditions = [
        *_scope(ORDERS, venue=venue, account=account),
        ORDERS.c.client_order_id.startswith(_prefix(prefix), autoescape=True),
    ]
    if statuses is not None:
        conditions.append(ORDERS.c.status.in_(sorted(statuses)))
    return _rows(ledger, select(ORDERS).where(*conditions).order_by(ORDERS.c.timestamp, ORDERS.c.id))


def trades_with_commissions(
    ledger: Ledger,
    *,
    since: int | datetime | None = None,
    until: int | datetime | None = None,
    venue: str | None = None,
    account: str | None = None,
    symbol: str | None = None,
    pending_only: bool = False,
    limit: int | None = 1000,
) -> list[Row]:
    """Fills with their commission, newest first.

    Returns:
        Rows of ``trades``: ``price`` in ``quote_currency``, ``amount`` in base units,
        ``fee_cost`` in ``fee_currency`` (None: pending), ``fee_in_base`` in ``base_currency``
        with the ``fx_rate`` used, ``taker_or_maker``, ``shadow``, ``timestamp``.
        With ``pending_only``: only fills whose commission is not known yet.
    """
    conditions = [*_scope(TRADES, venue=venue, account=account), *_time(TRADES, since, until)]
    if symbol is not None:
        conditions.append(TRADES.c.symbol == symbol)
    if pending_only:
        conditions.append(TRADES.c.fee_cost.is_(None))
    query = select(TRADES).where(*conditions).order_by(TRADES.c.timestamp.desc(), TRADES.c.id.desc())
    return _rows(ledger, query.limit(_limit(limit)))


def trades_by_client_prefix(
    ledger: Ledger,
    prefix: str,
    *,
    venue: str | None = None,
    account: str | None = None,
    since: int | datetime | None = None,
) -> list[Row]:
    """Fills of our orders (``client_order_id`` starting with ``prefix``), oldest first, for the ResyncService."""
    conditions = [
        *_scope(TRADES, venue=venue, account=account),
        *_time(TRADES, since, None),
        TRADES.c.client_order_id.startswith(_prefix(prefix), autoescape=True),
    ]
    return _rows(ledger, select(TRADES).where(*conditions).order_by(TRADES.c.timestamp, TRADES.c.id))


def known_trade_ids(ledger: Ledger, venue: str, account: str, *, since: int | datetime | None = None) -> set[str]:
    """The execution ids the ledger holds for a venue and (masked) account: which venue fills are missing."""
    query = select(TRADES.c.trade_id).where(*_scope(TRADES, venue=venue, account=account), *_time(TRADES, since, None))
    with ledger.read() as conn:
        return set(conn.execute(query).scalars())


def open_plans(ledger: Ledger, *, symbol: str | None = None, statuses: Iterable[str] = OPEN_PLAN_STATUSES) -> list[Row]:
    """Plans still in play (``pending``, ``active``), oldest first: entry, stop, target in ``quote_currency``.

    Each row also carries ``run_ended_at`` (ms UTC): when the run that holds the plan ended, None while it runs
    (or for a plan without a run). A plan is watched (stop, target, expiry) only by its own run, so an open
    plan of an ended run is watched by nobody.
    """
    conditions: list[ColumnElement[bool]] = [PLANS.c.status.in_(sorted(statuses))]
    if symbol is not None:
        conditions.append(PLANS.c.symbol == symbol)
    query = (
        select(PLANS, SESSIONS.c.ended_at.label("run_ended_at"))
        .select_from(PLANS.outerjoin(SESSIONS, SESSIONS.c.run_id == PLANS.c.run_id))
        .where(*conditions)
        .order_by(PLANS.c.created_at, PLANS.c.id)
    )
    return _rows(ledger, query)


def recent_events(
    ledger: Ledger,
    *,
    kinds: Collection[str] | None = None,
    since: int | datetime | None = None,
    run_id: str | None = None,
    limit: int | None = 100,
) -> list[Row]:
    """Audit and telemetry events, newest first.

    Returns:
        Rows of ``events``: ``timestamp``, ``kind``, ``source``, ``symbol``, ``message``, ``payload`` (masked JSON).
    """
    conditions = _time(EVENTS, since, None)
    if kinds is not None:
        conditions.append(EVENTS.c.kind.in_(sorted(str(k) for k in kinds)))
    if run_id is not None:
        conditions.append(EVENTS.c.run_id == run_id)
    query = select(EVENTS).where(*conditions).order_by(EVENTS.c.timestamp.desc(), EVENTS.c.id.desc())
    return _rows(ledger, query.limit(_limit(limit)))


def recent_rejections(ledger: Ledger, *, since: int | datetime | None = None, limit: int | None = 50) -> list[Row]:
    """The RiskManager's recent rejections (events of kind ``risk_rejection``), newest first."""
    return recent_events(ledger, kinds=[EventKind.RISK_REJECTION], since=since, limit=limit)


def latest_market_data(
    ledger: Ledger, symbols: Collection[str] | None = None, *, venue: str | None = None, source: str | None = None
) -> list[Row]:
    """The newest ``market_data`` row of each (venue, symbol, source), by symbol."""
    conditions = _scope(MARKET, venue=venue, account=None)
    if symbols is not None:
        conditions.append(MARKET.c.symbol.in_(sorted(symbols)))
    if source is not None:
        conditions.append(MARKET.c.source == source)
    newest = (
        select(MARKET.c.venue, MARKET.c.symbol, MARKET.c.source, func.max(MARKET.c.timestamp).label("ts"))
        .where(*conditions)
        .group_by(MARKET.c.venue, MARKET.c.symbol, MARKET.c.source)
        .subquery("newest")
    )
    on = and_(
        MARKET.c.venue == newest.c.venue,
        MARKET.c.symbol == newest.c.symbol,
        MARKET.c.source == newest.c.source,
        MARKET.c.timestamp == newest.c.ts,
    )
    return _rows(ledger, select(MARKET).join(newest, on).order_by(MARKET.c.symbol, MARKET.c.venue))
