"""Block Kit -> HTML, drawn the way Slack's client draws it.

mrkdwn follows Slack's formatting reference: the sender escapes `&`, `<`, `>` as entities,
so `&lt;` shows `<` (in plain_text too); `<@U…>`, `<#C…|name>`, `<!here>`, `<!date^…>` and
`<url|text>` are the only markup in angle brackets; `*bold*`, `_italic_`, `~strike~`,
`` `code` ``, ```` ``` ```` blocks and `>` quotes. With `verbatim: false` Slack also turns a
bare `@here`, `@channel`, `@everyone` into a mention: shown here as one (marked `.ping`), so
a payload that would ping is seen. Nothing here ever notifies anybody.

Interactive elements carry `data-*` attributes that the web client (static/playground.js)
turns back into the action Slack would send: `data-action` (the element as JSON), and for
inputs `data-block` / `data-kind`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from markupsafe import Markup, escape

from ditbot.core.i18n import _, gettext

TIMEZONE = ZoneInfo("Europe/Paris")
_TOKEN = re.compile(r"<([^<>]+)>")
_FORMATS = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), "del"),
)
_BARE_PING = re.compile(r"(?<![\w@])@(here|channel|everyone)\b")
#: The emoji shortcodes ditbot writes, as Slack's client shows them (others stay as typed).
EMOJI = {
    "red_circle": "🔴",
    "memo": "📝",
    "warning": "⚠️",
    "outbox_tray": "📤",
    "inbox_tray": "📥",
    "wastebasket": "🗑️",
    "lock": "🔒",
    "floppy_disk": "💾",
    "email": "📧",
    "white_check_mark": "✅",
    "x": "❌",
    "hourglass_flowing_sand": "⏳",
    "bell": "🔔",
    "envelope": "✉️",
    "pencil2": "✏️",
}
_EMOJI = re.compile(r":([a-z0-9_+-]+):")


def _unentity(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_date(stamp: int, spec: str, *, now: datetime | None = None, lang: str = "en") -> str:
    """`<!date^stamp^spec|fallback>`'s text, in the reader's time zone and language (Slack's
    tokens, drawn by the client in its user's language)."""
    when = datetime.fromtimestamp(stamp, TIMEZONE)
    today = (now or datetime.now(TIMEZONE)).date()
    pretty = {
        today: gettext(lang, _("today")),
        today - timedelta(days=1): gettext(lang, _("yesterday")),
        today + timedelta(days=1): gettext(lang, _("tomorrow")),
    }
    day = when.day
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    tokens = {
        "date_num": when.strftime("%Y-%m-%d"),
        "date": f"{when:%B} {day}{suffix}, {when.year}",
        "date_short": f"{when:%b} {day}, {when.year}",
        "date_long": f"{when:%A}, {when:%B} {day}{suffix}, {when.year}",
        "time": when.strftime("%H:%M"),
        "time_secs": when.strftime("%H:%M:%S"),
    }
    if lang != "en":
        tokens["date"] = format_date(when, "d MMMM y", locale=lang)
        tokens["date_short"] = format_date(when, "d MMM y", locale=lang)
        tokens["date_long"] = format_date(when, "EEEE d MMMM y", locale=lang)
    for name in ("date", "date_short", "date_long"):
        tokens[name + "_pretty"] = (
            pretty.get(when.date(), tokens[name]).capitalize()
            if when.date() in pretty
            else tokens[name]
        )
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), spec)


def _angle(token: str, names: Callable[[str], str], lang: str = "en") -> Markup:
    """One `<…>` of mrkdwn."""
    target, _, label = token.partition("|")
    if target.startswith("@"):
        return Markup('<span class="mention">@{}</span>').format(names(target[1:]))
    if target.startswith("#"):
        return Markup('<span class="mention">#{}</span>').format(_unentity(label) or target[1:])
    if target.startswith("!date^"):
        parts = target.split("^")
        try:
            return Markup('<time datetime="{}">{}</time>').format(
                parts[1],
                slack_date(int(parts[1]), parts[2] if len(parts) > 2 else "{date}", lang=lang),
            )
        except (ValueError, IndexError):
            return Markup("{}").format(_unentity(label))
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return Markup('<span class="mention ping">@{}</span>').format(label or word)
    url = _unentity(target)
    if re.match(r"^(https?|mailto):", url):
        return Markup('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>').format(
            url, _unentity(label) or url.removeprefix("mailto:")
        )
    return Markup("{}").format("<" + _unentity(token) + ">")


