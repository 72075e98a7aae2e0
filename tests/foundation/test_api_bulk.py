"""`PUT /api/v1/dits`: many DITs in one request, the import's semantics (issue 13).

Every answer is checked against the OpenAPI document (tests/foundation/openapi_check.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from ditbot.core.context import Context
from storage import repositories as repo
from tests.foundation.test_api import AUTH, EN, checked_app


@pytest.fixture
def client(ctx: Context, seeded: dict[str, Any]) -> FlaskClient:
    return checked_app(ctx).test_client()


def dit(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "number": f"BULK-{n:05d}",
        "client": "ACME",
        "contact": "ACME-PM",
        "title": f"Intervention {n}",
        "state": "en_cours",
        "technician": "JDU",
        "created_at": "2026-11-20T08:00:00Z",
        **changes,
    }


def test_many_dits_are_created_then_a_second_put_changes_only_what_differs(
    client: FlaskClient, ctx: Context
) -> None:
    rows = [dit(n) for n in range(300)]
    first = client.put("/api/v1/dits", json={"dits": rows}, headers=AUTH)
    assert first.status_code == 200
    assert first.get_json() == {"created": 300, "updated": 0, "unchanged": 0}
    got = client.get("/api/v1/dits/BULK-00042", headers=AUTH).get_json()
    assert got["title"] == "Intervention 42" and got["technician"]["code"] == "JDU"

    rows[7] = dit(7, title="Copieur réparé", state="travail_termine")
    again = client.put("/api/v1/dits", json={"dits": rows}, headers=AUTH)
    assert again.get_json() == {"created": 0, "updated": 1, "unchanged": 299}
    seven = client.get("/api/v1/dits/BULK-00007", headers=AUTH).get_json()
    assert (seven["title"], seven["state"]) == ("Copieur réparé", "travail_termine")
    with ctx.db.session() as session:
        stored = repo.dit_by_number(session, "BULK-00007")
        assert stored is not None and stored.finished_at is not None  # the portal window starts


def test_one_bad_row_refuses_the_whole_request_naming_row_and_field(
    client: FlaskClient, ctx: Context
) -> None:
    rows = [dit(n) for n in range(50)]
    rows[31] = dit(31, contact="BOUL-LL")  # a contact of another client
    answer = client.put("/api/v1/dits", json={"dits": rows}, headers=EN)
    assert answer.status_code == 409  # as PUT /api/v1/dits/{number} answers it
    problem = answer.get_json()
    assert "dits[31].contact" in problem["errors"]
    assert "BOUL-LL" in problem["detail"]
    rows[31] = dit(31)
    rows[40] = dit(12)  # the same number twice
    twice = client.put("/api/v1/dits", json={"dits": rows}, headers=EN).get_json()
    assert twice["errors"] == {
        "dits[40].number": "dits[40].number: BULK-00012 appears twice in the request "
        "(first at row 12)."
    }
    with ctx.db.session() as session:
        assert repo.dit_by_number(session, "BULK-00000") is None  # nothing was written


def test_an_empty_list_or_an_unknown_field_is_refused(client: FlaskClient) -> None:
    empty = client.put("/api/v1/dits", json={"dits": []}, headers=EN)
    assert empty.status_code == 400
    assert empty.get_json()["errors"] == {"dits": "dits: at least 1 item"}
    vide = client.put("/api/v1/dits", json={"dits": []}, headers=AUTH)  # French by default
    assert vide.get_json()["errors"] == {"dits": "dits\u202f: au moins 1 élément"}
    odd = client.put("/api/v1/dits", json={"dits": [dit(1, colour="red")]}, headers=EN)
    assert odd.status_code == 400 and "dits[0].colour" in odd.get_json()["errors"]
    assert client.put("/api/v1/dits", json={"dits": [dit(1)]}).status_code == 401


# pydantic's own English must never reach a user: every refusal of a number is in the catalog.
HOURS = [
    (0, "a number greater than 0 is expected here", "un nombre supérieur à 0 est attendu ici"),
    (
        99999,
        "a number of at most 8784 is expected here",
        "un nombre d’au plus 8784 est attendu ici",
    ),
    (
        "4",
        "a number is expected here, e.g. 4 or 2.5",
        "un nombre est attendu ici, par ex. 4 ou 2,5",
    ),
    (
        True,
        "a number is expected here, e.g. 4 or 2.5",
        "un nombre est attendu ici, par ex. 4 ou 2,5",
    ),
]


@pytest.mark.parametrize(("hours", "english", "french"), HOURS)
def test_a_client_target_that_is_not_a_number_of_hours_is_refused_in_words_of_ours(
    client: FlaskClient, hours: Any, english: str, french: str
) -> None:
    body = {"name": "Acme SA", "first_response_hours": hours}
    for headers, words in ((EN, f"first_response_hours: {english}"), (AUTH, french)):
        answer = client.put("/api/v1/clients/ACME", json=body, headers=headers)
        assert answer.status_code == 400
        assert words in answer.get_json()["errors"]["first_response_hours"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client: FlaskClient, token: str) -> None:
    body = f'{{"name": "Acme SA", "first_response_hours": {token}}}'
    headers = {**EN, "Content-Type": "application/json"}
    answer = client.put("/api/v1/clients/ACME", data=body, headers=headers)
    assert answer.status_code == 400
    assert answer.get_json()["detail"] == "The body is not valid JSON (UTF-8)."
