"""Shared state for several processes: the kill switch and confirmation tokens as rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kill_switch",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_kill_switch")),
    )
    op.create_table(
        "confirmation_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("warnings", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_confirmation_tokens")),
    )
    op.create_index(
        op.f("ix_confirmation_tokens_client_order_id"), "confirmation_tokens", ["client_order_id"], unique=False
    )
    op.create_index(op.f("ix_confirmation_tokens_expires_at"), "confirmation_tokens", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmation_tokens_expires_at"), table_name="confirmation_tokens")
    op.drop_index(op.f("ix_confirmation_tokens_client_order_id"), table_name="confirmation_tokens")
    op.drop_table("confirmation_tokens")
    op.drop_table("kill_switch")