def _inline(text: str, names: Callable[[str], str], verbatim: bool, lang: str) -> Markup:
    pieces: list[Markup] = []
    last = 0
    for match in _TOKEN.finditer(text):
        pieces.append(_plain(text[last : match.start()], verbatim))
        pieces.append(_angle(match.group(1), names, lang))
        last = match.end()
    pieces.append(_plain(text[last:], verbatim))
    return Markup("").join(pieces)


def _plain(text: str, verbatim: bool) -> Markup:
    """Text between `<…>` tokens: entities decoded, escaped for HTML, *bold* and the rest."""
    html = escape(_unentity(text))
    html = Markup(_EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), str(html)))
    for pattern, tag in _FORMATS:
        html = Markup(pattern.sub(rf"<{tag}>\1</{tag}>", str(html)))
    if not verbatim:
        html = Markup(_BARE_PING.sub(r'<span class="mention ping">@\1</span>', str(html)))
    return html


def mrkdwn(
    text: str, *, names: Callable[[str], str] = str, verbatim: bool = False, lang: str = "en"
) -> Markup:
    """Slack's mrkdwn as HTML (see the module docstring)."""
    out: list[Markup] = []
    chunks = re.split(r"```", text)
    for index, chunk in enumerate(chunks):
        if index % 2 == 1 and index < len(chunks) - 1:
            out.append(Markup("<pre>{}</pre>").format(_unentity(chunk.strip("\n"))))
            continue
        if index % 2 == 1:
            chunk = "```" + chunk
        lines: list[Markup] = []
        for line in chunk.split("\n"):
            quoted = line.startswith("&gt;") or line.startswith(">")
            body = re.sub(r"^(&gt;|>)\s?", "", line) if quoted else line
            parts = re.split(r"`([^`\n]+)`", body)
            rendered = Markup("").join(
                Markup("<code>{}</code>").format(_unentity(p))
                if i % 2
                else _inline(p, names, verbatim, lang)
                for i, p in enumerate(parts)
            )
            lines.append(
                Markup('<span class="quote">{}</span>').format(rendered) if quoted else rendered
            )
        out.append(Markup("<br>").join(lines))
    return Markup("").join(out)


def text_object(node: Any, names: Callable[[str], str] = str, lang: str = "en") -> Markup:
    if not isinstance(node, dict):
        return Markup("")
    text = str(node.get("text") or "")
    if node.get("type") == "mrkdwn":
        return mrkdwn(text, names=names, verbatim=bool(node.get("verbatim")), lang=lang)
    # plain_text too: Slack decodes the three entities everywhere it displays text (its
    # formatting reference, "Escaping text"; it even hands plain_text button labels back
    # escaped, bolt-python#513), and keeps line breaks.
    html = escape(_unentity(text))
    if node.get("emoji", True):
        html = Markup(_EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), str(html)))
    return Markup(str(html).replace("\n", "<br>"))


def plain(node: Any) -> str:
    """The text of a plain_text object as shown (entities decoded), for titles and labels."""
    return _unentity(str(node.get("text") or "")) if isinstance(node, dict) else ""


class Surface:
    """Where blocks are drawn: a message, an ephemeral, a modal or the Home tab."""

    def __init__(
        self,
        kind: str,
        ref: str,
        *,
        names: Callable[[str], str] = str,
        state: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        lang: str = "en",
    ) -> None:
        self.kind = kind
        self.lang = lang
        self.ref = ref
        self.names = names
        self.state = (state or {}).get("values") or {}
        self.errors = errors or {}
        self._uid = 0

    def uid(self, stem: str) -> str:
        self._uid += 1
        safe = re.sub(r"[^A-Za-z0-9_-]", "-", f"{self.kind}-{self.ref}-{stem}")
        return f"{safe}-{self._uid}"

    def text(self, node: Any) -> Markup:
        return text_object(node, self.names, self.lang)


