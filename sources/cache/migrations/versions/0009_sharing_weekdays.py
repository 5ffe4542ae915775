"""sharing rules name their weekday rule `weekdays`: rules stored under the old input key `days` are renamed

shareResource used to take the key `days` while everything that read the rules (Resource.sharedWith, the demo
network) read `weekdays`, so a weekday rule written through the API was stored and never applied. Rules now
bind; this renames the key in place so what was meant is what binds. A share that had both keeps `weekdays`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

shares = sa.table('resource_shares', sa.column('id', sa.Integer), sa.column('rules', sa.JSON))


def upgrade() -> None:
    connection = op.get_bind()
    for share_id, rules in connection.execute(sa.select(shares.c.id, shares.c.rules)).all():
        if isinstance(rules, dict) and 'days' in rules:
            renamed = {key: value for key, value in rules.items() if key != 'days'}
            renamed.setdefault('weekdays', rules['days'])
            connection.execute(shares.update().where(shares.c.id == share_id).values(rules=renamed))


def downgrade() -> None:
    # `days` was never read: nothing to give back.
    pass
