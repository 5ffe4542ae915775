"""webhook receipts know their entity and the event's own time (an older event never overwrites newer data)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entity_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('occurred_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), server_default='applied', nullable=False))
        batch_op.create_index('ix_webhook_receipts_entity', ['source', 'entity_key', 'occurred_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_receipts_entity')
        batch_op.drop_column('outcome')
        batch_op.drop_column('occurred_at')
        batch_op.drop_column('entity_key')
