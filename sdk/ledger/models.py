"""The ledger's tables (SQLAlchemy 2, typed declarative): one source of truth for every program.

Conventions (see ``docs/decisions/0001-currency-in-the-ledger.md``):

* Timestamps are integer milliseconds since the epoch, UTC (``BigInteger``), as ccxt has them.
  ``created_at``/``updated_at`` are when the ledger wrote a row; ``timestamp`` is the venue's time.
* Money, prices, amounts and FX rates are ``Numeric(28, 10)`` (exact on PostgreSQL; a 64-bit float
  on SQLite, which holds every float a venue sends exactly). Every monetary column has a currency
  column beside it: ``quote_currency`` for prices, notionals and PnL; ``fee_currency`` for fees;
  ``currency`` for cash and equity; ``base_currency`` (the session's, ``IB_BASE_CURRENCY``) for the
  ``*_in_base`` conversions, with ``fx_rate`` the rate used (units of base currency per unit).
* ``venue`` is ``"IB"`` or a ccxt exchange id; ``account`` is masked (``DU****567``) and ``""`` for a
  venue without accounts. Symbols are canonical ``BASE/QUOTE`` (``BHP/AUD``).
* Columns copied from ccxt structures keep ccxt's names in snake case (``clientOrderId`` ->
  ``client_order_id``, ccxt's ``id`` -> ``order_id``/``trade_id``); columns the project owns
  (``shadow``, ``risk_decision``, ``strategy``, ``agent``, ``plan_id``, ``commission_source``) are
  separate from them.

Write through :class:`sdk.ledger.writer.LedgerWriter`; read through :mod:`sdk.ledger.queries`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

__all__ = [
    "BalanceRow",
    "Base",
    "ConfirmationTokenRow",
    "DecisionRow",
    "EquitySnapshotRow",
    "EventRow",
    "KillSwitchRow",
    "LeaseRow",
    "MarketDataRow",
    "OrderRow",
    "PacingLoginRow",
    "PacingRequestRow",
    "PlanRow",
    "PositionRow",
    "SessionRow",
    "TradeRow",
]

#: Constraint and index names are explicit so that migrations (and SQLite batch migrations) are stable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Prices, amounts, money and FX rates: 18 integer digits, 10 decimals (prices and rates to 1e-8 and finer).
DECIMAL = Numeric(28, 10)
#: A surrogate key: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

Ms = BigInteger
Ccy = String(10)


class Base(DeclarativeBase):
    """Declarative base of every ledger table; ``Base.metadata`` is what Alembic compares against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: DECIMAL,
        dict[str, Any]: JSON(none_as_null=True),  # None is SQL NULL, so COALESCE merges work
    }


def _run_fk(*, nullable: bool) -> MappedColumn[Any]:
    return mapped_column(String(32), ForeignKey("sessions.run_id"), nullable=nullable, index=True)


class SessionRow(Base):
    """One run of one program (runner, MCP server, ...): a fresh ``run_id`` each run, earlier runs kept."""

    __tablename__ = "sessions"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    program: Mapped[str | None] = mapped_column(String(32), doc="runner, mcp, ...")
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32), doc="masked, '' for a venue without accounts")
    base_currency: Mapped[str] = mapped_column(Ccy, doc="IB_BASE_CURRENCY: equity and every *_in_base is in it")
    mode: Mapped[str] = mapped_column(String(8), doc="live, paper or shadow")
    started_at: Mapped[int] = mapped_column(Ms)
    ended_at: Mapped[int | None] = mapped_column(Ms)
    end_reason: Mapped[str | None] = mapped_column(Text)
    config_hash: Mapped[str | None] = mapped_column(String(64), doc="sha256 of the settings, secrets excluded")
    git_sha: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index(None, "started_at"),)


