"""The app answers signed requests only, and /dit help works."""

from __future__ import annotations

import time

from tests.slack.harness import SlackDriver, command_payload, texts


def test_help_is_ephemeral(driver: SlackDriver) -> None:
    response = driver.command("help", user="UJDU")
    assert response.status_code == 200
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "/dit" in texts(answer)


def test_unsigned_and_stale_requests_are_refused(driver: SlackDriver) -> None:
    fields = command_payload("help", user="UJDU", response_url="http://x", trigger_id="t")
    assert driver.post_form(fields, signed=False).status_code == 401
    stale = int(time.time()) - 301
    assert driver.post_form(fields, timestamp=stale).status_code == 401
    assert driver.post_form(fields, secret="not-the-secret").status_code == 401
    assert driver.fake.calls_to("response_url") == []
