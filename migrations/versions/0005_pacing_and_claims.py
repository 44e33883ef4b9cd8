"""IB's historical-data pacing budget shared by every process on one login: a locked row per login and the
requests admitted in the last ten minutes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pacing_logins",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("blocked_until_us", sa.BigInteger(), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("violations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_pacing_logins")),
    )
    op.create_table(
        "pacing_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pacing_requests")),
    )
    op.create_index(op.f("ix_pacing_requests_login_at_us"), "pacing_requests", ["login", "at_us"], unique=False)
    op.add_column("confirmation_tokens", sa.Column("claimed_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("confirmation_tokens") as batch:
        batch.drop_column("claimed_at")
    op.drop_index(op.f("ix_pacing_requests_login_at_us"), table_name="pacing_requests")
    op.drop_table("pacing_requests")
    op.drop_table("pacing_logins")