class OrderRow(Base):
    """An order as ccxt's ``Order`` structure has it, plus what the project knows about it.

    Unique on ``client_order_id`` (ours: ``CLIENT_ORDER_PREFIX`` + an alphanumeric id; IB's ``orderRef``)
    and on ``(venue, account, order_id)`` (the venue's id; IB's ``permId`` or ``orderId``).
    Prices, ``cost`` and ``fee_cost`` are in ``quote_currency``/``fee_currency``; amounts in base units.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str | None] = _run_fk(nullable=True)
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[str | None] = mapped_column(String(64), doc="ccxt id: the venue's order id")
    client_order_id: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    quote_currency: Mapped[str] = mapped_column(Ccy)
    type: Mapped[str | None] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(4))
    time_in_force: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), doc="ccxt: open, closed, canceled, expired, rejected")
    price: Mapped[Decimal | None]
    trigger_price: Mapped[Decimal | None]
    average: Mapped[Decimal | None]
    amount: Mapped[Decimal | None]
    filled: Mapped[Decimal | None]
    remaining: Mapped[Decimal | None]
    cost: Mapped[Decimal | None]
    fee_cost: Mapped[Decimal | None] = mapped_column(doc="None: pending or unknown, never 0.0")
    fee_currency: Mapped[str | None] = mapped_column(Ccy)
    reduce_only: Mapped[bool | None]
    post_only: Mapped[bool | None]
    timestamp: Mapped[int] = mapped_column(Ms, doc="created at the venue; else when the ledger first saw it")
    last_trade_timestamp: Mapped[int | None] = mapped_column(Ms)
    last_update_timestamp: Mapped[int | None] = mapped_column(Ms)
    # --- what the project owns -------------------------------------------------------------
    shadow: Mapped[bool] = mapped_column(Boolean, doc="simulated (shadow mode): never sent to a venue")
    risk_decision: Mapped[dict[str, Any] | None] = mapped_column(doc="the RiskManager's decision, as JSON")
    strategy: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("plans.plan_id"), index=True)
    commission_source: Mapped[str | None] = mapped_column(String(32))
    info: Mapped[dict[str, Any] | None] = mapped_column(doc="the venue's raw payload, masked")
    created_at: Mapped[int] = mapped_column(Ms)
    updated_at: Mapped[int] = mapped_column(Ms)
    # --- who sent it (revision 0002): the lease holder (``host:pid:token``) and its IB clientId -------
    holder: Mapped[str | None] = mapped_column(String(128), doc="lease holder that first recorded it")
    client_id: Mapped[int | None] = mapped_column(Integer, doc="IB clientId it was sent under")

    __table_args__ = (
        UniqueConstraint("client_order_id"),
        UniqueConstraint("venue", "account", "order_id"),
        Index(None, "timestamp"),
        Index(None, "status"),
    )


class TradeRow(Base):
    """A fill as ccxt's ``Trade`` structure has it; unique on ``(venue, account, trade_id)``.

    ``trade_id`` is the venue's execution id (IB ``execId``), so a fill replayed after a reconnect is
    the same row. ``fee_cost`` None means pending (IB's commission report not seen yet), never 0.0.
    ``fee_in_base = fee_cost × fx_rate`` in ``base_currency``; ``fx_rate`` is units of
    ``base_currency`` per unit of ``fee_currency`` (exactly 1 when they are the same currency).
    """

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str | None] = _run_fk(nullable=True)
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32))
    trade_id: Mapped[str] = mapped_column(String(64), doc="ccxt id: the venue's execution id")
    order_id: Mapped[str | None] = mapped_column(String(64), doc="ccxt order: the venue's order id")
    client_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    symbol: Mapped[str] = mapped_column(String(32))
    quote_currency: Mapped[str] = mapped_column(Ccy)
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str | None] = mapped_column(String(16))
    taker_or_maker: Mapped[str | None] = mapped_column(String(5), doc="liquidity: taker or maker")
    price: Mapped[Decimal]
    amount: Mapped[Decimal]
    cost: Mapped[Decimal | None]
    timestamp: Mapped[int] = mapped_column(Ms)
    fee_cost: Mapped[Decimal | None] = mapped_column(doc="commission; None: pending, never 0.0")
    fee_currency: Mapped[str | None] = mapped_column(Ccy)
    fee_rate: Mapped[Decimal | None]
    base_currency: Mapped[str | None] = mapped_column(Ccy)
    fx_rate: Mapped[Decimal | None] = mapped_column(doc="base_currency per fee_currency used for fee_in_base")
    fee_in_base: Mapped[Decimal | None] = mapped_column(doc="fee_cost × fx_rate, in base_currency")
    commission_source: Mapped[str | None] = mapped_column(String(32))
    shadow: Mapped[bool] = mapped_column(Boolean)
    info: Mapped[dict[str, Any] | None]
    created_at: Mapped[int] = mapped_column(Ms)
    updated_at: Mapped[int] = mapped_column(Ms)

    __table_args__ = (
        UniqueConstraint("venue", "account", "trade_id"),
        Index(None, "venue", "account", "order_id"),
        Index(None, "timestamp"),
    )


class PositionRow(Base):
    """Position snapshots: every row of one ``record_positions`` call shares its ``timestamp``.

    The latest snapshot of a ``(venue, account)`` is its rows at the greatest ``timestamp``; a
    symbol that went flat gets a row with ``contracts = 0``. Prices, notional and PnL are in
    ``quote_currency``; ``notional_in_base = notional × fx_rate`` in ``base_currency``.
    """

    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str] = _run_fk(nullable=False)
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[int] = mapped_column(Ms)
    symbol: Mapped[str] = mapped_column(String(32))
    quote_currency: Mapped[str] = mapped_column(Ccy)
    side: Mapped[str | None] = mapped_column(String(5), doc="long, short; None when flat")
    contracts: Mapped[Decimal] = mapped_column(doc="base units held (shares, FX base currency), >= 0")
    entry_price: Mapped[Decimal | None]
    mark_price: Mapped[Decimal | None]
    notional: Mapped[Decimal | None]
    unrealized_pnl: Mapped[Decimal | None]
    realized_pnl: Mapped[Decimal | None]
    base_currency: Mapped[str | None] = mapped_column(Ccy)
    fx_rate: Mapped[Decimal | None] = mapped_column(doc="base_currency per quote_currency")
    notional_in_base: Mapped[Decimal | None]

    __table_args__ = (Index(None, "venue", "account", "timestamp"),)


class BalanceRow(Base):
    """Cash per currency, as snapshots like :class:`PositionRow` (``total_in_base = total × fx_rate``)."""

    __tablename__ = "balances"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str] = _run_fk(nullable=False)
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[int] = mapped_column(Ms)
    currency: Mapped[str] = mapped_column(Ccy)
    free: Mapped[Decimal | None]
    used: Mapped[Decimal | None]
    total: Mapped[Decimal | None]
    base_currency: Mapped[str | None] = mapped_column(Ccy)
    fx_rate: Mapped[Decimal | None] = mapped_column(doc="base_currency per currency")
    total_in_base: Mapped[Decimal | None]

    __table_args__ = (Index(None, "venue", "account", "timestamp"),)


class EquitySnapshotRow(Base):
    """Account equity in the base currency at one time; ``fx_rates`` holds every rate used (JSON)."""

    __tablename__ = "equity_snapshots"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str] = _run_fk(nullable=False)
    venue: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[int] = mapped_column(Ms)
    currency: Mapped[str] = mapped_column(Ccy, doc="the session's base currency")
    equity: Mapped[Decimal]
    cash: Mapped[Decimal | None]
    positions_value: Mapped[Decimal | None]
    realized_pnl: Mapped[Decimal | None]
    unrealized_pnl: Mapped[Decimal | None]
    fx_rates: Mapped[dict[str, Any] | None] = mapped_column(doc='{"USD": "1.52"}: base currency per unit')

    __table_args__ = (
        UniqueConstraint("run_id", "timestamp"),
        Index(None, "timestamp"),
        Index(None, "venue", "account", "timestamp"),
    )


class MarketDataRow(Base):
    """Top of book and last trade of one symbol at one time, in ``quote_currency``; sizes in whole units."""

    __tablename__ = "market_data"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32), doc="ib, offline-gateway, ccxt, replay, ...")
    timestamp: Mapped[int] = mapped_column(Ms)
    quote_currency: Mapped[str] = mapped_column(Ccy)
    bid: Mapped[Decimal | None]
    ask: Mapped[Decimal | None]
    last: Mapped[Decimal | None]
    bid_size: Mapped[int | None] = mapped_column(BigInteger)
    ask_size: Mapped[int | None] = mapped_column(BigInteger)
    volume: Mapped[Decimal | None] = mapped_column(doc="base units traded today")

    __table_args__ = (UniqueConstraint("venue", "symbol", "timestamp", "source"),)


class PlanRow(Base):
    """A trade plan (entry, stop, target, size) from a strategy or an agent, and its status.

    Prices in ``quote_currency``; ``amount`` in base units. Status changes are also written to
    ``events`` (kind ``plan_status``), so the history of a plan is kept.
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = _run_fk(nullable=True)
    symbol: Mapped[str] = mapped_column(String(32))
    quote_currency: Mapped[str] = mapped_column(Ccy)
    side: Mapped[str] = mapped_column(String(4))
    entry: Mapped[Decimal | None]
    stop: Mapped[Decimal | None]
    target: Mapped[Decimal | None]
    amount: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, doc="why the plan exists or changed status")
    strategy: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64))
    valid_until: Mapped[int | None] = mapped_column(Ms)
    info: Mapped[dict[str, Any] | None]
    created_at: Mapped[int] = mapped_column(Ms)
    updated_at: Mapped[int] = mapped_column(Ms)

    __table_args__ = (UniqueConstraint("plan_id"), Index(None, "status"))


