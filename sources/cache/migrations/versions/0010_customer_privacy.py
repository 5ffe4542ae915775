"""customer privacy: consent records per customer and purpose (append-only history; the newest per purpose is
current), data subject requests (export, erasure) and the suppression list of erased customers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sources.cache.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'consent_records',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('recorded_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('actor_role', sa.String(length=32), nullable=False),
        sa.Column('location_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('ip_address', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_consent_records_customer', 'consent_records', ['customer_id', 'purpose', 'id'])
    op.create_table(
        'data_subject_requests',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sources.cache.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('requested_by', sa.String(length=200), nullable=False),
        sa.Column('outcomes', sa.JSON(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        op.f('ix_data_subject_requests_customer_id'), 'data_subject_requests', ['customer_id'], unique=False
    )
    op.create_table(
        'customer_suppressions',
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('email_hash', sa.String(length=64), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=False),
        sa.Column('suppressed_at', sources.cache.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('customer_id'),
    )
    op.create_index(op.f('ix_customer_suppressions_email_hash'), 'customer_suppressions', ['email_hash'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_suppressions_email_hash'), table_name='customer_suppressions')
    op.drop_table('customer_suppressions')
    op.drop_index(op.f('ix_data_subject_requests_customer_id'), table_name='data_subject_requests')
    op.drop_table('data_subject_requests')
    op.drop_index('ix_consent_records_customer', table_name='consent_records')
    op.drop_table('consent_records')
