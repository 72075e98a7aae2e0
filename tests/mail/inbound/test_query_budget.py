"""One inbound mail costs a fixed number of queries: a regression in the write path shows."""

from __future__ import annotations

from ditbot.core.context import Context
from ditbot.mail.inbound.pipeline import receive
from tests.mail.inbound.conftest import Raw, SentMail
from tests.portal.test_query_budget import counted

# 17 before the DIT's write path read its live exchanges once (20 for a portal message); 16
# before the exchange stopped looking its key up again after the inbound mail's own lookup.
QUERIES_PER_MAIL = 15


def test_one_inbound_mail_costs_a_fixed_number_of_queries(
    mail_ctx: Context, raw: Raw, sent: SentMail
) -> None:
    with counted(mail_ctx.db) as statements:
        outcome = receive(mail_ctx, raw("thunderbird_reply.eml"))
    assert outcome.dit == "DIT-2026-0001"
    assert outcome.exchange_id is not None
    shown = "\n".join(statement.split("\n")[0][:150] for statement in statements)
    assert len(statements) == QUERIES_PER_MAIL, shown
