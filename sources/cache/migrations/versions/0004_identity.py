"""identity: JWT signing keys and location credentials at rest

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=10), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retires_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_keys'))
    )
    op.create_table('location_credentials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('location_id', sa.String(length=64), nullable=False),
    sa.Column('api_key_hash', sa.String(length=64), nullable=True),
    sa.Column('secrets', sa.Text(), nullable=True),
    sa.Column('created_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_location_credentials_location_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_credentials'))
    )
    with op.batch_alter_table('location_credentials', schema=None) as batch_op:
        batch_op.create_index('ix_location_credentials_api_key_hash', ['api_key_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_location_credentials_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('location_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_credentials_location_id'))
        batch_op.drop_index('ix_location_credentials_api_key_hash')
    op.drop_table('location_credentials')
    op.drop_table('signing_keys')
