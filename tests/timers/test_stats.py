"""The manager's figures against a data set with known answers; `/dit stats` and the Home."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from ditbot.core.context import Context
from ditbot.domain import stats, timers
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError
from ditbot.domain.exchanges import Actor, delete_exchange
from storage import repositories as repo
from storage.models import Client, Dit, Exchange, ExchangeFigure
from tests.slack.harness import SlackDriver, texts
from tests.timers.conftest import PARIS, paris, record

NOVEMBER = "2026-11"


def known_month(ctx: Context) -> None:
    """Nov. 2026, hours 8-18 Mon-Fri, 11 November off. Response times (business hours):
    DIT-0001 (Acme, Jeanne Dupuis): 1.5 (first, target 4: within), 5 (next, 8: within);
    DIT-0003 (Boulangerie, Marc Lefèvre): 8 (first, 4: over), 2 across 11 Nov (next: within);
    DIT-0002 (Acme, Marc Lefèvre): one message, unanswered."""
    record(ctx, "received", paris(2026, 11, 2, 9, 0))
    record(ctx, "sent", paris(2026, 11, 2, 10, 30))
    record(ctx, "received", paris(2026, 11, 4, 17, 0), type_code="relance")
    record(ctx, "sent", paris(2026, 11, 5, 12, 0))
    record(ctx, "received", paris(2026, 11, 6, 16, 0), dit="DIT-2026-0003")
    record(ctx, "sent", paris(2026, 11, 9, 14, 0), dit="DIT-2026-0003")
    record(ctx, "received", paris(2026, 11, 10, 17, 0), dit="DIT-2026-0003")
    record(ctx, "sent", paris(2026, 11, 12, 9, 0), dit="DIT-2026-0003")
    record(ctx, "received", paris(2026, 11, 10, 10, 0), dit="DIT-2026-0002")
    record(ctx, "received", paris(2026, 10, 30, 10, 0), dit="DIT-2026-0002")  # October: out


def test_figures_of_a_month_with_known_answers(ctx: Context, seeded: dict[str, Any]) -> None:
    known_month(ctx)
    calendar = BusinessCalendar.from_settings(ctx.settings)
    period = stats.parse_period(NOVEMBER, datetime.now(UTC), PARIS)
    assert period.start == paris(2026, 11, 1, 0, 0) and period.end == paris(2026, 12, 1, 0, 0)
    with ctx.db.session() as session:
        result = stats.compute(session, period, calendar, ctx.settings)
    total = result.total
    assert (total.exchanges, total.received, total.sent, total.relances) == (9, 5, 4, 1)
    assert (total.messages, total.answered) == (5, 4)
    assert total.median_hours == pytest.approx(3.5)
    assert total.p90_hours == pytest.approx(7.1)
    assert total.within_share == pytest.approx(3 / 5)
    techs = dict(result.by_technician)
    assert [name for name, _f in result.by_technician] == ["Marc Lefèvre", "Jeanne Dupuis"]
    assert techs["Jeanne Dupuis"].median_hours == pytest.approx(3.25)
    assert techs["Jeanne Dupuis"].within_share == 1.0
    assert techs["Marc Lefèvre"].median_hours == pytest.approx(5.0)
    assert techs["Marc Lefèvre"].within_share == pytest.approx(1 / 3)
    clients = dict(result.by_client)
    assert (clients["Acme SA"].exchanges, clients["Boulangerie Léon"].exchanges) == (5, 4)


def test_each_groups_percentiles_and_a_clients_own_target(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    """The median and p90 of each technician and client (linear interpolation, worked out by
    the database), and a client's own first-response target: 8 h at the Boulangerie makes its
    8 h answer (exactly on target) within it."""
    known_month(ctx)
    with ctx.db.session() as session:
        session.execute(
            update(Client).where(Client.name == "Boulangerie Léon").values(first_response_hours=8)
        )
    calendar = BusinessCalendar.from_settings(ctx.settings)
    period = stats.parse_period(NOVEMBER, datetime.now(UTC), PARIS)
    with ctx.db.session() as session:
        result = stats.compute(session, period, calendar, ctx.settings)
    figures = {
        name: (f.messages, f.answered, f.within, f.median_hours, f.p90_hours)
        for name, f in result.by_technician + result.by_client
    }
    assert figures == {
        "Jeanne Dupuis": (2, 2, 2, pytest.approx(3.25), pytest.approx(4.65)),
        "Marc Lefèvre": (3, 2, 2, pytest.approx(5.0), pytest.approx(7.4)),
        "Acme SA": (3, 2, 2, pytest.approx(3.25), pytest.approx(4.65)),
        "Boulangerie Léon": (2, 2, 2, pytest.approx(5.0), pytest.approx(7.4)),
    }
    assert result.total.within_share == pytest.approx(4 / 5)


def test_a_period_without_answers_has_no_median(ctx: Context, seeded: dict[str, Any]) -> None:
    record(ctx, "received", paris(2026, 11, 10, 10, 0), dit="DIT-2026-0002")
    calendar = BusinessCalendar.from_settings(ctx.settings)
    period = stats.parse_period(NOVEMBER, datetime.now(UTC), PARIS)
    with ctx.db.session() as session:
        result = stats.compute(session, period, calendar, ctx.settings)
    total = result.total
    assert (total.messages, total.answered, total.median_hours, total.p90_hours) == (
        1,
        0,
        None,
        None,
    )
    assert total.within_share == 0
    assert [(name, f.median_hours) for name, f in result.by_client] == [("Acme SA", None)]


def test_periods_are_read_and_bad_ones_named() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert stats.parse_period(None, now, PARIS).start == now - timedelta(days=7)
    assert stats.parse_period("30d", now, PARIS).start == now - timedelta(days=30)
    assert stats.parse_period("month", now, PARIS).start == now - timedelta(days=30)
    for bad in ("400d", "2026-13", "yesterday"):
        with pytest.raises(DomainError) as caught:
            stats.parse_period(bad, now, PARIS)
        assert caught.value.field == "period"


def test_dit_stats_answers_a_manager_with_the_figures(
    ctx: Context, driver: SlackDriver, seeded: dict[str, Any]
) -> None:
    known_month(ctx)
    driver.command(f"stats {NOVEMBER}", user="USBE")
    answer = driver.last_response()
    shown = texts(answer["blocks"])
    assert answer.get("response_type") == "ephemeral"
    assert "9" in shown and "3 h 30" in shown and "60 %" in shown
    assert "Jeanne Dupuis" in shown and "Boulangerie Léon" in shown
    assert "du 1 nov. 2026 au 30 nov. 2026" in shown  # days as a French reader writes them


def test_dit_stats_is_refused_to_a_non_manager_and_names_a_bad_period(
    ctx: Context, driver: SlackDriver, seeded: dict[str, Any]
) -> None:
    driver.command("stats", user="UJDU")
    refusal = driver.last_response()
    assert "manager" in refusal["text"].lower()
    driver.command("stats 999d", user="USBE")
    assert "366" in driver.last_response()["text"]
    driver.command("stats OUEST week", user="USBE")
    assert "OUEST" in driver.last_response()["text"]


def test_the_managers_home_lists_the_longest_waits_and_the_weeks_follow_ups(
    ctx: Context, driver: SlackDriver, seeded: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    record(ctx, "received", now - timedelta(days=3), dit="DIT-2026-0003")
    record(ctx, "received", now - timedelta(hours=1), dit="DIT-2026-0001", type_code="relance")
    driver.open_home("USBE")
    home = texts(driver.home("USBE")["blocks"])
    assert home.index("DIT-2026-0003") < home.index("DIT-2026-0001")  # longest wait first
    assert "Marc Lefèvre" in home and "over target" in home or "au-delà" in home
    driver.open_home("UJDU")
    assert "longest first" not in texts(driver.home("UJDU")["blocks"])


def test_the_help_names_dit_stats(driver: SlackDriver, seeded: dict[str, Any]) -> None:
    driver.command("help", user="USBE")
    assert "/dit stats" in texts(driver.last_response()["blocks"])


def stored_figures(ctx: Context) -> dict[int, tuple[Any, ...]]:
    with ctx.db.session() as session:
        return {
            row.exchange_id: (row.received, row.first, row.answered_at, row.response_seconds)
            for row in session.scalars(select(ExchangeFigure))
        }


def test_stored_figures_are_the_ones_worked_out_from_the_exchanges(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    """What sync_figures keeps as exchanges come, go and arrive late equals what the
    exchanges give (timers.responses, with the calendar's own elapsed time), and the
    migration's backfill writes the same rows."""
    known_month(ctx)
    late = record(ctx, "sent", paris(2026, 11, 10, 12, 0), dit="DIT-2026-0003")  # logged late
    answer = record(ctx, "sent", paris(2026, 11, 12, 10, 0), dit="DIT-2026-0002")
    with ctx.db.session() as session:
        manager = repo.collaborator_by_code(session, "SBE")
        delete_exchange(session, answer, Actor(source="slack", collaborator=manager))  # type: ignore[arg-type]
    calendar = BusinessCalendar.from_settings(ctx.settings)
    expected: dict[int, tuple[Any, ...]] = {}
    with ctx.db.session() as session:
        for dit in session.scalars(select(Dit)):
            live = [e for e in dit_exchanges(session, dit.id) if e.deleted_at is None]
            moments = [timers.Moment(e.id, e.direction, e.occurred_at) for e in live]
            for response in timers.responses(moments, calendar):
                seconds = response.business.total_seconds() if response.business else None
                expected[response.exchange_id] = (
                    True,
                    response.first,
                    response.answered_at,
                    seconds,
                )
            for e in live:
                if e.direction == "sent":
                    expected[e.id] = (False, False, None, None)
    stored = stored_figures(ctx)
    assert stored == expected
    assert answer not in stored and stored[late] == (False, False, None, None)
    # The 10 Nov message of DIT-0003 is now answered by the late call, 2 business hours on.
    assert sorted(s for _r, _f, _a, s in stored.values() if s) == [
        1.5 * 3600,
        2 * 3600,
        5 * 3600,
        8 * 3600,
    ]
    with ctx.db.engine.begin() as connection:
        connection.execute(delete(ExchangeFigure))
        written = timers.backfill_figures(connection, calendar)
    assert written == len(expected) and stored_figures(ctx) == expected


def test_figures_without_the_settings_get_their_business_time_when_read(
    ctx: Context, seeded: dict[str, Any]
) -> None:
    ctx.db.session_info.clear()  # a session that cannot work out business time
    known_month(ctx)
    assert all(s is None for _r, _f, _a, s in stored_figures(ctx).values())
    calendar = BusinessCalendar.from_settings(ctx.settings)
    period = stats.parse_period(NOVEMBER, datetime.now(UTC), PARIS)
    with ctx.db.session() as session:
        result = stats.compute(session, period, calendar, ctx.settings)
    assert result.total.median_hours == pytest.approx(3.5)
    assert result.total.within_share == pytest.approx(3 / 5)


def dit_exchanges(session: Any, dit_id: int) -> list[Exchange]:
    return list(session.scalars(select(Exchange).where(Exchange.dit_id == dit_id)))
