"""bolt listeners, one module per Slack surface, each with module-level listeners and
`register(app)`; they call flows (bot/flows/) and domain services, never each other."""
