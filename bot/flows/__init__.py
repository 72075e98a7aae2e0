"""Flows: load what a Slack surface shows, build it with a view builder, make one Slack call.

Listeners (bot/handlers/) ack, parse and call a flow or a domain service; flows never import
a listener module. Every flow gets the request's `Requester` (bot/requester.py).
"""
