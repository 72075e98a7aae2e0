from domain.exchanges import Actor, ExchangeInput, log_exchange
from storage import repositories as repo


def test_log_received_with_defaults(db, seeded):
    with db.session() as s:
        me = repo.collaborator_by_code(s, "JDU")
        ex, created = log_exchange(s, "DIT-2026-0001", ExchangeInput("received", "Allô"), Actor("slack", me))
        assert created and ex.sent_by_contact.code == "ACME-PM" and ex.received_by_collaborator.code == "JDU"
    with db.session() as s:
        assert repo.dit_by_number(s, "DIT-2026-0001").exchange_count == 1
