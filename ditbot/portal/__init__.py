"""The client portal: signed links, the webhook, the page, the portal-link command."""
