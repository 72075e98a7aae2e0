"""draft DM kept in place, Slack language cache with an age

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dm_channel", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("dm_ts", sa.String(length=40), nullable=True))
    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("locale_checked_at", storage.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.drop_column("locale_checked_at")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("dm_ts")
        batch_op.drop_column("dm_channel")
