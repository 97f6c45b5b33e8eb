"""The web admin in headless Chromium (Debian's package, driven by Playwright) against the real server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, template_document
from tests.bot.web.conftest import WebAdmin

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"  # kept after the run (not committed: .gitignore)


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = await browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        try:
            yield await context.new_page()
        finally:
            await browser.close()


async def login(page: Page, web_admin: WebAdmin, brand: str | None = "quick") -> None:
    await page.goto(await web_admin.login_link(brand))
    await page.locator("#login").click()
    await expect(page.locator("h1")).to_contain_text("Modèles de")


async def test_login_edit_with_live_preview_and_save(web_admin: WebAdmin, page: Page) -> None:
    await page.goto(await web_admin.login_link("quick"))
    await page.locator("#login").click()
    await expect(page.locator("h1")).to_have_text("Modèles de quick")
    await page.get_by_role("link", name="greeting", exact=True).click()
    await expect(page.locator("#preview")).to_contain_text("Bonjour et bienvenue chez Quick Massy")
    await page.locator("#text").fill("Salut <b>{{ venue_name }}</b>, une minute ?")
    await expect(page.locator("#preview")).to_have_text("Salut Quick Massy, une minute ?")
    await expect(page.locator("#preview b")).to_have_text("Quick Massy")  # bold, as Telegram shows it
    await page.locator("#save").click()
    await expect(page.locator("#saved")).to_contain_text("Enregistré (version 1)")
    document = Document(Scope("quick"), template_document("greeting", "fr"))
    assert [v.content for v in await web_admin.editor.overrides.history(document)] == [
        "Salut <b>{{ venue_name }}</b>, une minute ?\n"
    ]


async def test_the_preview_shows_the_buttons(web_admin: WebAdmin, page: Page) -> None:
    await login(page, web_admin)
    await page.goto(f"{web_admin.url}/edit?scope=quick&doc=template:ask_suggestion:fr")
    await expect(page.locator("#buttons span")).to_have_text(["Passer"])


async def test_an_invalid_save_is_refused_with_the_reason_and_changes_nothing(web_admin: WebAdmin, page: Page) -> None:
    await login(page, web_admin, None)
    await page.goto(f"{web_admin.url}/edit?scope=quick&doc=template:greeting:fr")
    await page.locator("#text").fill("Salut {{ ''.__class__.__mro__ }}")
    await expect(page.locator("#preview-problem")).to_contain_text("refused by the sandbox")
    await page.locator("#save").click()
    await expect(page.locator("#problem")).to_contain_text("Refusé (ligne 1) : refused by the sandbox")
    await expect(page.locator("#text")).to_have_value("Salut {{ ''.__class__.__mro__ }}")  # kept for fixing
    assert await web_admin.editor.overrides.revision() == 0


async def test_the_flow_editor_marks_the_line_of_a_problem(web_admin: WebAdmin, page: Page) -> None:
    await login(page, web_admin, None)
    await page.goto(f"{web_admin.url}/?scope=quick")
    await page.locator("#flow-link").click()
    text = await page.locator("#text").input_value()
    await expect(page.locator("#flow-ok")).to_be_visible()
    await page.locator("#text").fill(text.replace("next: thanks", "next: merci"))
    await expect(page.locator("#preview-problem")).to_contain_text("unknown step 'merci'")
    await page.locator("#save").click()
    await expect(page.locator("#bad-line")).to_contain_text("next: merci")
    assert await web_admin.editor.overrides.revision() == 0


async def test_rollback_from_the_history(web_admin: WebAdmin, page: Page) -> None:
    await login(page, web_admin)
    for text in ("Salut {{ venue_name }}", "Hello {{ venue_name }}"):
        await page.goto(f"{web_admin.url}/edit?scope=quick&doc=template:greeting:fr")
        await page.locator("#text").fill(text)
        await page.locator("#save").click()
        await expect(page.locator("#saved")).to_be_visible()
    await page.get_by_role("link", name="Historique").click()
    await expect(page.locator("#diff")).to_contain_text("+Hello {{ venue_name }}")
    await page.get_by_role("button", name="Rétablir v1").click()
    await expect(page.locator("#versions tbody tr").first).to_contain_text("rollback (v1)")
    document = Document(Scope("quick"), template_document("greeting", "fr"))
    active = await web_admin.editor.overrides.active(document)
    assert active is not None and (active.number, active.content) == (3, "Salut {{ venue_name }}\n")
    flow = await web_admin.editor.overrides.active(Document(Scope("quick"), FLOW_DOCUMENT))
    assert flow is None


async def test_the_dashboard_on_a_phone(web_admin: WebAdmin, seeded: list[str], page: Page) -> None:
    await login(page, web_admin)
    await page.locator("#nav-dashboard").click()
    await expect(page.locator("h1")).to_have_text("Tableau de bord de Quick")  # the brand by its name
    await page.locator("input[name=since]").fill("2026-09-07")
    await page.locator("input[name=until]").fill("2026-09-28")
    await page.get_by_role("button", name="Afficher").click()
    await expect(page.locator('[data-figure="feedbacks"]')).to_have_text("60")
    for chart, title in (("ratings", "Notes"), ("kinds", "Types de retours"), ("trend", "Retours par semaine"),
                         ("rating-trend", "Note moyenne par semaine")):  # fmt: skip
        svg = page.locator(f"svg#{chart}")
        await expect(svg).to_be_visible()
        await expect(svg.locator("title").first).to_have_text(title)
        box = await svg.bounding_box()
        assert box is not None and 0 < box["width"] <= 390, chart  # scaled to the phone's width
    await expect(page.locator("svg#ratings rect")).to_have_count(5)
    await expect(page.locator("svg#kinds line.reference")).to_have_count(4)  # the field reference
    await expect(page.locator("svg#trend circle")).to_have_count(3)  # three weeks
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "dashboard-phone.png"
    await page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"dashboard screenshot: {shot}")