class EventRow(Base):
    """Audit and telemetry: tool calls, risk rejections, connectivity and circuit changes, plan status.

    ``payload`` is JSON with secrets and account numbers masked before it was written.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    run_id: Mapped[str | None] = _run_fk(nullable=True)
    timestamp: Mapped[int] = mapped_column(Ms)
    kind: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(32), doc="runner, mcp, ...")
    symbol: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None]

    __table_args__ = (Index(None, "timestamp"), Index(None, "kind", "timestamp"))


class DecisionRow(Base):
    """A strategy's decision on one bar and its life: ``decided`` -> ``deferred`` -> ``sent`` (or ``replaced``,
    ``rejected``, ``expired``); written as it happens (:mod:`sdk.ledger.decisions`), each change also an event.

    ``decision_id`` is deterministic (run, strategy, symbol, timeframe, bar time, index), so a runner that decides
    a bar again after a crash finds the row it wrote. ``client_order_id`` is what it becomes: the order's client
    order id (IB's ``orderRef``), or the plan's id. ``price`` is the bar's close in the quote currency (what an
    order without ``amount`` is sized from); ``amount`` in base units. ``not_before`` and ``valid_until`` are epoch
    milliseconds UTC on the runner's clock: the earliest moment it may be sent and the end of its validity.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = _run_fk(nullable=False)
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    bar_ts: Mapped[int] = mapped_column(Ms)
    seq: Mapped[int] = mapped_column(Integer, doc="the decision's index among its bar's decisions")
    kind: Mapped[str] = mapped_column(String(8), doc="signal or plan")
    side: Mapped[str] = mapped_column(String(4))
    amount: Mapped[Decimal | None] = mapped_column(doc="base units; None: sized when sent")
    price: Mapped[Decimal] = mapped_column(doc="the bar's close, quote currency")
    status: Mapped[str] = mapped_column(String(16))
    not_before: Mapped[int] = mapped_column(Ms)
    valid_until: Mapped[int | None] = mapped_column(Ms, doc="None: no market hours (24/7 venue)")
    client_order_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, doc="why the last status change")
    body: Mapped[dict[str, Any]] = mapped_column(doc="the decision as the strategy made it (stop, target, ...)")
    created_at: Mapped[int] = mapped_column(Ms)
    updated_at: Mapped[int] = mapped_column(Ms)

    __table_args__ = (UniqueConstraint("decision_id"), Index(None, "run_id", "status"))


