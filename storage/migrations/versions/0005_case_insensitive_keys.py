"""codes and DIT numbers unique without regard to case; no two collaborateurs share a Mail 1

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:00:00

Expression indexes on lower(column): SQLite (3.9 and later) and PostgreSQL both have them, and
the lookups (storage/repositories.same_key) compare lower() on both sides so they use them.
A database that already holds two codes differing only by case cannot take the index: the
upgrade stops with the database's error naming the index, and nothing is changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = (
    ("ux_collaborators_code_lower", "collaborators", "code"),
    ("ux_collaborators_mail1_lower", "collaborators", "mail1"),
    ("ux_clients_code_lower", "clients", "code"),
    ("ux_contacts_code_lower", "contacts", "code"),
    ("ux_dits_number_lower", "dits", "number"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [sa.func.lower(sa.column(column))], unique=True)


def downgrade() -> None:
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
