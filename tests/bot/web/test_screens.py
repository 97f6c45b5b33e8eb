"""The web admin's screens in headless Chromium, as an admin uses them: templates grouped and searched, previews
with the brand's own venue, the variables a template may use, the flow editor's indentation, a rollback that
asks first (without JavaScript too), a dashboard whose charts read on a phone, and the e-mail page without
JavaScript (checked by axe-core)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from bot.editing.editor import Admin
from bot.editing.overrides import Document, Scope, template_document
from bot.staff.mail import Recipient, RecipientStore
from tests.bot.channels.web import test_browser as web_chat_tests
from tests.bot.web.conftest import WebAdmin
from tests.bot.web.test_browser import login

browser = web_chat_tests.browser  # the fixture: Debian's Chromium, headless, one a test

PHONE: ViewportSize = {"width": 360, "height": 740}
#: The smallest text a phone's reader should have to read, in CSS pixels.
MIN_TEXT_PX = 12.0


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A page on a phone's screen that fails the test on a script's error or on a script or style the page's
    policy refused (not on a missing resource: the 401 of the page before login, the browser's favicon)."""
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield page
    await context.close()
    assert errors == []


async def test_templates_are_grouped_searched_and_previewed_with_the_venue(web_admin: WebAdmin, phone: Page) -> None:
    store = web_admin.editor.store
    await store.add_brand("zinc", "Zinc & Co")
    venue = await store.add_venue("zinc", "Le Petit Zinc")
    await phone.goto(await web_admin.login_link("zinc"))
    await phone.locator("#login").click()
    await expect(phone.locator("h1")).to_have_text("Modèles de Zinc & Co")
    await expect(phone.locator("header")).to_contain_text("olga · Zinc & Co")  # the brand by its name
    await expect(phone.locator("h2")).to_have_count(3)
    for group, inside, outside in (("customer", "greeting", "staff_card"), ("staff", "staff_card", "greeting"),
                                   ("admin", "admin_saved", "staff_card")):  # fmt: skip
        table = phone.locator(f'table[data-group="{group}"]')
        await expect(table.get_by_role("link", name=inside, exact=True)).to_have_count(1)
        await expect(table.get_by_role("link", name=outside, exact=True)).to_have_count(0)
    await expect(phone.locator("select[name=scope] option")).to_have_text(["Zinc & Co", "Zinc & Co · Le Petit Zinc"])
    # Searching by name or description, without a script: a GET form.
    await phone.locator("#search").fill("poster")
    await phone.get_by_role("button", name="Afficher").click()
    await expect(phone.locator("#found")).to_have_text("2 modèles pour « poster ». Tout afficher")
    await expect(phone.locator("table a")).to_have_text(["poster_invitation", "poster_code_hint"])
    await phone.locator("#search").fill("pas de modèle ainsi")
    await phone.get_by_role("button", name="Afficher").click()
    await expect(phone.locator("#none")).to_be_visible()
    # A venue's own template is previewed with that venue and brand, and lists its variables.
    await phone.goto(f"{web_admin.url}/edit?scope=zinc/{venue.code}&doc=template:greeting:fr")
    await expect(phone.locator("#preview")).to_contain_text("bienvenue au Petit Zinc")
    await expect(phone.locator("#preview")).not_to_contain_text("Quick")
    await expect(phone.locator("#variables li")).to_have_text(
        ["{{ venue_name }} « Le Petit Zinc »", "{{ brand_name }} « Zinc & Co »"]
    )
    await phone.locator("#text").fill("{{ brand_name }} : bienvenue {{ venue_name | à }} !")
    await expect(phone.locator("#preview")).to_have_text("Zinc & Co : bienvenue au Petit Zinc !")
    # The brand's template: the brand's (first) venue; the global one: the catalog's sample.
    await phone.goto(f"{web_admin.url}/edit?scope=zinc&doc=template:thanks:fr")
    await expect(phone.locator("#preview")).to_contain_text("du Petit Zinc")
    await expect(phone.locator("#variables")).to_contain_text("{{ venue_name }} « Le Petit Zinc »")
    # A long list stays folded (a click away), values as JSON with their accents, long ones cut.
    await phone.goto(f"{web_admin.url}/edit?scope=zinc&doc=template:staff_card:fr")
    await expect(phone.locator("#variables details")).not_to_have_attribute("open", "")
    await phone.locator("#variables summary").click()
    entities = phone.locator("#variables li").filter(has_text="{{ entities }}")
    await expect(entities).to_have_text('{{ entities }} [{"text": "Julien", "label": "PER"}]')
    parts = phone.locator("#variables li").filter(has_text="{{ reason_parts }}")
    await expect(parts).to_contain_text('[{"text": "Trente minutes d\'attente &')
    assert (await parts.inner_text()).endswith("…")
    await phone.goto(f"{web_admin.url}/edit?scope=zinc&doc=template:ask_rating:fr")
    await expect(phone.locator("#variables")).to_have_text("Ce modèle n'a pas de variable.")


