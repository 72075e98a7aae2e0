"""The built-in client portal page: `GET/POST /portal/<token>` (CONTRACT.md section 6).

Server-rendered with jinja2 (autoescape, StrictUndefined), no script, no external asset. The
signed token is the client's key: a bad or expired one, or one whose DIT or contact is gone,
gets the same plain 404 page. The form is protected by a CSRF token bound to the portal token,
and by a one-time message id that makes a double submit record one message. Posting does what
the webhook does (ditbot.domain.portal), then redirects (POST/redirect/GET) to the page.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import Blueprint, Response, current_app, redirect, request, url_for
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as WerkzeugResponse

from ditbot.core.context import Context
from ditbot.core.credentials import same
from ditbot.core.i18n import LOCALES, Translator
from ditbot.domain import labels
from ditbot.domain import portal as rules
from ditbot.domain.errors import DomainError, NotFound, ValidationFailed
from ditbot.domain.validation import DETAIL_MAX
from ditbot.portal.tokens import PortalToken, read_token
from ditbot.web.limits import FORM_MAX_BYTES
from ditbot.web.problems import RETRY_AFTER
from storage.models import Contact, Dit, Exchange
from storage.vocabulary import Direction

CSRF_MAX_AGE = 12 * 3600
CSRF_PURPOSE = b"ditbot-portal-form.v1:"
NONCE = re.compile(r"^[0-9a-f]{32}$")
DISPLAY_ZONE = "Europe/Paris"  # the clients and staff of ditbot's users are in France

portal_page = Blueprint("portal_page", __name__)


@cache
def templates() -> Environment:
    return Environment(
        loader=PackageLoader("ditbot.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def display_zone() -> Any:
    try:
        return ZoneInfo(DISPLAY_ZONE)
    except ZoneInfoNotFoundError:  # a system without tzdata: UTC, said so on the page
        return ZoneInfo("UTC")


def _ctx() -> Context:
    ctx: Context = current_app.config["DITBOT"]
    return ctx


def page_locale() -> str:
    """French or English, by the browser's Accept-Language; else ditbot's default language."""
    best = request.accept_languages.best_match(LOCALES)
    return best or _ctx().settings.locale


def csrf_token(secret: str, portal_token: str, issued: int | None = None) -> str:
    """A form token bound to this portal link; stateless, valid CSRF_MAX_AGE seconds."""
    stamp = str(int(time.time()) if issued is None else issued)
    mac = hmac.new(
        secret.encode(), CSRF_PURPOSE + f"{portal_token}:{stamp}".encode(), hashlib.sha256
    )
    return f"{stamp}.{mac.hexdigest()}"


def csrf_valid(secret: str, portal_token: str, given: str | None) -> bool:
    if not given or given.count(".") != 1:
        return False
    stamp, _sep, _mac = given.partition(".")
    if not stamp.isdigit() or len(stamp) > 12:
        return False
    if not 0 <= time.time() - int(stamp) <= CSRF_MAX_AGE:
        return False
    return same(given, csrf_token(secret, portal_token, int(stamp)))


def _secure(response: Response, nonce: str) -> Response:
    """No referrer (the link is the key), no framing, no caching, nothing but our inline CSS."""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _render(name: str, status: int, **values: Any) -> Response:
    locale = values.pop("locale", None) or page_locale()
    nonce = secrets.token_urlsafe(16)
    html = (
        templates()
        .get_template(name)
        .render(t=Translator(locale), lang=locale, css_nonce=nonce, **values)
    )
    response = Response(html, status=status, mimetype="text/html")
    return _secure(response, nonce)


def not_found() -> Response:
    """The same plain page for every bad, expired or dangling link: it reveals nothing."""
    return _render("not_found.html", 404)


@dataclass(frozen=True)
class Entry:
    """One message of the conversation, as the client sees it."""

    mine: bool
    who: str
    when: str
    subject: str | None
    detail: str
    relance: bool


def _when(value: datetime, locale: str) -> str:
    return format_datetime(value, "d MMM y, HH:mm", tzinfo=display_zone(), locale=locale)


def _entry(exchange: Exchange, locale: str) -> Entry:
    t = Translator(locale)
    mine = exchange.direction == Direction.RECEIVED
    if mine:
        who = t("You")
    elif exchange.sent_by_collaborator is not None:
        who = exchange.sent_by_collaborator.name
    else:
        who = t("Our team")
    return Entry(
        mine=mine,
        who=who,
        when=_when(exchange.occurred_at, locale),
        subject=exchange.subject,
        detail=exchange.detail,
        relance=exchange.type.is_relance,
    )


def _secret() -> str:
    """DITBOT_PORTAL_SECRET; empty when unset, which no token or form token matches."""
    return _ctx().settings.portal_secret or ""


def _resolve(token: str) -> PortalToken | None:
    secret = _secret()
    return read_token(secret, token) if secret else None


def _show(
    token: str,
    read: PortalToken,
    *,
    status: int = 200,
    error: str | None = None,
    typed: str = "",
    relance: bool = False,
    nonce: str | None = None,
) -> Response:
    ctx = _ctx()
    locale = page_locale()
    t = Translator(locale)
    with ctx.db.session() as session:
        try:
            dit, contact = rules.find_dit_and_contact(session, read.dit, read.contact)
        except NotFound:
            return not_found()
        values = _page_values(session, dit, contact, locale)
    open_until = rules.window_end(dit, ctx.settings.portal_window_days)
    return _render(
        "page.html",
        status,
        locale=locale,
        **values,
        sent=request.args.get("sent") == "1" and error is None,
        error=error,
        typed=typed,
        relance=relance,
        open_until=_when(open_until, locale) if open_until else None,
        action=url_for("portal_page.show", token=token),
        csrf=csrf_token(_secret(), token),
        nonce=nonce if nonce and NONCE.match(nonce) else uuid.uuid4().hex,
        detail_max=DETAIL_MAX,
        state=labels.capitalized(t(labels.STATE[dit.state])),
    )


def _before() -> int | None:
    """`?before=<exchange id>`: the page of older messages asked for (anything else: the latest)."""
    given = request.args.get("before", "")
    return int(given) if given.isdigit() and len(given) <= 12 else None


def _page_values(session: Any, dit: Dit, contact: Contact, locale: str) -> dict[str, Any]:
    """The DIT and one page of its conversation: the latest messages first, older ones on
    demand (`?before=`), so that a page costs the same with 10 or 5,000 exchanges."""
    settings = _ctx().settings
    before = _before()
    page = rules.visible_page(session, dit, contact, before=before)
    return {
        "dit": {"number": dit.number, "title": dit.title, "client": dit.client.name},
        "contact": contact.name,
        "entries": [_entry(e, locale) for e in page.exchanges],
        "older": page.older,
        "paged": before is not None,
        "can_write": rules.accepts_messages(dit, settings.portal_window_days),
    }


@portal_page.get("/portal/<token>")
def show(token: str) -> Response:
    read = _resolve(token)
    if read is None:
        return not_found()
    return _show(token, read)


@portal_page.post("/portal/<token>")
def post(token: str) -> Response | WerkzeugResponse:
    read = _resolve(token)
    if read is None:
        return not_found()
    t = Translator(page_locale())
    if request.content_length is not None and request.content_length > FORM_MAX_BYTES:
        return _show(token, read, status=413, error=t("Your message is too long."))
    request.max_content_length = FORM_MAX_BYTES
    try:
        form = request.form
    except RequestEntityTooLarge:
        return _show(token, read, status=413, error=t("Your message is too long."))
    detail = form.get("detail", "")
    relance = form.get("relance") == "on"
    nonce = form.get("message_id", "")
    settings = _ctx().settings
    if not csrf_valid(_secret(), token, form.get("csrf")):
        return _show(
            token,
            read,
            status=400,
            error=t("This form had expired. Check your message and send it again."),
            typed=detail[: DETAIL_MAX * 2],
            relance=relance,
            nonce=nonce,
        )
    message = rules.PortalMessage(
        dit=read.dit,
        contact=read.contact,
        detail=detail,
        relance=relance,
        message_id=f"page-{nonce}" if NONCE.match(nonce) else f"page-{uuid.uuid4().hex}",
    )
    ctx = _ctx()
    try:
        with ctx.db.session() as session:
            _exchange, created = rules.post_message(
                session,
                message,
                window_days=settings.portal_window_days,
                relance_after_hours=settings.relance_after_hours,
            )
    except NotFound:
        return not_found()
    except DomainError as error:
        return _show(
            token,
            read,
            status=error.status if error.status in (400, 409) else 400,
            error=_explain(error, t.locale),
            typed=detail[: DETAIL_MAX * 2],
            relance=relance,
            nonce=nonce,
        )
    if created:
        ctx.wake_delivery()
    return redirect(url_for("portal_page.show", token=token, sent=1) + "#messages", code=303)


def _explain(error: DomainError, locale: str) -> str:
    """A refusal in the client's words, without the field names the REST API shows."""
    if isinstance(error, ValidationFailed):
        return " ".join(each.message(locale) for each in error.errors.values())
    return error.message(locale)


