"""Mail to clients: templates, the SMTP sender and the outbox workers that deliver."""
