"""HTTP: the Flask application that serves Slack, the REST API, the portal and health."""