def blocks(nodes: list[dict[str, Any]], surface: Surface) -> Markup:
    """Every block, in order."""
    return Markup("").join(block(node, surface) for node in nodes if isinstance(node, dict))


def block(node: dict[str, Any], s: Surface) -> Markup:
    kind = node.get("type")
    block_id = str(node.get("block_id") or "")
    if kind == "header":
        return Markup('<h3 class="bk-header">{}</h3>').format(plain(node.get("text")))
    if kind == "divider":
        return Markup('<hr class="bk-divider">')
    if kind == "section":
        fields = node.get("fields") or []
        inner = Markup("")
        if node.get("text"):
            inner += Markup('<div class="bk-text">{}</div>').format(s.text(node["text"]))
        if fields:
            inner += Markup('<div class="bk-fields">{}</div>').format(
                Markup("").join(Markup("<div>{}</div>").format(s.text(f)) for f in fields)
            )
        accessory = node.get("accessory")
        side = element(accessory, block_id, s) if isinstance(accessory, dict) else Markup("")
        return Markup('<div class="bk-section"><div class="bk-main">{}</div>{}</div>').format(
            inner, Markup('<div class="bk-accessory">{}</div>').format(side) if side else ""
        )
    if kind == "context":
        items = []
        for item in node.get("elements") or []:
            if item.get("type") == "image":
                items.append(
                    Markup('<span class="bk-image" role="img" aria-label="{}">▣</span>').format(
                        item.get("alt_text", "")
                    )
                )
            else:
                items.append(Markup("<span>{}</span>").format(s.text(item)))
        return Markup('<div class="bk-context">{}</div>').format(Markup(" ").join(items))
    if kind == "actions":
        return Markup('<div class="bk-actions">{}</div>').format(
            Markup("").join(element(e, block_id, s) for e in node.get("elements") or [])
        )
    if kind == "input":
        return input_block(node, s)
    if kind == "image":
        return Markup('<p class="bk-image">{}</p>').format(node.get("alt_text", ""))
    if kind == "rich_text":
        return Markup('<div class="bk-text">{}</div>').format(_rich(node))
    return Markup('<p class="bk-unknown">[{}]</p>').format(kind)


def _rich(node: Any) -> str:
    texts: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            if isinstance(n.get("text"), str):
                texts.append(n["text"])
            for v in n.values():
                if isinstance(v, list | dict):
                    walk(v)
        elif isinstance(n, list):
            for item in n:
                walk(item)

    walk(node)
    return "".join(texts)


def _data(element_node: dict[str, Any], block_id: str) -> Markup:
    payload = {k: v for k, v in element_node.items() if k not in ("options", "option_groups")}
    payload["block_id"] = block_id
    return Markup('data-action="{}"').format(json.dumps(payload, ensure_ascii=False))


def _confirm(node: dict[str, Any]) -> Markup:
    confirm = node.get("confirm")
    if not isinstance(confirm, dict):
        return Markup("")
    shown = {
        "title": plain(confirm.get("title")),
        "text": str(text_object(confirm.get("text"))),
        "confirm": plain(confirm.get("confirm")) or "OK",
        "deny": plain(confirm.get("deny")) or "Cancel",
        "style": confirm.get("style") or "",
    }
    return Markup(' data-confirm="{}"').format(json.dumps(shown, ensure_ascii=False))


def _option_label(option: dict[str, Any]) -> str:
    return plain(option.get("text"))