class LeaseRow(Base):
    """Who owns a resource (``run:<run_id>``, ``mcp:<venue>:<masked account>``) until when, on the database's clock.

    ``holder`` is one process's lease identity (``host:pid:token``); ``client_id`` the IB API client id it
    trades under once connected. Times are integer ms from the database's own clock (so the lease holds across
    hosts on PostgreSQL): a lease is live while ``expires_at`` is later than the database's now. Written only
    through :mod:`sdk.ledger.leases`.
    """

    __tablename__ = "leases"

    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int | None] = mapped_column(Integer, doc="IB clientId of the holder, once connected")
    acquired_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")
    heartbeat_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")
    expires_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")

    __table_args__ = (Index(None, "holder"),)


class KillSwitchRow(Base):
    """The kill switch (one row per ``scope``; ``global`` freezes every process on this ledger).

    While ``engaged`` no process opens a position (exits still go). ``changed_by`` says who (``user@host`` or
    ``mcp:...``), ``changed_at`` when on the database's clock (ms UTC), ``reason`` why. Written only through
    :mod:`sdk.ledger.killswitch`.
    """

    __tablename__ = "kill_switch"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    engaged: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")
    reason: Mapped[str | None] = mapped_column(Text)


class ConfirmationTokenRow(Base):
    """A confirmation token ``preview_order`` issued: the exact order it stands for, until when, and its state.

    ``token_hash`` is the SHA-256 of the token (the token itself is never stored: a ledger reader cannot place
    orders with it). ``issued_at``/``expires_at`` are on the database's clock (ms UTC), so every MCP server process
    on this ledger agrees; ``state`` is ``issued``, ``placing`` or ``placed``. Written only through
    :mod:`sdk.ledger.tokens`.
    """

    __tablename__ = "confirmation_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64))
    intent: Mapped[dict[str, Any]] = mapped_column(doc="the OrderIntent to submit, as JSON")
    warnings: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    state: Mapped[str] = mapped_column(String(16))
    submitted: Mapped[bool] = mapped_column(Boolean)
    issued_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")
    expires_at: Mapped[int] = mapped_column(Ms, doc="database clock, ms UTC")
    issued_by: Mapped[str] = mapped_column(String(128), doc="host:pid:token of the issuing process")
    claimed_at: Mapped[int | None] = mapped_column(Ms, doc="database clock, ms UTC: when placing last began")
    result: Mapped[dict[str, Any] | None]

    __table_args__ = (Index(None, "client_order_id"), Index(None, "expires_at"))


