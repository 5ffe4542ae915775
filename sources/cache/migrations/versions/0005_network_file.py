"""network file: retired locations; credentials only in location_credentials

The plaintext `locations.api_secret` and the unkeyed `locations.api_key_hash` go. Their values are not
carried over: a migration has no master key to encrypt them under, and both only ever held the embedded
demo's credentials, which the gateway creates afresh (randomly) on its next start; a network file's
locations take theirs from the environment or files named in the file.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_column('api_key_hash')
        batch_op.drop_column('api_secret')


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('api_key_hash', sa.String(length=128), nullable=True))
        batch_op.drop_column('retired_at')
