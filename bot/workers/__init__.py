"""Outbox workers that post to Slack: channel notifications and DMs to authors."""
