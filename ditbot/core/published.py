"""Example values of secrets that ditbot publishes: settings refuse them.

Generated from .env.example, README.md and the packages' documents by
`python -m ditbot.core.credentials` (see ditbot/core/credentials.py); do not edit.
"""

PUBLISHED: dict[str, str] = {
    "change-me-to-a-long-random-string": ".env.example",
    "change-me-too": ".env.example",
    "xapp-...": ".env.example",
    "xoxb-your-bot-token": ".env.example",
    "your-signing-secret": ".env.example",
}
