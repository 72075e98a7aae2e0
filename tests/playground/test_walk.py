"""The whole walk of issue 11 in a real Chromium, in French and in English.

`ditbot serve` starts in a fresh folder with no Slack token (playground mode), and a person, in
the browser: opens a DIT with `/dit`, logs a received call, logs a sent exchange, sends a mail
and sees it in the mailbox, opens its portal link, writes as the client, sees the notification
in the dispatch channel, marks a relance and sees it in the managers' channel and in the
dispatch thread, closes a half-written mail and resumes the draft from the App Home.

Screenshots go to build/playground-screens/<lang>/ (README, "Playground"; CI keeps them as
artifacts). The page passes axe-core (DITBOT_AXE_JS, see .ci/run) with no WCAG 2.1 AA
violation, at 1280 px and at phone width.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.playground.conftest import Served, start_playground, stop

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "build" / "playground-screens"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
DIT = "DIT-2026-0001"

WORDS = {
    "fr": {
        "user": "UJDU",
        "panel_has": DIT,
        "exchange_panel": "Échanges",
        "portal_sent": "Message envoyé",
        "draft": "Brouillon",
        "digest": "Bilan de la semaine",
        "chart": "Échanges par jour, semaine du",
    },
    "en": {
        "user": "UMLE",
        "panel_has": DIT,
        "exchange_panel": "Exchanges",
        "portal_sent": "Message sent",
        "draft": "Draft",
        "digest": "Weekly digest",
        "chart": "Exchanges per day, week of",
    },
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: in CI the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(params=["fr", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(tmp_path: Path, lang: str) -> Iterator[Served]:
    playground = start_playground(tmp_path, {"DITBOT_LOCALE": lang})
    yield playground
    stop(playground)


class Walk:
    def __init__(self, page: Any, served: Served, lang: str) -> None:
        self.page = page
        self.served = served
        self.lang = lang
        self.shots = SCREENS / lang
        self.shots.mkdir(parents=True, exist_ok=True)
        self.step = 0

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"), full_page=True)

    def open(self, where: str) -> None:
        user = WORDS[self.lang]["user"]
        self.page.goto(f"{self.served.url}/playground?as={user}&lang={self.lang}&c={where}")

    def say(self, text: str) -> None:
        box = self.page.locator("#composer-text")
        box.fill(text)
        box.press("Enter")

    def post_digest(self) -> None:
        """Post the weekly digest from the sidebar and open its thread, the chart drawn."""
        self.page.locator("[data-gesture=digest]").click()
        digest = self.page.locator(".messages > li", has_text=WORDS[self.lang]["digest"]).last
        expect(digest).to_be_visible()
        digest.locator("a.replies").click()
        chart = self.page.locator(".thread figure.file img")
        expect(chart).to_be_visible()
        expect(chart).to_have_attribute("alt", re.compile(WORDS[self.lang]["chart"]))
        assert chart.evaluate("img => img.complete && img.naturalWidth") >= 600

    def modal(self) -> Any:
        return self.page.locator(".modal")

    def click_action(self, action_id: str, where: Any | None = None) -> None:
        scope = where if where is not None else self.page
        scope.locator(f'[data-action*=\'"action_id": "{action_id}"\']').first.click()

    def field(self, action_id: str) -> Any:
        return self.modal().locator(f"[data-action-id='{action_id}']")

    def modal_title(self) -> str:
        return str(self.modal().locator("#modal-title").inner_text())


def test_the_whole_walk_in_the_browser(browser: Any, served: Served, lang: str) -> None:
    context = browser.new_context(
        locale=lang, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = Walk(page, served, lang)

    # Open a DIT with /dit in #general.
    walk.open("C0GENERAL")
    walk.shot("general")
    walk.say(f"/dit {DIT}")
    panel = walk.modal()
    panel.wait_for()
    assert DIT in panel.inner_text()
    walk.shot("panel")

    # Log a received call.
    walk.click_action("add_received", panel)
    page.wait_for_function("document.querySelectorAll('.modal [data-action-id=detail]').length")
    walk.field("type").select_option("appel")
    walk.field("detail").fill("Le client rappelle : toujours en panne")
    walk.shot("received-form")
    walk.modal().locator("button[type=submit]").click()
    page.wait_for_function("!document.querySelector('.modal [data-action-id=detail]')")
    expect(walk.modal()).to_contain_text("toujours en panne")

    # Log a sent exchange.
    walk.click_action("add_sent", walk.modal())
    page.wait_for_function("document.querySelectorAll('.modal [data-action-id=detail]').length")
    walk.field("detail").fill("Rappel du client, technicien prévu demain")
    walk.modal().locator("button[type=submit]").click()
    page.wait_for_function("!document.querySelector('.modal [data-action-id=detail]')")
    expect(walk.modal()).to_contain_text("technicien prévu demain")
    walk.shot("panel-with-exchanges")

    # Send a mail.
    walk.click_action("compose_mail", walk.modal())
    page.wait_for_function("document.querySelectorAll('.modal [data-action-id=detail]').length")
    walk.field("detail").fill("Bonjour, notre technicien passe demain matin.")
    walk.shot("mail-form")
    walk.modal().locator("button[type=submit]").click()
    page.wait_for_function("!document.querySelector('.modal [data-action-id=detail]')")
    walk.modal().locator("[data-close-all]").click()
    page.wait_for_function("!document.querySelector('.modal')")

    # See it in the mailbox.
    page.locator("#sidebar a[href*='c=mailbox']").click()
    page.locator(".mail").wait_for()
    expect(page.locator(".mail h2")).to_contain_text(DIT)
    expect(page.locator(".mail-text")).to_contain_text("notre technicien passe demain matin")
    walk.shot("mailbox")
    portal = page.locator("a[data-mail-link][href*='/portal/']").first.get_attribute("href")
    assert portal and portal.startswith(served.url + "/portal/")

    # Open its portal link and write as the client; then again, marked as a relance.
    client = context.new_page()
    client.goto(portal)
    client.fill("textarea[name=detail]", "Merci, je serai là à 9 h.")
    client.locator("form button[type=submit]").click()
    client.wait_for_load_state()
    walk.page = client
    walk.shot("portal")
    client.fill("textarea[name=detail]", "Toujours personne ? C'est urgent.")
    client.check("input[name=relance]")
    client.locator("form button[type=submit]").click()
    client.wait_for_load_state()
    client.close()
    walk.page = page

    # The notification in the dispatch channel, and the relance in its thread.
    walk.open("C0DISPATCH")
    expect(page.locator(".replies").first).to_be_visible()
    expect(page.locator(".messages").first).to_contain_text(DIT)
    walk.shot("dispatch")
    page.locator(".replies").first.click()
    page.locator(".thread").wait_for()
    expect(page.locator(".thread")).to_contain_text("urgent")
    walk.shot("dispatch-thread")
    walk.click_action("open_panel", page.locator(".messages").first)  # a message's button
    expect(walk.modal()).to_contain_text("urgent")
    walk.modal().locator("[data-close-all]").click()
    page.wait_for_function("!document.querySelector('.modal')")

    # The relance in the managers' channel.
    walk.open("C0RELANCES")
    expect(page.locator(".messages")).to_contain_text(DIT)
    walk.shot("relances")

    # The managers' weekly digest, posted from the sidebar; its chart is in the thread.
    walk.post_digest()
    walk.shot("digest")
    page.set_viewport_size({"width": 1280, "height": 1900})  # the thread whole, above the composer
    top = page.locator(".thread").bounding_box()
    end = page.locator(".thread .messages > li").last.bounding_box()
    assert top and end
    clip = {"x": top["x"], "y": top["y"], "width": top["width"]}
    clip["height"] = end["y"] + end["height"] - top["y"] + 8
    page.screenshot(path=str(walk.shots / "digest-thread.png"), clip=clip)  # the README's
    page.set_viewport_size({"width": 1280, "height": 900})

    # Close a half-written mail, resume the draft from the App Home.
    walk.open("C0GENERAL")
    walk.say(f"/dit mail {DIT}")
    walk.modal().wait_for()
    walk.field("detail").fill("Brouillon : à compléter")
    walk.modal().locator("[data-close]").click()
    page.wait_for_function("!document.querySelector('.modal')")
    walk.open(f"D{WORDS[lang]['user'][1:]}")  # ditbot's DM says the draft was kept
    expect(page.locator("[data-action*=draft_resume]").first).to_be_visible()
    walk.shot("dm-draft-kept")
    walk.open("home")
    expect(page.locator("[data-action*=draft_resume]").first).to_be_visible()
    walk.shot("home-with-draft")
    walk.click_action("draft_resume")
    walk.modal().wait_for()
    expect(walk.field("detail")).to_have_value("Brouillon : à compléter")
    walk.shot("draft-resumed")
    context.close()


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any, axe: Path) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of the page as it is, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' ' +"
        " v.nodes.map(n => n.target.join(' ')).join(', ')))",
        AXE_TAGS,
    )
    return [str(line) for line in found]


@pytest.fixture
def axe() -> Path:
    path = os.environ.get("DITBOT_AXE_JS")
    if not path or not Path(path).is_file():
        reason = "DITBOT_AXE_JS does not name axe.min.js (npm pack axe-core@4.14.1; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(path)


@pytest.mark.parametrize(
    ("width", "height"), [(1280, 900), (375, 740)], ids=["desktop-1280", "phone-375"]
)
def test_every_screen_of_the_playground_passes_axe(
    browser: Any, served: Served, lang: str, axe: Path, width: int, height: int
) -> None:
    context = browser.new_context(
        locale=lang,
        viewport={"width": width, "height": height},
        is_mobile=width < 700,
        has_touch=width < 700,
        bypass_csp=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = Walk(page, served, lang)
    walk.shots = SCREENS / lang / f"axe-{width}"
    walk.shots.mkdir(parents=True, exist_ok=True)
    seen: dict[str, list[str]] = {}

    def check(name: str) -> None:
        walk.shot(name)
        seen[name] = axe_violations(page, axe)
        # Nothing wider than the screen: no sideways scrolling at phone width.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name

    walk.open("C0GENERAL")
    walk.say("/dit help")
    expect(page.locator(".ephemeral")).to_be_visible()
    check("help")
    walk.say(f"/dit {DIT}")
    walk.modal().wait_for()
    check("panel")
    walk.click_action("add_received", walk.modal())
    page.wait_for_function("document.querySelectorAll('.modal [data-action-id=detail]').length")
    walk.modal().locator("button[type=submit]").click()  # no detail: an error under the field
    expect(walk.modal().locator(".field-error")).to_be_visible()
    check("field-error")
    walk.modal().locator("[data-close-all]").click()
    page.wait_for_function("!document.querySelector('.modal')")
    walk.open("home")
    expect(page.locator("[data-home] .bk-section").first).to_be_visible()
    check("home")
    walk.open("mailbox")
    check("mailbox")
    walk.open("C0RELANCES")
    walk.post_digest()
    check("digest")
    context.close()
    assert {name: v for name, v in seen.items() if v} == {}


def test_a_message_logged_with_the_shortcut_and_the_menus_of_the_panel(
    browser: Any, served: Served, lang: str
) -> None:
    """The message shortcut on a message someone wrote, an external select filled through
    ditbot's options endpoint, the overflow menu of an exchange, a message's button."""
    context = browser.new_context(
        locale=lang, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = Walk(page, served, lang)
    walk.shots = SCREENS / lang / "shortcut"
    walk.shots.mkdir(parents=True, exist_ok=True)

    # Who you are and the language, picked in the page.
    page.goto(f"{served.url}/playground")
    # Each choice reloads the page. Wait for that reload itself, not for a URL that may already
    # read so (the server remembers the previous test's choice): a message typed before the
    # reload is lost with the page.
    with page.expect_navigation(url=re.compile(f"lang={lang}")):
        page.select_option("#lang", lang)
    with page.expect_navigation(url=re.compile(f"as={WORDS[lang]['user']}")):
        page.select_option("#as", WORDS[lang]["user"])
    assert page.locator("html").get_attribute("lang") == lang

    walk.say("SMS du client : le copieur refait du bruit <!channel>")
    message = page.locator(".message", has_text="le copieur refait du bruit")
    expect(message).to_be_visible()
    expect(message.locator(".ping")).to_have_count(0)  # typed text never pings
    message.locator("[data-shortcut]").click()
    walk.modal().wait_for()
    # What was written, not Slack's escaped form of it (&lt;!channel&gt;).
    expect(walk.field("detail")).to_have_value(
        "SMS du client : le copieur refait du bruit <!channel>"
    )
    chooser = walk.field("dit")
    chooser.fill("0001")
    option = walk.modal().locator("[role=option]", has_text=DIT)
    option.first.click()
    walk.shot("shortcut-form")
    page.wait_for_timeout(0)
    expect(walk.field("type")).to_be_visible()
    walk.field("type").select_option("appel")
    walk.modal().locator("button[type=submit]").click()
    page.wait_for_function("!document.querySelector('.modal [data-action-id=dit]')")
    walk.shot("after-shortcut")
    walk.modal().locator("[data-close-all]").click()  # the form became the DIT's panel
    page.wait_for_function("!document.querySelector('.modal')")

    # The panel's overflow menu: view one exchange (pushed on the panel).
    walk.open("C0GENERAL")
    walk.say(f"/dit {DIT}")
    walk.modal().wait_for()
    expect(walk.modal()).to_contain_text("le copieur refait du bruit")
    walk.modal().locator("details.overflow summary").first.click()
    walk.modal().locator("details.overflow[open] .menu-item").first.click()
    expect(walk.modal().locator(".tag")).to_have_text("2/3")
    walk.shot("exchange-pushed")
    context.close()
