"""The playground: ditbot on one laptop with no Slack workspace.

`slack_api` is a local Slack Web API that answers as slack.com does and refuses what
Slack refuses, with Slack's error codes. The test suite uses the same implementation,
so a payload that passes the suite passes Slack.
"""
