"""Slack notifications of portal messages and relances: message builders and the worker."""