def unavailable_page() -> Response:
    """503 while the database does not answer (ditbot/web/app.py calls it): no DIT can be shown, so
    the page says to try again; after a POST it gives the form back with the text typed, the
    same message id (a send that did get through is not recorded twice) and a fresh CSRF
    token. Needs nothing from the database: the link is checked by its signature alone.
    """
    token = str((request.view_args or {}).get("token") or "")
    read = _resolve(token) if token else None
    if read is None:
        return not_found()
    values: dict[str, Any] = {"form": False, "action": url_for("portal_page.show", token=token)}
    if request.method == "POST":
        fits = request.content_length is None or request.content_length <= FORM_MAX_BYTES
        request.max_content_length = FORM_MAX_BYTES
        try:
            form = request.form if fits else None
        except RequestEntityTooLarge:
            form = None
        if form is not None:
            nonce = form.get("message_id", "")
            values.update(
                form=True,
                typed=form.get("detail", "")[: DETAIL_MAX * 2],
                relance=form.get("relance") == "on",
                csrf=csrf_token(_secret(), token),
                nonce=nonce if NONCE.match(nonce) else uuid.uuid4().hex,
                detail_max=DETAIL_MAX,
            )
    response = _render("unavailable.html", 503, **values)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


@portal_page.route("/portal/", defaults={"rest": ""}, methods=["GET", "POST"])
@portal_page.route("/portal/<path:rest>", methods=["GET", "POST"])
def anything_else(rest: str) -> Response:
    return not_found()
