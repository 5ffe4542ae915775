"""crash safety: idempotency claims and sync jobs held by leases

A claim or a running job is held by the process that renews its lease; one whose lease expired lost its
process and is taken over by the next request or trigger. Rows written before this revision have no lease:
they count as expired (their process is from before the upgrade, so it is gone).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('idempotency_keys', 'sync_jobs')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
            batch_op.add_column(
                sa.Column('lease_expires_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lease_expires_at')
            batch_op.drop_column('lease_owner')