def _all_options(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("options") or [])
    for group in node.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def element(node: dict[str, Any], block_id: str, s: Surface) -> Markup:
    """An element outside an input block: a click on it is a `block_actions`."""
    kind = node.get("type")
    if kind == "button":
        style = str(node.get("style") or "")
        if node.get("url"):
            return Markup(
                '<a class="btn {}" href="{}" target="_blank" rel="noopener noreferrer" {}>{}</a>'
            ).format(style, node["url"], _data(node, block_id), plain(node.get("text")))
        return Markup('<button type="button" class="btn {}" {}{}>{}</button>').format(
            style, _data(node, block_id), _confirm(node), plain(node.get("text"))
        )
    if kind == "overflow":
        items = Markup("").join(
            Markup(
                '<li><button type="button" class="menu-item" {} data-value="{}"{}>{}</button></li>'
            ).format(_data(node, block_id), o.get("value", ""), _confirm(node), _option_label(o))
            for o in node.get("options") or []
        )
        return Markup(
            '<details class="overflow"><summary class="btn" aria-label="{}">⋯</summary>'
            '<ul class="menu">{}</ul></details>'
        ).format("More actions", items)
    if kind in ("static_select", "external_select", "users_select", "conversations_select"):
        label = plain(node.get("placeholder")) or "Select"
        field_id = s.uid(str(node.get("action_id")))
        options = Markup("").join(
            Markup('<option value="{}">{}</option>').format(o.get("value", ""), _option_label(o))
            for o in _all_options(node)
        )
        return Markup(
            '<select id="{}" class="select" aria-label="{}" {}>'
            '<option value="">{}</option>{}</select>'
        ).format(field_id, label, _data(node, block_id), label, options)
    if kind in ("datepicker", "timepicker", "datetimepicker"):
        return Markup('<input type="{}" aria-label="{}" {}>').format(
            {"datepicker": "date", "timepicker": "time"}.get(str(kind), "datetime-local"),
            plain(node.get("placeholder")) or str(kind),
            _data(node, block_id),
        )
    return Markup('<span class="bk-unknown">[{}]</span>').format(kind)


def _kept(s: Surface, block_id: str, action_id: str) -> dict[str, Any] | None:
    entry = (s.state.get(block_id) or {}).get(action_id)
    return entry if isinstance(entry, dict) else None


def input_block(node: dict[str, Any], s: Surface) -> Markup:
    block_id = str(node.get("block_id") or "")
    el = node.get("element") or {}
    action_id = str(el.get("action_id") or "")
    kind = str(el.get("type") or "")
    field_id = s.uid(block_id)
    label = plain(node.get("label"))
    optional = Markup(' <span class="optional">(optional)</span>') if node.get("optional") else ""
    error = s.errors.get(block_id)
    described = []
    hint = Markup("")
    if node.get("hint"):
        hint = Markup('<p class="hint" id="{}-hint">{}</p>').format(field_id, plain(node["hint"]))
        described.append(f"{field_id}-hint")
    err = Markup("")
    if error:
        err = Markup('<p class="field-error" id="{}-error" role="alert">{}</p>').format(
            field_id, error
        )
        described.append(f"{field_id}-error")
    kept = _kept(s, block_id, action_id)
    attrs = Markup(
        'id="{}" name="{}" data-block="{}" data-action-id="{}" data-kind="{}"{}{}{}'
    ).format(
        field_id,
        f"{block_id}/{action_id}",
        block_id,
        action_id,
        kind,
        Markup(' aria-describedby="{}"').format(" ".join(described)) if described else "",
        Markup(' aria-invalid="true"') if error else "",
        Markup(' required aria-required="true"') if not node.get("optional") else "",
    )
    dispatch = ""
    if node.get("dispatch_action"):
        config = el.get("dispatch_action_config") or {}
        on = config.get("trigger_actions_on") or ["on_enter_pressed"]
        dispatch = Markup(' data-dispatch="{}" {}').format(" ".join(on), _data(el, block_id))
    control = _input_control(el, kind, attrs + dispatch, kept, field_id, label)
    if kind in ("radio_buttons", "checkboxes"):
        return Markup('<fieldset class="bk-input{}"><legend>{}{}</legend>{}{}{}</fieldset>').format(
            " has-error" if error else "", label, optional, control, hint, err
        )
    return Markup('<div class="bk-input{}"><label for="{}">{}{}</label>{}{}{}</div>').format(
        " has-error" if error else "", field_id, label, optional, control, hint, err
    )


