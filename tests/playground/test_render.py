"""Block Kit and mrkdwn drawn as Slack's client draws them."""

from __future__ import annotations

from datetime import datetime

from ditbot.playground import render


def names(user_id: str) -> str:
    return {"UJDU": "Jeanne Dupuis"}.get(user_id, user_id)


def test_escaped_text_shows_the_characters_and_never_forms_markup() -> None:
    html = str(render.mrkdwn("a &lt;b&gt; &amp;lt; &lt;!channel&gt; <script>", names=names))
    assert "a &lt;b&gt; &amp;lt; &lt;!channel&gt;" in html  # shown as `<b> &lt; <!channel>`
    assert "<script>" not in html and "<b>" not in html
    assert "ping" not in html  # escaped <!channel> is text, not a mention


def test_mentions_channels_links_and_specials_as_slack_shows_them() -> None:
    html = str(
        render.mrkdwn(
            "<@UJDU> in <#C0DISPATCH|dispatch>: <https://x.example/?a=1&amp;b=2|the link> <!here>",
            names=names,
        )
    )
    assert '<span class="mention">@Jeanne Dupuis</span>' in html
    assert '<span class="mention">#dispatch</span>' in html
    assert 'href="https://x.example/?a=1&amp;b=2"' in html and ">the link</a>" in html
    assert '<span class="mention ping">@here</span>' in html


def test_a_bare_at_channel_pings_unless_verbatim() -> None:
    assert "ping" in str(render.mrkdwn("hello @channel"))
    assert "ping" not in str(render.mrkdwn("hello @channel", verbatim=True))
    assert "ping" not in str(render.text_object({"type": "plain_text", "text": "@channel"}))


def test_bold_italic_strike_code_quote_and_emoji() -> None:
    html = str(render.mrkdwn("*gras* _it_ ~non~ `c*o*de` :red_circle:\n&gt; cité"))
    assert "<strong>gras</strong>" in html and "<em>it</em>" in html and "<del>non</del>" in html
    assert "<code>c*o*de</code>" in html
    assert "🔴" in html
    assert '<span class="quote">cité</span>' in html


def test_dates_are_drawn_in_the_readers_time_zone() -> None:
    stamp = int(datetime(2026, 12, 1, 9, 30, tzinfo=render.TIMEZONE).timestamp())
    now = datetime(2026, 12, 2, 12, 0, tzinfo=render.TIMEZONE)
    assert render.slack_date(stamp, "{date_num} {time}", now=now) == "2026-12-01 09:30"
    assert render.slack_date(stamp, "{date_short_pretty}", now=now) == "Yesterday"
    html = str(render.mrkdwn(f"<!date^{stamp}^{{date_short}}|1 Dec>"))
    assert "Dec 1, 2026" in html


def test_an_input_with_an_error_shows_it_under_its_field_and_keeps_the_value() -> None:
    view_blocks = [
        {
            "type": "input",
            "block_id": "detail.1",
            "label": {"type": "plain_text", "text": "Détail"},
            "element": {"type": "plain_text_input", "action_id": "detail", "multiline": True},
        }
    ]
    state = {"values": {"detail.1": {"detail": {"type": "plain_text_input", "value": "x<y"}}}}
    surface = render.Surface("view", "V1", state=state, errors={"detail.1": "Trop court"})
    html = str(render.blocks(view_blocks, surface))
    assert 'role="alert">Trop court</p>' in html
    assert 'aria-invalid="true"' in html and "aria-describedby=" in html
    assert ">x&lt;y</textarea>" in html


def test_buttons_carry_their_style_confirm_and_the_action_slack_would_send() -> None:
    button = {
        "type": "button",
        "action_id": "exchange_menu",
        "text": {"type": "plain_text", "text": "Supprimer"},
        "style": "danger",
        "value": "delete:3",
        "confirm": {
            "title": {"type": "plain_text", "text": "Sûr ?"},
            "text": {"type": "plain_text", "text": "Vraiment"},
            "confirm": {"type": "plain_text", "text": "Oui"},
            "deny": {"type": "plain_text", "text": "Non"},
        },
    }
    html = str(
        render.blocks(
            [{"type": "actions", "block_id": "b", "elements": [button]}],
            render.Surface("message", "m"),
        )
    )
    assert 'class="btn danger"' in html
    assert "data-confirm=" in html and "Sûr ?" in html
    assert (
        "&#34;value&#34;: &#34;delete:3&#34;" in html and "&#34;block_id&#34;: &#34;b&#34;" in html
    )


def test_plain_text_shows_the_decoded_characters_and_its_line_breaks() -> None:
    html = str(render.text_object({"type": "plain_text", "text": "a &lt;b&gt; &amp;\nc"}))
    assert html == "a &lt;b&gt; &amp;<br>c"  # the browser shows `a <b> &` then `c`


def test_dates_are_drawn_in_the_readers_language() -> None:
    stamp = int(datetime(2026, 12, 1, 9, 30, tzinfo=render.TIMEZONE).timestamp())
    now = datetime(2026, 12, 2, 12, 0, tzinfo=render.TIMEZONE)
    assert (
        render.slack_date(stamp, "{date_short} {time}", now=now, lang="fr") == "1 déc. 2026 09:30"
    )
    assert render.slack_date(stamp, "{date_long_pretty}", now=now, lang="fr") == "Hier"
