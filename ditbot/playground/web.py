"""The playground's web client: a Slack-like page at /playground (Flask blueprint).

Server-rendered HTML (jinja2, autoescape) and one plain script (static/playground.js), no
build step and nothing from a CDN. The page shows the workspace as one person sees it: the
channels ditbot posts to with their threads, the DM with ditbot, the App Home tab, ephemeral
answers, the modal on top of the stack, and the mailbox of the mails ditbot sent. Gestures
come back as JSON posts to /playground/api/… (with an `X-Playground` header, which a page of
another site cannot send without a CORS preflight that is never answered), and become Slack's
requests (ditbot.playground.gestures). The page asks /playground/changes when to redraw.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from slack_sdk.errors import SlackApiError

from ditbot.core.i18n import LOCALES, N_, Translator, _
from ditbot.playground import render
from ditbot.playground.gestures import GestureError, Gestures
from ditbot.playground.mailbox import Mail, Mailbox
from ditbot.playground.slack_api import BOT_USER_ID
from ditbot.playground.workspace import CHANNELS, Workspace

LONG_POLL_SECONDS = 15.0
HOME = "home"
MAILBOX = "mailbox"
_LINK = re.compile(r"https?://[^\s\"'<>]+")
_IMAGES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))

playground = Blueprint(
    "playground",
    __name__,
    url_prefix="/playground",
    static_folder="static",
    static_url_path="/static",
)


@dataclass
class Wiring:
    workspace: Workspace
    gestures: Gestures
    mailbox: Mailbox
    default_locale: str
    relocalize: Any  # (user_id, locale) -> None: forget the cached language of a person
    post_digest: Callable[[], list[str]]  # the managers' weekly digest, now: the channels told


def _wiring() -> Wiring:
    wired: Wiring = current_app.config["PLAYGROUND"]
    return wired


@cache
def templates() -> Environment:
    return Environment(
        loader=PackageLoader("ditbot.playground", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Where:
    """Who is looking, in which language, at what."""

    user: str
    lang: str
    at: str  # a channel id, "home" or "mailbox"
    thread: str | None = None
    mail: int | None = None

    def url(self, **changes: Any) -> str:
        values: dict[str, Any] = {"as": self.user, "lang": self.lang, "c": self.at}
        values.update({k: v for k, v in changes.items()})
        if "c" in changes and "thread" not in changes:
            values.pop("thread", None)
        elif self.thread and "thread" not in changes:
            values["thread"] = self.thread
        if self.mail and "mail" not in changes and values.get("c") == MAILBOX:
            values["mail"] = self.mail
        return "/playground?" + urlencode({k: v for k, v in values.items() if v})


def _where(args: Any) -> Where:
    wired = _wiring()
    people = wired.workspace.people
    user = str(args.get("as") or "")
    if user not in people:
        user = next(iter(people), "")
    lang = str(args.get("lang") or "")
    if lang not in LOCALES:
        person = people.get(user)
        lang = (
            person.locale[:2] if person and person.locale[:2] in LOCALES else wired.default_locale
        )
    at = str(args.get("c") or "")
    valid = {c for c, _ in CHANNELS} | {HOME, MAILBOX, Workspace.dm_of(user)}
    if at not in valid:
        at = CHANNELS[0][0]
    mail = args.get("mail")
    return Where(
        user=user,
        lang=lang,
        at=at,
        thread=str(args.get("thread") or "") or None,
        mail=int(mail) if str(mail or "").isdigit() else None,
    )


# -- drawing ---------------------------------------------------------------------------------
def _when(ts: str | float) -> str:
    return datetime.fromtimestamp(float(ts), render.TIMEZONE).strftime("%H:%M")


def _files(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """The files shared with a message, as the page shows them: images inline, others linked."""
    shown = []
    for file in msg.get("files") or []:
        kind = mimetypes.guess_type(str(file.get("name") or ""))[0] or ""
        shown.append(
            {
                "url": f"/playground/files/{file['id']}",
                "title": str(file.get("title") or file.get("name") or ""),
                "image": kind.startswith("image/"),
            }
        )
    return shown


def _message_html(msg: dict[str, Any], where: Where, ws: Workspace, t: Translator) -> Markup:
    names = ws.name_of
    surface = render.Surface("message", f"{where.at}-{msg['ts']}", names=names, lang=where.lang)
    body = (
        render.blocks(msg["blocks"], surface)
        if msg.get("blocks")
        else Markup('<div class="bk-text">{}</div>').format(
            render.mrkdwn(str(msg.get("text") or ""), names=names, lang=where.lang)
        )
    )
    return Markup(
        templates()
        .get_template("message.html")
        .render(
            msg=msg,
            author=names(str(msg.get("user") or BOT_USER_ID)),
            is_bot=msg.get("user", BOT_USER_ID) == BOT_USER_ID,
            when=_when(msg["ts"]),
            body=body,
            files=_files(msg),
            where=where,
            replies=t(
                N_("{count} reply", "{count} replies"), count=int(msg.get("reply_count") or 0)
            ),
            t=t,
        )
    )


def _conversation(where: Where, ws: Workspace, t: Translator) -> dict[str, Any]:
    messages = ws.fake.conversation(where.at)
    top = [
        m
        for m in messages
        if not m.get("thread_ts")
        or m["thread_ts"] == m["ts"]
        or m.get("subtype") == "thread_broadcast"
    ]
    thread = None
    if where.thread:
        thread = [
            m for m in messages if m.get("thread_ts") == where.thread or m["ts"] == where.thread
        ]
    return {
        "messages": [Markup(_message_html(m, where, ws, t)) for m in top],
        "thread": [Markup(_message_html(m, where, ws, t)) for m in thread] if thread else None,
        "ephemerals": [
            Markup(
                templates()
                .get_template("ephemeral.html")
                .render(
                    e=e,
                    body=render.blocks(
                        e.blocks,
                        render.Surface("ephemeral", e.id, names=ws.name_of, lang=where.lang),
                    )
                    if e.blocks
                    else render.mrkdwn(e.text, names=ws.name_of, lang=where.lang),
                    t=t,
                )
            )
            for e in ws.ephemerals_for(where.user, where.at)
        ],
    }


def _home(where: Where, ws: Workspace) -> Markup:
    view = ws.fake.home_view(where.user)
    if view is None:
        return Markup("")
    surface = render.Surface(
        "view", view["id"], names=ws.name_of, state=view.get("state"), lang=where.lang
    )
    return Markup('<div class="home" data-view="{}">{}</div>').format(
        view["id"], render.blocks(view.get("blocks") or [], surface)
    )


def _modals(where: Where, ws: Workspace, t: Translator) -> Markup:
    stack = ws.stack(where.user)
    notice = ws.notices.get(where.user)
    if not stack:
        if not notice:
            return Markup("")
        return Markup(templates().get_template("notice.html").render(notice=notice, t=t))
    view = stack[-1]
    surface = render.Surface(
        "view",
        view["id"],
        names=ws.name_of,
        state=view.get("state"),
        errors=ws.view_errors.get(view["id"]),
        lang=where.lang,
    )
    return Markup(
        templates()
        .get_template("modal.html")
        .render(
            view=view,
            depth=len(stack),
            title=render.plain(view.get("title")),
            submit=render.plain(view.get("submit")),
            close=render.plain(view.get("close")) or t(_("Cancel")),
            body=render.blocks(view.get("blocks") or [], surface),
            notice=notice,
            t=t,
        )
    )


def _mail_links(mail: Mail) -> list[str]:
    found: list[str] = []
    for part in (mail.part("plain") or "", mail.part("html") or ""):
        for link in _LINK.findall(part):
            link = link.rstrip(".,;)").replace("&amp;", "&")
            if link not in found:
                found.append(link)
    return found


def _mailbox(where: Where, box: Mailbox) -> dict[str, Any]:
    mails = list(reversed(box.mails))
    chosen = box.get(where.mail) if where.mail else (mails[0] if mails else None)
    return {
        "mails": mails,
        "chosen": chosen,
        "links": _mail_links(chosen) if chosen else [],
        "headers": [
            (name, chosen.header(name))
            for name in (
                "From",
                "To",
                "Cc",
                "Reply-To",
                "Subject",
                "Date",
                "Message-ID",
                "In-Reply-To",
                "References",
            )
            if chosen and chosen.header(name)
        ],
    }


def regions(where: Where) -> dict[str, Any]:
    """The parts of the page the client redraws: sidebar, pane, modals."""
    wired = _wiring()
    ws = wired.workspace
    t = Translator(where.lang)
    version = ws.fake.changes
    page = templates()
    sidebar = page.get_template("sidebar.html").render(
        where=where,
        channels=CHANNELS,
        dm=Workspace.dm_of(where.user),
        mails=len(wired.mailbox.mails),
        t=t,
    )
    if where.at == MAILBOX:
        pane = page.get_template("mailbox.html").render(
            where=where, t=t, **_mailbox(where, wired.mailbox)
        )
    elif where.at == HOME:
        pane = page.get_template("home.html").render(where=where, home=_home(where, ws), t=t)
    else:
        pane = page.get_template("conversation.html").render(
            where=where,
            name=ws.channel_name(where.at),
            is_dm=where.at.startswith("D"),
            t=t,
            **_conversation(where, ws, t),
        )
    refused = ws.refused()
    if refused:
        pane = page.get_template("refused.html").render(refused=refused, t=t) + pane
    return {
        "version": version,
        "sidebar": Markup(sidebar),
        "pane": Markup(pane),
        "modals": Markup(_modals(where, ws, t)),
    }


def _json_in_html(value: Any) -> Markup:
    """JSON inside <script type="application/json">: `<`, `>`, `&` escaped as \\u00XX, so no
    text can close the element."""
    text = json.dumps(value, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@playground.get("")
@playground.get("/")
def page() -> Response:
    where = _where(request.args)
    wired = _wiring()
    t = Translator(where.lang)
    people = sorted(wired.workspace.people.values(), key=lambda p: p.name)
    drawn = regions(where)
    html = (
        templates()
        .get_template("page.html")
        .render(
            where=where, people=people, locales=LOCALES, t=t, initial=_json_in_html(drawn), **drawn
        )
    )
    answer = Response(html, mimetype="text/html")
    answer.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'"
    )
    return answer


@playground.get("/fragment")
def fragment() -> Response:
    return jsonify(regions(_where(request.args)))


@playground.get("/changes")
def changes() -> Response:
    try:
        since = int(request.args.get("since", "0"))
    except ValueError:
        since = 0
    return jsonify({"version": _wiring().workspace.fake.wait_change(since, LONG_POLL_SECONDS)})


@playground.get("/files/<file_id>")
def file(file_id: str) -> Response:
    """A file ditbot uploaded (files.getUploadURLExternal), e.g. the digest's chart."""
    data = _wiring().workspace.fake.uploaded(file_id)
    if data is None:
        abort(404)
    kind = next((k for magic, k in _IMAGES if data.startswith(magic)), "application/octet-stream")
    answer = Response(data, mimetype=kind)
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Content-Security-Policy"] = "default-src 'none'"
    if not kind.startswith("image/"):
        answer.headers["Content-Disposition"] = "attachment"
    return answer