def _input_control(
    el: dict[str, Any],
    kind: str,
    attrs: Markup,
    kept: dict[str, Any] | None,
    field_id: str,
    label: str,
) -> Markup:
    placeholder = plain(el.get("placeholder"))
    ph = Markup(' placeholder="{}"').format(placeholder) if placeholder else ""
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        value = kept.get("value") if kept else el.get("initial_value")
        limit = el.get("max_length")
        extra = Markup(' maxlength="{}"').format(limit) if limit else ""
        if el.get("multiline"):
            return Markup('<textarea {}{}{} rows="5">{}</textarea>').format(
                attrs, ph, extra, value or ""
            )
        kind_html = {"email_text_input": "email", "url_text_input": "url", "number_input": "number"}
        return Markup('<input type="{}" {}{}{} value="{}">').format(
            kind_html.get(kind, "text"), attrs, ph, extra, value or ""
        )
    if kind == "static_select":
        chosen = (kept or {}).get("selected_option") if kept else el.get("initial_option")
        chosen_value = (chosen or {}).get("value")
        groups = el.get("option_groups")
        if groups:
            inner = Markup("").join(
                Markup('<optgroup label="{}">{}</optgroup>').format(
                    plain(g.get("label")), _opts(g.get("options") or [], chosen_value)
                )
                for g in groups
            )
        else:
            inner = _opts(el.get("options") or [], chosen_value)
        return Markup('<select {}><option value="">{}</option>{}</select>').format(
            attrs, placeholder or "—", inner
        )
    if kind == "external_select":
        chosen = (kept or {}).get("selected_option") if kept else el.get("initial_option")
        value = (chosen or {}).get("value") or ""
        text = plain((chosen or {}).get("text"))
        minimum = el.get("min_query_length", 3)
        return Markup(
            '<div class="external" data-min="{}"><input type="text" role="combobox" '
            'aria-autocomplete="list" aria-expanded="false" aria-controls="{}-list" '
            'autocomplete="off" {}{} value="{}" data-value="{}" data-label="{}">'
            '<ul class="listbox" id="{}-list" role="listbox" aria-label="{}" hidden></ul></div>'
        ).format(minimum, field_id, attrs, ph, text, value, text, field_id, label)
    if kind in ("radio_buttons", "checkboxes"):
        multiple = kind == "checkboxes"
        if kept:
            chosen_values = (
                [o.get("value") for o in kept.get("selected_options") or []]
                if multiple
                else [(kept.get("selected_option") or {}).get("value")]
            )
        else:
            chosen_values = (
                [o.get("value") for o in el.get("initial_options") or []]
                if multiple
                else [(el.get("initial_option") or {}).get("value")]
            )
        items = Markup("").join(
            Markup(
                '<label class="choice"><input type="{}" name="{}-choice" value="{}"{}> {}</label>'
            ).format(
                "checkbox" if multiple else "radio",
                field_id,
                o.get("value", ""),
                Markup(" checked") if o.get("value") in chosen_values else "",
                text_object(o.get("text")),
            )
            for o in el.get("options") or []
        )
        return Markup('<div class="choices" {}>{}</div>').format(attrs, items)
    if kind in ("datetimepicker", "datepicker", "timepicker"):
        html_type = {"datepicker": "date", "timepicker": "time"}.get(kind, "datetime-local")
        if kept:
            raw = (
                kept.get("selected_date_time")
                or kept.get("selected_date")
                or kept.get("selected_time")
            )
        else:
            raw = el.get("initial_date_time") or el.get("initial_date") or el.get("initial_time")
        value = raw
        if kind == "datetimepicker" and raw:
            value = datetime.fromtimestamp(int(raw), TIMEZONE).strftime("%Y-%m-%dT%H:%M")
        return Markup('<input type="{}" {} value="{}">').format(html_type, attrs, value or "")
    return Markup('<p class="bk-unknown">[{}]</p>').format(kind)


def _opts(options: list[dict[str, Any]], chosen: Any) -> Markup:
    return Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            o.get("value", ""),
            Markup(" selected") if o.get("value") == chosen else "",
            _option_label(o),
        )
        for o in options
    )