class PacingLoginRow(Base):
    """One IB login's shared historical-data pacing state: the row every process locks before admitting a request.

    ``login`` is the budget's key (``ib:`` and a hash of the login's managed accounts: never an account number).
    ``blocked_until_us`` holds every request back after a 162 pacing violation (the budget's clock, microseconds
    since the epoch), ``strikes`` is how many violations came in a row (the hold escalates 2 s, 15 s, 10 min) and
    ``violations`` counts them all. Written only through :mod:`sdk.ledger.pacing`.
    """

    __tablename__ = "pacing_logins"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_until_us: Mapped[int] = mapped_column(BigInteger, doc="budget clock, microseconds since the epoch")
    strikes: Mapped[int] = mapped_column(Integer)
    violations: Mapped[int] = mapped_column(Integer)


class PacingRequestRow(Base):
    """A historical-data request a process on ``login`` admitted: when (the budget's clock, microseconds since the
    epoch), its weight (BID_ASK counts 2), and hashes of its identity (the 15-second rule) and series (contract,
    exchange, tick type: the 2-second rule). Rows older than IB's ten-minute window are deleted as they age out.
    Written only through :mod:`sdk.ledger.pacing`.
    """

    __tablename__ = "pacing_requests"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    login: Mapped[str] = mapped_column(String(64))
    at_us: Mapped[int] = mapped_column(BigInteger, doc="budget clock, microseconds since the epoch")
    weight: Mapped[int] = mapped_column(Integer)
    identity: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the request's identity")
    series: Mapped[str] = mapped_column(String(64), doc="SHA-256 of (contract, exchange, tick type)")

    __table_args__ = (Index(None, "login", "at_us"),)
