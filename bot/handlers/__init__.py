"""bolt listeners, one module per Slack surface; each module has `register(app, deps)`."""
