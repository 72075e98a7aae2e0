"""Tamper-proof `private_metadata`: JSON plus an HMAC made with the Slack signing secret.

A modal's private_metadata comes back from the client inside the view_submission; anyone able
to send a signed request could forge it. Sealing it means a submission can only name the DIT
(and exchange) we put there ourselves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ditbot.core.i18n import _
from ditbot.domain.errors import NotAllowed

SEPARATOR = "~"


class ForgedMetadata(NotAllowed):
    """The metadata was not written by us (or was altered)."""


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def seal(secret: str, data: dict[str, Any]) -> str:
    """`data` as compact JSON followed by its MAC."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return f"{text}{SEPARATOR}{_mac(secret, text)}"


def unseal(secret: str, sealed: str | None) -> dict[str, Any]:
    """The data of a sealed metadata; ForgedMetadata when missing, altered or not ours."""
    text, sep, mac = (sealed or "").rpartition(SEPARATOR)
    if not sep or not hmac.compare_digest(mac, _mac(secret, text)):
        raise ForgedMetadata(_("This form was altered or is too old: close it and start again."))
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ForgedMetadata(_("This form was altered or is too old: close it and start again."))
    return data
