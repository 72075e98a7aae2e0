"""The secrets of a test ditbot: drawn at random for each run, so none is published anywhere.

Settings refuse secrets shorter than 32 characters and the example values the repository
publishes (ditbot/core/credentials.py); these pass both checks, as real ones would.
"""

from __future__ import annotations

import secrets

SIGNING_SECRET = secrets.token_hex(16)  # Slack's format: 32 hexadecimal characters
PORTAL_SECRET = secrets.token_urlsafe(32)
API_TOKEN = secrets.token_urlsafe(32)