@playground.get("/mail/<int:mail_id>.html")
def mail_html(mail_id: int) -> Response:
    """A mail's HTML part, shown in a sandboxed frame (no script, no form of the page)."""
    mail = _wiring().mailbox.get(mail_id)
    if mail is None or mail.part("html") is None:
        abort(404)
    answer = Response(mail.part("html"), mimetype="text/html")
    answer.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return answer


# -- gestures ---------------------------------------------------------------------------------
def _action(element: dict[str, Any], value: Any, label: str | None) -> dict[str, Any]:
    """The `actions[0]` Slack sends for a click on `element` (its JSON from the page)."""
    kind = str(element.get("type"))
    action: dict[str, Any] = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": element.get("block_id"),
    }
    if kind == "button":
        action["text"] = element.get("text")
        if "value" in element:
            action["value"] = element["value"]
        if element.get("style"):
            action["style"] = element["style"]
    elif kind in ("overflow", "static_select", "external_select", "radio_buttons"):
        option = {"text": {"type": "plain_text", "text": label or str(value)}, "value": str(value)}
        action["selected_option"] = option
    elif kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        action["value"] = value
    elif kind == "datepicker":
        action["selected_date"] = value
    elif kind == "timepicker":
        action["selected_time"] = value
    elif kind == "datetimepicker":
        from ditbot.playground.gestures import _unix

        action["selected_date_time"] = _unix(str(value))
    return action


