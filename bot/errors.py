"""The one place that turns an error into what the user sees.

- a view_submission not yet answered: field errors (`response_action: errors`) keyed by the
  block_id of the field at fault (the first input of the form when no field matches);
- a slash command or a message button: an ephemeral message through `response_url`;
- a button inside a modal: a small notice modal pushed on top (a DM if Slack refuses);
- anything else (App Home, events): a direct message from the app.

Only a request that passed bolt's checks and ditbot's first middleware (`CHECKED`,
bot/inbound.py) is answered: an exception in bolt's own middleware (its signature check raises
on a timestamp `abc`) reaches this handler too, for a request nobody verified; it gets 401 and
nothing else (no listener, no Web API call, no response_url POST).

DomainError says what to do in the user's language. A database that does not answer
(`ditbot.web.problems.database_unavailable`: down, restarting, unreachable) says
"briefly unavailable, try again in a moment" (a form stays open with what was typed, nothing
was saved); it is logged as one warning line. Any other exception is logged with a reference
the user can quote.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import cast

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.util.utils import get_arg_names_of_callable
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.deps import Deps
from bot.flows.stack import TOO_SLOW
from bot.ids import field_of
from bot.inbound import CHECKED, GuardedRespond
from bot.parsing import Body, ViewPayload, user_id_of
from bot.requester import PROFILE, REQUESTER, TRANSLATOR, Requester, SlackProfile, identify
from bot.requester import slack_profile as look_up_profile
from bot.views.common import notice_modal
from bot.views.text import escape
from ditbot.core.i18n import Translator, _, normalize_locale
from ditbot.domain.errors import DomainError, ValidationFailed
from storage.db import database_unavailable, outage_summary

log = logging.getLogger(__name__)


UNAVAILABLE = _(
    "ditbot is briefly unavailable (its database does not answer). Try again in a moment."
)
UNAVAILABLE_FORM = _(
    "ditbot is briefly unavailable (its database does not answer): nothing was saved. "
    "Try again in a moment, what you typed is still here."
)


def translator(context: BoltContext, body: Body, *, outage: bool) -> Translator:
    """The user's language: the requester's when this request resolved them; else their Slack
    locale when known (in an outage, asked of users.info: no database needed); else
    DITBOT_LOCALE."""
    requester = context.get(REQUESTER)
    if isinstance(requester, Requester):
        return requester.t
    deps = context.get("deps")
    default = deps.settings.locale if isinstance(deps, Deps) else "fr"
    profile = context.get(PROFILE)
    user_id = user_id_of(body) or context.user_id
    if not isinstance(profile, SlackProfile) and outage and user_id:
        try:
            profile = look_up_profile(context, user_id)
        except (SlackClientError, OSError) as failure:
            log.info("users.info for the language failed: %s", failure)
    locale = profile.locale if isinstance(profile, SlackProfile) else None
    return Translator(normalize_locale(locale, default))


def field_errors(view: ViewPayload, error: DomainError, t: Translator) -> dict[str, str]:
    """`{block_id: message}` for the input blocks of `view` that `error` is about."""
    inputs = [b["block_id"] for b in view.get("blocks") or [] if b.get("type") == "input"]
    by_field = {field_of(block): block for block in inputs}
    problems: dict[str, DomainError] = (
        dict(error.errors) if isinstance(error, ValidationFailed) else {error.field or "": error}
    )
    answer: dict[str, str] = {}
    for name, problem in problems.items():
        block = by_field.get(name) or (inputs[0] if inputs else None)
        if block is None:
            continue
        text = problem.message(t.locale)
        answer[block] = f"{answer[block]} {text}" if block in answer else text
    return answer


def _json(data: dict[str, object]) -> BoltResponse:
    body = json.dumps(data, ensure_ascii=False)
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


def errors_response(errors: dict[str, str]) -> BoltResponse:
    return _json({"response_action": "errors", "errors": errors})


def tell(client: WebClient, body: Body, context: BoltContext, text: str, t: Translator) -> None:
    """Show `text` to the acting user where they are (see the module docstring)."""
    user_id = user_id_of(body) or context.user_id
    respond = context.get("respond")  # set by bot/middleware.py `checked_requests`
    if isinstance(respond, GuardedRespond) and body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    view = body.get("view") or {}
    trigger = body.get("trigger_id")
    if body.get("type") == "block_actions" and view.get("type") == "modal" and trigger:
        try:
            client.views_push(trigger_id=trigger, view=notice_modal(text, t))
            return
        except SlackApiError as error:
            log.info("notice modal refused (%s): sending a DM", error.response.get("error"))
    if user_id:
        client.chat_postMessage(channel=user_id, text=text, parse="none")


def handle_error(
    error: Exception,
    body: Body,
    response: BoltResponse | None,
    client: WebClient,
    context: BoltContext,
) -> BoltResponse | None:
    """bolt's global error handler (`app.error`): `response` is None once acked."""
    if not context.get(CHECKED):
        log.warning("Slack request refused (401): bolt's checks failed: %s", _summary(error))
        return BoltResponse(status=401, body="")
    return report(error, body, client, context, not_acked=response is not None)


