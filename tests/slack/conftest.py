"""Fixtures of the Slack tests: see tests/slack/harness.py for how to use them.

`driver` (SlackDriver), `slack` (the FakeSlack, reset per test), `slack_app` (real bolt app),
`slack_web` (Flask app serving it), `slack_executor`, `fake_slack` (session), and `env`
overridden so SLACK_API_URL points at the fake.
"""

from tests.slack.harness import *  # noqa: F403  (fixtures)
from tests.slack.harness import (  # noqa: F401  (explicit for readers)
    driver,
    env,
    fake_slack,
    slack,
    slack_app,
    slack_executor,
    slack_web,
)
