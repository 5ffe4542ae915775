"""bookings keep what their source says beyond the network's fields (a website's transport, addons, guest count,
booking ref, payment id) and the notes an admin adds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_details', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('admin_notes', sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('admin_notes')
        batch_op.drop_column('source_details')