def _summary(error: Exception) -> str:
    """The error's type and the first line of its message, bounded (it may quote the input)."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text[:120]!r}"


def report(
    error: Exception,
    body: Body,
    client: WebClient,
    context: BoltContext,
    *,
    not_acked: bool,
) -> BoltResponse | None:
    """Tell the user about `error`; before the ack, return the HTTP answer to give Slack."""
    if body.get("type") == "block_suggestion":
        log.warning("options failed: %r", error)
        return _json({"options": []}) if not_acked else None
    if isinstance(error, DomainError):
        t = translator(context, body, outage=False)
        text = error.message(t.locale)
        log.info("refused: %s", error)
    elif isinstance(error, SlackApiError) and error.response.get("error") == "expired_trigger_id":
        # The request waited too long before its views.open: nothing is wrong but the delay.
        t = translator(context, body, outage=False)
        text = t(TOO_SLOW)
        log.warning("Slack refused a late views.open (expired_trigger_id): the user was told")
    elif database_unavailable(error):
        t = translator(context, body, outage=True)
        in_form = body.get("type") == "view_submission" and not_acked
        text = t(UNAVAILABLE_FORM if in_form else UNAVAILABLE)
        what = body.get("type") or body.get("command") or "request"
        log.warning("Slack %s: database unavailable: %s", what, outage_summary(error))
    else:
        t = translator(context, body, outage=False)
        reference = uuid.uuid4().hex[:8]
        log.exception("listener failed (reference %s)", reference, exc_info=error)
        text = t(_("Something went wrong on our side (reference {ref}). Try again."), ref=reference)
    if body.get("type") == "view_submission" and not_acked:
        errors = field_errors(body.get("view") or {}, _as_domain(error, text), t)
        if errors:
            return errors_response(errors)
    text = escape(text)  # the message may quote what the user typed
    try:
        if body.get("type") in (None, "") and body.get("command") and not_acked:
            return _json({"response_type": "ephemeral", "text": text})
        tell(client, body, context, text, t)
    except SlackApiError as failure:  # nothing more we can do: Slack refuses to show it
        log.warning("could not tell the user about %r: %s", error, failure)
    return BoltResponse(status=200, body="") if not_acked else None


def _as_domain(error: Exception, text: str) -> DomainError:
    if isinstance(error, DomainError):
        return error
    return DomainError(text)


Listener = Callable[..., None]


def guarded(listener: Listener) -> Callable[[BoltRequest], None]:
    """Wrap a module-level listener: resolve the requester it asks for, report its errors.

    - A listener with a `requester` or `t` argument gets them from bot/requester.py
      `identify`, resolved here on the listener's thread: after an ack at once, before the
      domain call of a view submission.
    - An error after the ack is reported here, not re-raised to bolt: when a listener raises
      after `ack()`, bolt's thread runner resets the ack it is still polling for, and the HTTP
      answer waits out the 3-second ack timeout (Slack then shows an error although we told
      the user). Errors before the ack still go to `handle_error`, which builds the HTTP
      answer (field errors, ephemeral text).
    """
    names = get_arg_names_of_callable(listener)
    needs_requester = bool({REQUESTER, TRANSLATOR} & set(names))

    def run(request: BoltRequest) -> None:
        context = request.context
        body = cast(Body, request.body)
        try:
            if needs_requester:
                identify(context, body)
            kwargs = build_required_kwargs(
                logger=log,
                required_arg_names=list(names),
                request=request,
                response=None,
                next_keys_required=False,
                this_func=listener,
            )
            listener(**kwargs)
        except Exception as error:
            if context.ack is None or context.ack.response is None:
                raise  # not acked yet: bolt's error handler answers the request
            report(error, body, context.client, context, not_acked=False)

    run.__name__ = getattr(listener, "__name__", "listener")
    run.__qualname__ = getattr(listener, "__qualname__", run.__name__)
    run.__doc__ = listener.__doc__
    return run
