"""inbound mail: the mails that came in, and the thread of each mail sent

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_references", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_exchanges_mail_message_id"), ["mail_message_id"], unique=False
        )

    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("dit_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("exchange_id", sa.Integer(), nullable=True),
        sa.Column("answers_exchange_id", sa.Integer(), nullable=True),
        sa.Column("from_address", sa.String(length=254), nullable=True),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("unknown_sender", sa.Boolean(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("raw_path", sa.String(length=500), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answers_exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_inbound_mails_answers_exchange_id_exchanges"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_inbound_mails_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(["dit_id"], ["dits.id"], name=op.f("fk_inbound_mails_dit_id_dits")),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name=op.f("fk_inbound_mails_exchange_id_exchanges")
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["collaborators.id"],
            name=op.f("fk_inbound_mails_handled_by_id_collaborators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint("key", name=op.f("uq_inbound_mails_key")),
    )
    with op.batch_alter_table("inbound_mails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_mails_answers_exchange_id"), ["answers_exchange_id"]
        )
        batch_op.create_index(batch_op.f("ix_inbound_mails_dit_id"), ["dit_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mails_exchange_id"), ["exchange_id"])
        batch_op.create_index(batch_op.f("ix_inbound_mails_message_id"), ["message_id"])
        batch_op.create_index("ix_inbound_mails_status", ["status", "received_at"])


def downgrade() -> None:
    op.drop_table("inbound_mails")
    with op.batch_alter_table("exchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchanges_mail_message_id"))
        batch_op.drop_column("mail_references")
