"""Teams and per-client targets in the import file and the REST API; routing of escalations."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.workers.reminders import ReminderScanner, ReminderWorker
from ditbot.core.context import Context
from ditbot.domain.errors import ValidationFailed
from ditbot.domain.reference import import_data
from ditbot.playground.slack_api import FakeSlack
from ditbot.web.app import create_web_app
from storage import repositories as repo
from tests.credentials import API_TOKEN
from tests.timers.conftest import MANAGERS, Clock, paris, posts, record
from tests.timers.conftest import drain as deliver

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
NORTH = "CNORTHMGR"

TEAMS = {
    "teams": [
        {"code": "NORD", "name": "Agence Nord", "channel_managers": NORTH, "locale": "en"},
        {"code": "SUD", "name": "Agence Sud"},
    ],
    "clients": [
        {"code": "ACME", "name": "Acme SA", "team": "NORD", "first_response_hours": 2},
        {"code": "BOUL", "name": "Boulangerie Léon", "team": "SUD"},
    ],
}


@pytest.fixture
def api(ctx: Context) -> FlaskClient:
    return create_web_app(ctx, None).test_client()


def test_import_sets_teams_and_targets_and_again_changes_nothing(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    with ctx.db.session() as session:
        first = import_data(session, TEAMS)
    assert first.created == {"teams": 2}
    with ctx.db.session() as session:
        again = import_data(session, TEAMS)
        acme = repo.client_by_code(session, "ACME")
        assert acme is not None and acme.team is not None
        assert (acme.team.code, acme.first_response_hours, acme.next_response_hours) == (
            "NORD",
            2.0,
            None,
        )
    assert again.created == {} and again.updated == {}


def test_an_unknown_team_or_a_bad_target_is_refused_by_row_and_field(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    bad = {"clients": [{"code": "ACME", "name": "Acme SA", "team": "OUEST"}]}
    with pytest.raises(ValidationFailed) as caught, ctx.db.session() as session:
        import_data(session, bad)
    assert "clients[0].team" in caught.value.errors
    zero = {"clients": [{"code": "ACME", "name": "Acme SA", "first_response_hours": 0}]}
    with pytest.raises(ValidationFailed) as caught, ctx.db.session() as session:
        import_data(session, zero)
    assert "clients[0].first_response_hours" in caught.value.errors


def test_rest_api_puts_a_team_and_a_client_in_it(api: FlaskClient, seeded: dict[str, Any]) -> None:
    created = api.put(
        "/api/v1/teams/NORD", json={"name": "Agence Nord", "channel_managers": NORTH}, headers=AUTH
    )
    assert created.status_code == 201
    assert created.get_json()["channel_managers"] == NORTH
    client = api.put(
        "/api/v1/clients/ACME",
        json={"name": "Acme SA", "team": "NORD", "next_response_hours": 6},
        headers=AUTH,
    )
    assert client.status_code == 200
    assert client.get_json()["team"] == "NORD"
    assert client.get_json()["next_response_hours"] == 6
    refused = api.put(
        "/api/v1/teams/SUD", json={"name": "S", "channel_portal": "#general"}, headers=AUTH
    )
    assert refused.status_code == 400
    assert "channel_portal" in refused.get_data(as_text=True)


def test_an_escalation_goes_to_the_team_channel_and_falls_back_to_the_global_one(
    ctx: Context,
    seeded: dict[str, Any],
    slack: FakeSlack,
    scanner: ReminderScanner,
    worker: ReminderWorker,
    clock: Clock,
) -> None:
    slack.add_channel(NORTH, name="nord-managers")
    with ctx.db.session() as session:
        import_data(session, TEAMS)
    record(ctx, "received", paris(2026, 11, 30, 8, 0), dit="DIT-2026-0001")  # ACME: Nord
    record(ctx, "received", paris(2026, 11, 30, 8, 0), dit="DIT-2026-0003")  # BOUL: Sud
    clock.now = paris(2026, 11, 30, 17, 0)
    scanner.scan_once()
    deliver(worker, ctx.db)
    north, south = posts(slack, NORTH), posts(slack, MANAGERS)
    assert [c.args["text"] for c in north] == ["DIT DIT-2026-0001: the client is still waiting"]
    assert len(south) == 1 and "DIT-2026-0003" in south[0].args["text"]


def test_with_no_channel_at_all_the_managers_are_told_directly(
    ctx: Context,
    env: dict[str, str],
    tmp_path: Any,
    seeded: dict[str, Any],
    slack: FakeSlack,
    clock: Clock,
) -> None:
    from slack_sdk import WebClient

    from tests.timers.conftest import settings_with

    bare = Context(settings_with({**env, "DITBOT_CHANNEL_RELANCES": ""}, tmp_path), ctx.db)
    record(bare, "received", paris(2026, 11, 30, 8, 0))
    clock.now = paris(2026, 11, 30, 17, 0)
    ReminderScanner(bare, clock=clock, every=0).scan_once()
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    deliver(ReminderWorker(bare, client, clock=clock), ctx.db)
    # Sophie Bernard (USBE) is the manager; Jeanne Dupuis (UJDU) got her reminder.
    assert sorted(c.args["channel"] for c in posts(slack)) == ["UJDU", "USBE"]


def test_portal_messages_and_relances_go_to_the_team_channels_else_the_global_ones(
    ctx: Context, env: dict[str, str], tmp_path: Any, seeded: dict[str, Any], slack: FakeSlack
) -> None:
    from bot.workers.notifications import NotificationWorker
    from ditbot.domain.portal import PortalMessage, post_message
    from tests.timers.conftest import settings_with

    slack.add_channel(NORTH, name="nord-managers")
    slack.add_channel("CNORTHDISP", name="nord-dispatch")
    slack.add_channel("CDISPATCH", name="dispatch")
    with ctx.db.session() as session:
        import_data(
            session,
            {
                "teams": [
                    {
                        "code": "NORD",
                        "name": "Agence Nord",
                        "channel_portal": "CNORTHDISP",
                        "channel_managers": NORTH,
                    },
                    {"code": "SUD", "name": "Agence Sud"},
                ],
                "clients": [
                    {"code": "ACME", "name": "Acme SA", "team": "NORD"},
                    {"code": "BOUL", "name": "Boulangerie Léon", "team": "SUD"},
                ],
            },
        )
    routed = Context(settings_with(env, tmp_path, DITBOT_CHANNEL_PORTAL="CDISPATCH"), ctx.db)
    for dit, contact in (("DIT-2026-0001", "ACME-PM"), ("DIT-2026-0003", "BOUL-LL")):
        with ctx.db.session() as session:
            post_message(
                session,
                PortalMessage(
                    dit=dit, contact=contact, detail="Relance !", relance=True, message_id=dit
                ),
                window_days=7,
                relance_after_hours=24,
            )
    worker = NotificationWorker(routed, pace_seconds=0.0, backoff_base=0.05)
    for _ in range(20):
        if not worker.run_once():
            break
    told = {(c.args["channel"], c.args["text"].split()[0]) for c in posts(slack)}
    where = {channel for channel, _text in told}
    assert where == {"CNORTHDISP", NORTH, "CDISPATCH", MANAGERS}
    by_channel = {
        channel: {c.args["text"] for c in posts(slack, channel)}
        for channel in ("CNORTHDISP", NORTH, "CDISPATCH", MANAGERS)
    }
    assert all("DIT-2026-0001" in text for text in by_channel["CNORTHDISP"] | by_channel[NORTH])
    assert all("DIT-2026-0003" in text for text in by_channel["CDISPATCH"] | by_channel[MANAGERS])


def test_a_team_notice_is_stored_in_the_team_lane_and_loads_back(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    from storage import outbox
    from storage.outbox_payloads import ChannelNotice
    from storage.vocabulary import NoticeReason

    notice = ChannelNotice(exchange_id=7, dit="DIT-1", reason=NoticeReason.RELANCE, team="NORD")
    with ctx.db.session() as session:
        outbox.enqueue(session, notice)
    with ctx.db.session() as session:
        (item,) = outbox.claim(session, ["notify"], "me")
        assert item.lane == "relances@NORD"
        assert item.payload == {
            "exchange_id": 7,
            "dit": "DIT-1",
            "reason": "relance",
            "team": "NORD",
        }
        assert outbox.load(item) == notice
