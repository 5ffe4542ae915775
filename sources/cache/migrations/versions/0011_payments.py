"""bookings keep what their location last reported of the customer's payment (paid, refunded, unpaid), the
amount and when; revenue entries follow it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-20 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reported_payment', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('reported_paid_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column('payment_reported_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('payment_reported_at')
        batch_op.drop_column('reported_paid_minor')
        batch_op.drop_column('reported_payment')
