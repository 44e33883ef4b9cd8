"""The dashboard's own reads of the ledger, for what :mod:`sdk.ledger.queries` does not cover.

Same contract as the shared module: each function takes a :class:`~sdk.ledger.Ledger`, runs
parameterised SQLAlchemy (never SQL built from strings) in one read transaction and returns plain
dicts keyed by column names (money as Decimal beside its currency column, times in ms UTC,
accounts masked). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, exists, func, or_, select

from sdk.ledger import Ledger
from sdk.ledger.queries import EQUITY, EVENTS, ORDERS, SESSIONS, TRADES, sessions

__all__ = [
    "ACCOUNT_SUMMARY_KIND",
    "accounts",
    "commission_totals",
    "equity_before",
    "equity_on_or_after",
    "equity_span",
    "equity_values",
    "latest_account_event",
    "latest_equity",
    "latest_event",
    "ledger_is_empty",
    "order_facets",
    "orders",
    "orders_with_estimates",
    "trades_for_orders",
]

Row = dict[str, Any]

#: Event kind of an account summary (IB's account values by tag, in the base currency), as the
#: runner records it: ``writer.record_event("account_summary", await trader.fetch_account_summary())``.
ACCOUNT_SUMMARY_KIND = "account_summary"


def _rows(ledger: Ledger, query: Select[Any]) -> list[Row]:
    with ledger.read() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def ledger_is_empty(ledger: Ledger) -> bool:
    """True when no run, order, fill, equity snapshot or event was ever recorded (a first run)."""
    recorded = or_(*(exists().select_from(table) for table in (SESSIONS, ORDERS, TRADES, EQUITY, EVENTS)))
    with ledger.read() as conn:
        return not conn.execute(select(recorded)).scalar_one()


def accounts(ledger: Ledger) -> list[Row]:
    """Each (venue, account) the ledger knows, from its newest run: ``venue``, ``account`` (masked),
    ``base_currency``, ``mode`` (live/paper/shadow), ``program``, ``run_id``, ``started_at``,
    ``ended_at``; ``runs`` (how many runs it had) and ``open_modes`` (the sorted modes of its runs
    with no end recorded, e.g. ``["paper", "shadow"]``). Sorted by venue and account.
    """
    newest: dict[tuple[str, str], Row] = {}
    counts: dict[tuple[str, str], int] = {}
    modes: dict[tuple[str, str], set[str]] = {}
    for run in sessions(ledger, limit=None):  # newest first
        key = (run["venue"], run["account"])
        newest.setdefault(key, run)
        counts[key] = counts.get(key, 0) + 1
        if run["ended_at"] is None:
            modes.setdefault(key, set()).add(run["mode"])
    return [{**newest[key], "runs": counts[key], "open_modes": sorted(modes.get(key, ()))} for key in sorted(newest)]


def latest_equity(ledger: Ledger, venue: str, account: str) -> Row | None:
    """The newest equity snapshot of a venue and (masked) account, or None."""
    query = (
        select(EQUITY)
        .where(EQUITY.c.venue == venue, EQUITY.c.account == account)
        .order_by(EQUITY.c.timestamp.desc(), EQUITY.c.id.desc())
        .limit(1)
    )
    found = _rows(ledger, query)
    return found[0] if found else None


def equity_before(ledger: Ledger, venue: str, account: str, before_ms: int) -> Row | None:
    """The last equity snapshot strictly before ``before_ms`` (the close of the previous day), or None."""
    query = (
        select(EQUITY)
        .where(EQUITY.c.venue == venue, EQUITY.c.account == account, EQUITY.c.timestamp < before_ms)
        .order_by(EQUITY.c.timestamp.desc(), EQUITY.c.id.desc())
        .limit(1)
    )
    found = _rows(ledger, query)
    return found[0] if found else None


def equity_on_or_after(ledger: Ledger, venue: str, account: str, since_ms: int) -> Row | None:
    """The first equity snapshot at or after ``since_ms`` (the day's first), or None."""
    query = (
        select(EQUITY)
        .where(EQUITY.c.venue == venue, EQUITY.c.account == account, EQUITY.c.timestamp >= since_ms)
        .order_by(EQUITY.c.timestamp, EQUITY.c.id)
        .limit(1)
    )
    found = _rows(ledger, query)
    return found[0] if found else None


def equity_span(ledger: Ledger) -> Row:
    """``count``, ``first`` and ``last`` (ms UTC; None when empty) of all equity snapshots."""
    query = select(func.count(), func.min(EQUITY.c.timestamp), func.max(EQUITY.c.timestamp)).select_from(EQUITY)
    with ledger.read() as conn:
        count, first, last = conn.execute(query).one()
    return {"count": count, "first": first, "last": last}


def equity_values(ledger: Ledger, since: int | None = None) -> list[Row]:
    """Every equity snapshot from ``since`` (ms UTC; None: all), oldest first, narrowed to ``venue``,
    ``account`` (masked), ``timestamp`` (ms UTC), ``equity`` (Decimal, in ``currency``) and ``currency``.

    The max drawdown is measured on these, not on a chart's thinned points: a dip between two
    plotted points is still a drawdown.
    """
    columns = (EQUITY.c.venue, EQUITY.c.account, EQUITY.c.timestamp, EQUITY.c.equity, EQUITY.c.currency)
    query = select(*columns)
    if since is not None:
        query = query.where(EQUITY.c.timestamp >= since)
    return _rows(ledger, query.order_by(EQUITY.c.timestamp, EQUITY.c.id))


def latest_account_event(ledger: Ledger, kind: str, venue: str, account: str) -> Row | None:
    """The newest event of ``kind`` recorded by a run of this venue and (masked) account, or None.

    For ``account_summary`` (:data:`ACCOUNT_SUMMARY_KIND`): ``payload`` maps IB's account tags
    (``NetLiquidation``, ``BuyingPower``, ``AvailableFunds``, ...) to values in the run's base currency.
    """
    query = (
        select(EVENTS)
        .join(SESSIONS, SESSIONS.c.run_id == EVENTS.c.run_id)
        .where(EVENTS.c.kind == kind, SESSIONS.c.venue == venue, SESSIONS.c.account == account)
        .order_by(EVENTS.c.timestamp.desc(), EVENTS.c.id.desc())
        .limit(1)
    )
    found = _rows(ledger, query)
    return found[0] if found else None


def latest_event(ledger: Ledger, kind: str) -> Row | None:
    """The newest event of ``kind`` (``connectivity``, ``circuit``, ``account_summary`` ...), or None."""
    query = select(EVENTS).where(EVENTS.c.kind == kind).order_by(EVENTS.c.timestamp.desc(), EVENTS.c.id.desc())
    found = _rows(ledger, query.limit(1))
    return found[0] if found else None


def orders(
    ledger: Ledger,
    *,
    since: int | None = None,
    until: int | None = None,
    statuses: Collection[str] | None = None,
    symbols: Collection[str] | None = None,
    venues: Collection[str] | None = None,
    shadow: bool | None = None,
    agent_only: bool = False,
    limit: int = 500,
) -> list[Row]:
    """Orders newest first, filtered; each filter left None does not filter.

    Args:
        since, until: ``[since, until)`` on the order's ``timestamp``, ms UTC.
        statuses: ccxt statuses (``open``, ``closed``, ``canceled``, ``expired``, ``rejected``).
        shadow: only shadow (True) or only real (False) orders.
        agent_only: only orders an agent originated (``agent`` set).
        limit: at most this many rows (the newest).

    Returns:
        Rows of ``orders`` (see :class:`sdk.ledger.models.OrderRow`).
    """
    conditions = []
    if since is not None:
        conditions.append(ORDERS.c.timestamp >= since)
    if until is not None:
        conditions.append(ORDERS.c.timestamp < until)
    if statuses is not None:
        conditions.append(ORDERS.c.status.in_(sorted(statuses)))
    if symbols is not None:
        conditions.append(ORDERS.c.symbol.in_(sorted(symbols)))
    if venues is not None:
        conditions.append(ORDERS.c.venue.in_(sorted(venues)))
    if shadow is not None:
        conditions.append(ORDERS.c.shadow.is_(shadow))
    if agent_only:
        conditions.append(ORDERS.c.agent.is_not(None))
    query = select(ORDERS).where(*conditions).order_by(ORDERS.c.timestamp.desc(), ORDERS.c.id.desc())
    return _rows(ledger, query.limit(max(1, int(limit))))


def order_facets(ledger: Ledger) -> Row:
    """What the order filters offer: ``symbols``, ``statuses``, ``venues`` (sorted lists), ``count``,
    and ``first``/``last`` (the oldest and newest order ``timestamp``, ms UTC; None when no orders)."""
    with ledger.read() as conn:
        symbols = sorted(conn.execute(select(ORDERS.c.symbol).distinct()).scalars())
        statuses = sorted(conn.execute(select(ORDERS.c.status).distinct()).scalars())
        venues = sorted(conn.execute(select(ORDERS.c.venue).distinct()).scalars())
        span = conn.execute(
            select(func.count(), func.min(ORDERS.c.timestamp), func.max(ORDERS.c.timestamp)).select_from(ORDERS)
        ).one()
    return {
        "symbols": symbols,
        "statuses": statuses,
        "venues": venues,
        "count": span[0],
        "first": span[1],
        "last": span[2],
    }


def trades_for_orders(ledger: Ledger, client_order_ids: Collection[str]) -> list[Row]:
    """The fills of the orders with these client order ids, oldest first (rows of ``trades``)."""
    ids = sorted({i for i in client_order_ids if i})
    found: list[Row] = []
    for start in range(0, len(ids), 500):  # stay far below any engine's parameter limit
        chunk = ids[start : start + 500]
        query = select(TRADES).where(TRADES.c.client_order_id.in_(chunk))
        found.extend(_rows(ledger, query.order_by(TRADES.c.timestamp, TRADES.c.id)))
    return sorted(found, key=lambda r: (r["timestamp"], r["id"]))


def commission_totals(ledger: Ledger) -> list[Row]:
    """Commissions to date, one row per venue, shadow flag, fee currency, commission source and base currency.

    Returns:
        Rows with ``venue``, ``shadow``, ``fee_currency`` (None for the group of pending fills),
        ``commission_source``, ``base_currency``, ``fills`` (count), ``reported`` (fills whose fee is
        known), ``fee_total`` (sum of known fees, in ``fee_currency``), ``converted`` (fills with a
        fee in the base currency) and ``fee_in_base_total`` (their sum, in ``base_currency``).
    """
    keys = (TRADES.c.venue, TRADES.c.shadow, TRADES.c.fee_currency, TRADES.c.commission_source, TRADES.c.base_currency)
    query = (
        select(
            *keys,
            func.count().label("fills"),
            func.count(TRADES.c.fee_cost).label("reported"),
            func.sum(TRADES.c.fee_cost).label("fee_total"),
            func.count(TRADES.c.fee_in_base).label("converted"),
            func.sum(TRADES.c.fee_in_base).label("fee_in_base_total"),
        )
        .group_by(*keys)
        .order_by(*keys)
    )
    return _rows(ledger, query)


def orders_with_estimates(ledger: Ledger) -> list[Row]:
    """Orders that carry a RiskManager decision (whose ``cost`` is the commission estimate), oldest first.

    Returns:
        Rows with ``venue``, ``account``, ``client_order_id``, ``symbol``, ``status``, ``filled``,
        ``shadow`` and ``risk_decision`` (JSON as recorded; the estimate is
        ``risk_decision["cost"]``: ``amount`` in ``currency``, ``amount_base`` in ``base_currency``).
    """
    columns = (
        ORDERS.c.venue,
        ORDERS.c.account,
        ORDERS.c.client_order_id,
        ORDERS.c.symbol,
        ORDERS.c.status,
        ORDERS.c.filled,
        ORDERS.c.shadow,
        ORDERS.c.risk_decision,
    )
    query = select(*columns).where(ORDERS.c.risk_decision.is_not(None)).order_by(ORDERS.c.timestamp, ORDERS.c.id)
    return _rows(ledger, query)
