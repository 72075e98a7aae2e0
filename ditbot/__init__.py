"""ditbot: the exchanges of field-service requests (DIT), in Slack."""

__version__ = "0.1.0"
