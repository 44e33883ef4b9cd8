"""Initial ledger: sessions, orders, trades, positions, balances, equity, market data, plans, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_data",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("quote_currency", sa.String(length=10), nullable=False),
        sa.Column("bid", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("ask", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("last", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("bid_size", sa.BigInteger(), nullable=True),
        sa.Column("ask_size", sa.BigInteger(), nullable=True),
        sa.Column("volume", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_data")),
        sa.UniqueConstraint(
            "venue", "symbol", "timestamp", "source", name=op.f("uq_market_data_venue_symbol_timestamp_source")
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("program", sa.String(length=32), nullable=True),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("base_currency", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("config_hash", sa.String(length=64), nullable=True),
        sa.Column("git_sha", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_started_at"), "sessions", ["started_at"], unique=False)

    op.create_table(
        "balances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("free", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("used", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("total", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("base_currency", sa.String(length=10), nullable=True),
        sa.Column("fx_rate", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("total_in_base", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_balances_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balances")),
    )
    op.create_index(op.f("ix_balances_run_id"), "balances", ["run_id"], unique=False)
    op.create_index(
        op.f("ix_balances_venue_account_timestamp"), "balances", ["venue", "account", "timestamp"], unique=False
    )

    op.create_table(
        "equity_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("equity", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("cash", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("positions_value", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("realized_pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("unrealized_pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fx_rates", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_equity_snapshots_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_snapshots")),
        sa.UniqueConstraint("run_id", "timestamp", name=op.f("uq_equity_snapshots_run_id_timestamp")),
    )
    op.create_index(op.f("ix_equity_snapshots_run_id"), "equity_snapshots", ["run_id"], unique=False)
    op.create_index(op.f("ix_equity_snapshots_timestamp"), "equity_snapshots", ["timestamp"], unique=False)
    op.create_index(
        op.f("ix_equity_snapshots_venue_account_timestamp"),
        "equity_snapshots",
        ["venue", "account", "timestamp"],
        unique=False,
    )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_events_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_kind_timestamp"), "events", ["kind", "timestamp"], unique=False)
    op.create_index(op.f("ix_events_run_id"), "events", ["run_id"], unique=False)
    op.create_index(op.f("ix_events_timestamp"), "events", ["timestamp"], unique=False)

    op.create_table(
        "plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quote_currency", sa.String(length=10), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("entry", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("stop", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("target", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("amount", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("valid_until", sa.BigInteger(), nullable=True),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_plans_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("plan_id", name=op.f("uq_plans_plan_id")),
    )
    op.create_index(op.f("ix_plans_run_id"), "plans", ["run_id"], unique=False)
    op.create_index(op.f("ix_plans_status"), "plans", ["status"], unique=False)

    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quote_currency", sa.String(length=10), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=True),
        sa.Column("contracts", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("entry_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("mark_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("notional", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("unrealized_pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("realized_pnl", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("base_currency", sa.String(length=10), nullable=True),
        sa.Column("fx_rate", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("notional_in_base", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_positions_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
    )
    op.create_index(op.f("ix_positions_run_id"), "positions", ["run_id"], unique=False)
    op.create_index(
        op.f("ix_positions_venue_account_timestamp"), "positions", ["venue", "account", "timestamp"], unique=False
    )

    op.create_table(
        "trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("client_order_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quote_currency", sa.String(length=10), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("taker_or_maker", sa.String(length=5), nullable=True),
        sa.Column("price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("cost", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("fee_cost", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee_currency", sa.String(length=10), nullable=True),
        sa.Column("fee_rate", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("base_currency", sa.String(length=10), nullable=True),
        sa.Column("fx_rate", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee_in_base", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("commission_source", sa.String(length=32), nullable=True),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_trades_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint("venue", "account", "trade_id", name=op.f("uq_trades_venue_account_trade_id")),
    )
    op.create_index(op.f("ix_trades_client_order_id"), "trades", ["client_order_id"], unique=False)
    op.create_index(op.f("ix_trades_run_id"), "trades", ["run_id"], unique=False)
    op.create_index(op.f("ix_trades_timestamp"), "trades", ["timestamp"], unique=False)
    op.create_index(op.f("ix_trades_venue_account_order_id"), "trades", ["venue", "account", "order_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("venue", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("client_order_id", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("quote_currency", sa.String(length=10), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("time_in_force", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("trigger_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("average", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("amount", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("filled", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("remaining", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("cost", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee_cost", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee_currency", sa.String(length=10), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=True),
        sa.Column("post_only", sa.Boolean(), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("last_trade_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("last_update_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("risk_decision", sa.JSON(), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("commission_source", sa.String(length=32), nullable=True),
        sa.Column("info", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], name=op.f("fk_orders_plan_id_plans")),
        sa.ForeignKeyConstraint(["run_id"], ["sessions.run_id"], name=op.f("fk_orders_run_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
        sa.UniqueConstraint("venue", "account", "order_id", name=op.f("uq_orders_venue_account_order_id")),
    )
    op.create_index(op.f("ix_orders_plan_id"), "orders", ["plan_id"], unique=False)
    op.create_index(op.f("ix_orders_run_id"), "orders", ["run_id"], unique=False)
    op.create_index(op.f("ix_orders_status"), "orders", ["status"], unique=False)
    op.create_index(op.f("ix_orders_timestamp"), "orders", ["timestamp"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_timestamp"), table_name="orders")
    op.drop_index(op.f("ix_orders_status"), table_name="orders")
    op.drop_index(op.f("ix_orders_run_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_plan_id"), table_name="orders")

    op.drop_table("orders")
    op.drop_index(op.f("ix_trades_venue_account_order_id"), table_name="trades")
    op.drop_index(op.f("ix_trades_timestamp"), table_name="trades")
    op.drop_index(op.f("ix_trades_run_id"), table_name="trades")
    op.drop_index(op.f("ix_trades_client_order_id"), table_name="trades")

    op.drop_table("trades")
    op.drop_index(op.f("ix_positions_venue_account_timestamp"), table_name="positions")
    op.drop_index(op.f("ix_positions_run_id"), table_name="positions")

    op.drop_table("positions")
    op.drop_index(op.f("ix_plans_status"), table_name="plans")
    op.drop_index(op.f("ix_plans_run_id"), table_name="plans")

    op.drop_table("plans")
    op.drop_index(op.f("ix_events_timestamp"), table_name="events")
    op.drop_index(op.f("ix_events_run_id"), table_name="events")
    op.drop_index(op.f("ix_events_kind_timestamp"), table_name="events")

    op.drop_table("events")
    op.drop_index(op.f("ix_equity_snapshots_venue_account_timestamp"), table_name="equity_snapshots")
    op.drop_index(op.f("ix_equity_snapshots_timestamp"), table_name="equity_snapshots")
    op.drop_index(op.f("ix_equity_snapshots_run_id"), table_name="equity_snapshots")

    op.drop_table("equity_snapshots")
    op.drop_index(op.f("ix_balances_venue_account_timestamp"), table_name="balances")
    op.drop_index(op.f("ix_balances_run_id"), table_name="balances")

    op.drop_table("balances")
    op.drop_index(op.f("ix_sessions_started_at"), table_name="sessions")

    op.drop_table("sessions")
    op.drop_table("market_data")