async def test_the_flow_editor_keeps_the_yaml_indentation(web_admin: WebAdmin, phone: Page) -> None:
    await login(phone, web_admin)
    await phone.goto(f"{web_admin.url}/edit?scope=quick&doc=flow")
    text = phone.locator("#text")
    await expect(phone.locator("#flow-ok")).to_be_visible()
    await text.fill("steps:")
    await text.press("End")
    await text.press("Enter")  # after a key that opens a block: two spaces more
    await phone.keyboard.type("- id: rate")
    await text.press("Enter")  # the same indentation as the line above
    await text.press("Tab")
    await phone.keyboard.type("template: ask_rating")
    assert await text.input_value() == "steps:\n  - id: rate\n    template: ask_rating"
    await text.press("Enter")
    await text.press("Shift+Tab")
    await phone.keyboard.type("- id: next")
    assert await text.input_value() == "steps:\n  - id: rate\n    template: ask_rating\n  - id: next"
    # Selected lines indent and come back together.
    await phone.evaluate("() => document.getElementById('text').setSelectionRange(7, 44)")
    await text.press("Tab")
    assert await text.input_value() == "steps:\n    - id: rate\n      template: ask_rating\n  - id: next"
    await text.press("Shift+Tab")
    assert await text.input_value() == "steps:\n  - id: rate\n    template: ask_rating\n  - id: next"
    # The typed text is checked live as usual (the script is a file: the page's policy runs no inline one)...
    await expect(phone.locator("#preview-problem")).to_be_visible()
    # ...and Escape then Tab leaves the field: the keyboard is not trapped.
    await text.press("Escape")
    await text.press("Tab")
    assert await phone.evaluate("() => document.activeElement.id") != "text"
    assert await text.input_value() == "steps:\n  - id: rate\n    template: ask_rating\n  - id: next"


