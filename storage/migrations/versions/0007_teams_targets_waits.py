"""teams (routing), response targets per client, and the waits of clients (reminders)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_portal", sa.String(length=40), nullable=True),
        sa.Column("channel_managers", sa.String(length=40), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("code", name=op.f("uq_teams_code")),
    )
    op.create_table(
        "response_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dit_id", sa.Integer(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("ended_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("next_check_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("reminded_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("acked_by_id", sa.Integer(), nullable=True),
        sa.Column("acked_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acked_by_id"],
            ["collaborators.id"],
            name=op.f("fk_response_waits_acked_by_id_collaborators"),
        ),
        sa.ForeignKeyConstraint(
            ["dit_id"], ["dits.id"], name=op.f("fk_response_waits_dit_id_dits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_waits")),
        sa.UniqueConstraint(
            "dit_id", "started_at", name=op.f("uq_response_waits_dit_id_started_at")
        ),
    )
    with op.batch_alter_table("response_waits", schema=None) as batch_op:
        batch_op.create_index("ix_response_waits_next_check_at", ["next_check_at"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_response_hours", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("next_response_hours", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_clients_team_id"), ["team_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_clients_team_id_teams"), "teams", ["team_id"], ["id"]
        )

    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_collaborators_team_id"), ["team_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_collaborators_team_id_teams"), "teams", ["team_id"], ["id"]
        )

    _case_insensitive_keys()

    with op.batch_alter_table("dits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_since", storage.types.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_dits_waiting_since", ["waiting_since"], unique=False)

    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchanges_occurred_at",
            ["occurred_at", "dit_id", "direction", "type_code", "deleted_at"],
            unique=False,
        )

    # The DITs already waiting on us: their wait starts at the client's oldest live message
    # after our last live one, as refresh_indicators computes it from now on.
    op.execute(
        """
        UPDATE dits SET waiting_since = (
            SELECT MIN(r.occurred_at) FROM exchanges r
            WHERE r.dit_id = dits.id AND r.deleted_at IS NULL AND r.direction = 'received'
              AND NOT EXISTS (
                SELECT 1 FROM exchanges s
                WHERE s.dit_id = dits.id AND s.deleted_at IS NULL AND s.direction = 'sent'
                  AND s.occurred_at >= r.occurred_at))
        WHERE last_direction = 'received'
        """
    )
    op.execute(
        """
        INSERT INTO response_waits (dit_id, started_at, first, next_check_at, created_at)
        SELECT d.id, d.waiting_since,
               NOT EXISTS (SELECT 1 FROM exchanges s WHERE s.dit_id = d.id
                           AND s.deleted_at IS NULL AND s.direction = 'sent'),
               d.waiting_since, d.waiting_since
        FROM dits d
        WHERE d.waiting_since IS NOT NULL
          AND d.state NOT IN ('cloturee', 'annulee')
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index("ix_exchanges_occurred_at")

    with op.batch_alter_table("dits", schema=None) as batch_op:
        batch_op.drop_index("ix_dits_waiting_since")
        batch_op.drop_column("waiting_since")

    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_collaborators_team_id_teams"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_collaborators_team_id"))
        batch_op.drop_column("team_id")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_clients_team_id_teams"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_clients_team_id"))
        batch_op.drop_column("next_response_hours")
        batch_op.drop_column("first_response_hours")
        batch_op.drop_column("team_id")

    _case_insensitive_keys()
    with op.batch_alter_table("response_waits", schema=None) as batch_op:
        batch_op.drop_index("ix_response_waits_next_check_at")

    op.drop_table("response_waits")
    op.drop_table("teams")


def _case_insensitive_keys() -> None:
    """Put back migration 0005's unique lower() indexes of clients and collaborators.

    On SQLite a foreign key added or dropped in batch mode copies the table, and the copy has
    only the indexes SQLite can reflect: not those on an expression. Without this, SQLite would
    accept `acme` beside `ACME` again (tests/foundation/test_input_rules.py).
    """
    for name, table, column in (
        ("ux_collaborators_code_lower", "collaborators", "code"),
        ("ux_collaborators_mail1_lower", "collaborators", "mail1"),
        ("ux_clients_code_lower", "clients", "code"),
    ):
        op.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} (lower({column}))")