def _guard() -> dict[str, Any]:
    if request.headers.get("X-Playground") != "1":
        abort(403)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _answer(where: Where, error: str | None = None, **extra: Any) -> Response:
    body = {"ok": error is None, **regions(where), **extra}
    if error:
        body["error"] = error
    return jsonify(body)


@playground.post("/api/<gesture>")
def api(gesture: str) -> Response:
    data = _guard()
    where = _where(data)
    wired = _wiring()
    g = wired.gestures
    user = where.user
    extra: dict[str, Any] = {}
    try:
        if gesture == "message":
            g.type_message(user, where.at, str(data.get("text") or ""), thread_ts=where.thread)
        elif gesture == "action":
            element = data.get("element") or {}
            action = _action(element, data.get("value"), data.get("label"))
            surface = data.get("surface")
            if surface == "view":
                g.click_in_view(user, str(data.get("view")), action, data.get("state"))
            elif surface == "ephemeral":
                g.click_in_message(user, where.at, action, ephemeral_id=str(data.get("ephemeral")))
            else:
                g.click_in_message(user, where.at, action, ts=str(data.get("ts")))
        elif gesture == "submit":
            g.submit(user, str(data.get("view")), data.get("state") or {})
        elif gesture == "close":
            g.close(user, str(data.get("view")), everything=bool(data.get("all")))
        elif gesture == "options":
            extra["options"] = g.suggestions(
                user,
                data.get("view"),
                str(data.get("block_id")),
                str(data.get("action_id")),
                str(data.get("value") or ""),
            )
        elif gesture == "shortcut":
            g.shortcut(user, where.at, str(data.get("ts")))
        elif gesture == "home":
            g.open_home(user)
        elif gesture == "dismiss":
            ws = wired.workspace
            ws.ephemerals = [e for e in ws.ephemerals if e.id != data.get("ephemeral")]
            ws.notices.pop(user, None)
            if data.get("refusals"):
                ws.refusals.clear()
        elif gesture == "digest":
            t = Translator(where.lang)
            try:
                told = wired.post_digest()
            except SlackApiError as error:
                reason = str(error.response.get("error"))
                raise GestureError(
                    t(_("Slack refused the digest ({error})."), error=reason)
                ) from None
            if not told:
                raise GestureError(t(_("No managers' channel to post the digest to.")))
        elif gesture == "identity":
            wired.workspace.set_locale(user, "fr-FR" if where.lang == "fr" else "en-US")
            wired.relocalize(user, where.lang)
        else:
            abort(404)
    except GestureError as error:
        return _answer(where, str(error), **extra)
    return _answer(where, **extra)