async def test_a_rollback_asks_first_and_works_without_javascript(web_admin: WebAdmin, browser: Browser) -> None:
    editor = web_admin.editor
    olga = Admin("olga", "quick")
    for expected, text in enumerate(("Salut <b>{{ venue_name }}</b> !", "Hello {{ venue_name }}")):
        await editor.set_template(olga, Scope("quick"), "greeting", "fr", text, expected=expected)
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    try:
        await login(page, web_admin)
        await page.goto(f"{web_admin.url}/history?scope=quick&doc=template:greeting:fr")
        await expect(page.locator("#diff tr.added")).to_have_text("1+Hello {{ venue_name }}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.get_by_role("link", name="Rétablir v1…").click()
        await expect(page.locator("h1")).to_have_text("Rétablir la version 1 de greeting · fr ?")
        # The texts are shown as they are written (escaped), line by line.
        await expect(page.locator("#diff tr.added")).to_have_text("1+Salut <b>{{ venue_name }}</b> !")
        document = Document(Scope("quick"), template_document("greeting", "fr"))
        assert len(await editor.overrides.history(document)) == 2  # asking changed nothing
        await page.locator("#confirm").click()
        await expect(page.locator("#versions tbody tr").first).to_contain_text("rollback (v1)")
        active = await editor.overrides.active(document)
        assert active is not None and active.content == "Salut <b>{{ venue_name }}</b> !\n"
    finally:
        await context.close()


CHART_TEXTS = """() => [...document.querySelectorAll("svg.chart text")].map((t) => {
  const svg = t.ownerSVGElement, box = t.getBoundingClientRect(), frame = svg.getBoundingClientRect();
  return {
    chart: svg.id, text: t.textContent,
    px: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a,
    box: [box.left, box.top, box.right, box.bottom], frame: [frame.left, frame.top, frame.right, frame.bottom],
  };
})"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.mark.usefixtures("seeded")
async def test_the_dashboard_opens_on_a_brand_with_data_and_its_charts_read_on_a_phone(
    web_admin: WebAdmin, phone: Page
) -> None:
    await web_admin.editor.store.add_brand("alpha", "Alpha")  # first by its code, and without any feedback
    await login(phone, web_admin, None)  # an operator
    await phone.goto(f"{web_admin.url}/dashboard?since=2026-09-07&until=2026-09-28")
    await expect(phone.locator("h1")).to_have_text("Tableau de bord de Quick")
    await expect(phone.locator("select[name=brand] option:checked")).to_have_text("Quick")
    await expect(phone.locator('[data-figure="feedbacks"]')).to_have_text("60")
    texts: list[dict[str, Any]] = await phone.evaluate(CHART_TEXTS)
    assert {t["chart"] for t in texts} == {"ratings", "kinds", "trend", "rating-trend"}
    for text in texts:
        assert text["px"] >= MIN_TEXT_PX, text  # as the phone shows it, scaled with its chart
        left, top, right, bottom = text["frame"]
        assert text["box"][0] >= left - 0.5 and text["box"][2] <= right + 0.5, text  # not cut at either side
        assert text["box"][1] >= top - 0.5 and text["box"][3] <= bottom + 0.5, text
    for index, one in enumerate(texts):
        for other in texts[index + 1 :]:
            assert one["chart"] != other["chart"] or not _overlap(one["box"], other["box"]), (one, other)
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # A brand admin's dashboard is their brand's, whatever has data.
    await login(phone, web_admin, "sncf")
    await phone.goto(f"{web_admin.url}/dashboard")
    await expect(phone.locator("h1")).to_have_text("Tableau de bord de SNCF")


async def test_the_email_page_works_without_javascript_on_a_phone_and_is_accessible(
    web_admin: WebAdmin, browser: Browser
) -> None:
    recipients = RecipientStore(web_admin.editor.store.redis)
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    try:
        await login(page, web_admin)
        await page.locator("#nav-mail").click()
        await expect(page.locator("h1")).to_have_text("E-mails de Quick")
        await expect(page.locator("#smtp")).to_contain_text("aucun e-mail ne partira tant qu'il ne l'est pas")
        await expect(page.locator("#none")).to_be_visible()
        await page.get_by_label("Adresse e-mail").fill("olga@quick.fr")
        await page.get_by_label("Nom, pour saluer (facultatif)").fill("Olga")
        await page.get_by_label("le résumé du jour de chaque lieu").uncheck()
        await page.get_by_label("Quick Massy").check()
        await page.locator("#add-button").click()
        await expect(page.locator("#outcome")).to_have_text("Adresse olga@quick.fr ajoutée.")
        row = page.locator('tr[data-address="olga@quick.fr"]')
        await expect(row.locator("td")).to_have_text(["olga@quick.frOlga", "alertes", "Quick Massy", "Retirer"])
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # The same address again is refused with why, the form kept as typed.
        await page.get_by_label("Adresse e-mail").fill("Olga@Quick.fr")
        await page.locator("#add-button").click()
        await expect(page.locator("#problem")).to_contain_text("l'adresse Olga@Quick.fr est déjà dans la liste")
        await expect(page.get_by_label("Adresse e-mail")).to_have_value("Olga@Quick.fr")
        assert [r.address for r in await recipients.list("quick")] == ["olga@quick.fr"]
        await row.get_by_role("button", name="Retirer olga@quick.fr").click()
        await expect(page.locator("#outcome")).to_contain_text("Adresse olga@quick.fr retirée")
        await expect(page.locator("#none")).to_be_visible()
        assert await recipients.list("quick") == []
    finally:
        await context.close()
    # axe-core (with JavaScript, the page's policy bypassed to let its script in), with an address listed.
    await recipients.add("quick", Recipient("paul@quick.fr", "Paul"))
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    try:
        await login(page, web_admin)
        await page.goto(f"{web_admin.url}/mail")
        await expect(page.locator('tr[data-address="paul@quick.fr"]')).to_be_visible()
        await web_chat_tests.accessible(page, "admin-mail")
    finally:
        await context.close()
