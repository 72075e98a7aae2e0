"""What a Slack error means to an outbox worker: give up, retry later, or wait out a 429.

One vocabulary for every worker that posts (notifications, DMs, reminders, unmatched mails),
so that a code Slack documents as final is final everywhere and a 429's Retry-After is read
the same way (a missing or malformed header waits one second; it never stops a worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

# The channel, the user or the token is not usable: no retry can change that.
ACCESS_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_is_archived",
        "channel_not_found",
        "ekm_access_denied",
        "invalid_auth",
        "is_archived",
        "missing_scope",
        "no_permission",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "user_disabled",
        "user_not_found",
    }
)
# Slack refuses the message itself: the same one will be refused again (a smaller one may not).
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_arguments",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
    }
)
PERMANENT = ACCESS_ERRORS | PAYLOAD_ERRORS
# Slack's side is busy or failing: the same call may pass later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# The message to update or to reply to is gone (deleted by someone).
THREAD_GONE = frozenset({"message_not_found", "thread_not_found", "cant_update_message"})


def error_code(error: SlackApiError) -> str:
    """Slack's `error` of a refused call, else `http_<status>`."""
    response = error.response
    data = response.data if isinstance(response.data, dict) else {}
    return str(data.get("error") or f"http_{getattr(response, 'status_code', 200)}")


def retry_after(error: SlackApiError) -> float:
    """The seconds a 429 asks to wait (Retry-After; 1 when absent or not a number)."""
    headers: dict[str, Any] = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    raw = headers.get("retry-after", "1")
    value = raw[0] if isinstance(raw, list) and raw else raw
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def is_rate_limited(error: SlackApiError) -> bool:
    return getattr(error.response, "status_code", 200) == 429 or error_code(error) == "ratelimited"


@dataclass(frozen=True)
class SlackRefusal:
    """What a worker does with a Slack error: give up (`permanent`) or retry, after at least
    `wait` seconds (a 429's Retry-After)."""

    reason: str
    permanent: bool
    wait: float = 0.0


def refusal_of(error: SlackApiError, about: str = "") -> SlackRefusal:
    """How an outbox worker settles `error` (`about` is added to the reason it records)."""
    code = str(error.response.get("error") or "")
    status = getattr(error.response, "status_code", 200)
    reason = f"Slack {status} {code}{f' ({about})' if about else ''}".strip()
    if code in PERMANENT:
        return SlackRefusal(reason, permanent=True)
    if is_rate_limited(error):
        return SlackRefusal(reason, False, retry_after(error))
    return SlackRefusal(reason, permanent=False)
