"""the figures of each exchange, kept as they change (`/dit stats` for a month reads a range)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UNCOUNTED = "answered_at IS NOT NULL AND response_seconds IS NULL"


def upgrade() -> None:
    op.create_table(
        "exchange_figures",
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("dit_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("received", sa.Boolean(), nullable=False),
        sa.Column("relance", sa.Boolean(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("response_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dit_id"], ["dits.id"], name=op.f("fk_exchange_figures_dit_id_dits")
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_exchange_figures_exchange_id_exchanges"),
        ),
        sa.PrimaryKeyConstraint("exchange_id", name=op.f("pk_exchange_figures")),
    )
    # Filled before the indexes are built: one sort instead of 2M index inserts.
    _backfill()
    op.create_index("ix_exchange_figures_dit_id", "exchange_figures", ["dit_id"])
    op.create_index(
        "ix_exchange_figures_occurred_at",
        "exchange_figures",
        [
            "occurred_at",
            "received",
            "technician_id",
            "client_id",
            "relance",
            "first",
            "response_seconds",
        ],
    )
    op.create_index(
        "ix_exchange_figures_uncounted",
        "exchange_figures",
        ["exchange_id"],
        sqlite_where=sa.text(UNCOUNTED),
        postgresql_where=sa.text(UNCOUNTED),
    )


def _backfill() -> None:
    """The figures of the exchanges already recorded, with their business times.

    The company's calendar (working days and hours, holidays, zone) is the application's
    setting: read here as `ditbot serve` reads it. An invalid setting stops the upgrade with
    the same message the application would give.
    """
    from ditbot.core.settings import Settings
    from ditbot.domain.business_time import BusinessCalendar
    from ditbot.domain.timers import backfill_figures

    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM exchanges LIMIT 1")).first() is None:
        return  # a new database: nothing to fill, and no settings needed
    backfill_figures(connection, BusinessCalendar.from_settings(Settings.from_env()))


def downgrade() -> None:
    op.drop_index("ix_exchange_figures_uncounted", table_name="exchange_figures")
    op.drop_index("ix_exchange_figures_occurred_at", table_name="exchange_figures")
    op.drop_index("ix_exchange_figures_dit_id", table_name="exchange_figures")
    op.drop_table("exchange_figures")
