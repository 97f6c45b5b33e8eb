"""The web admin in headless Chromium (Debian's package, driven by Playwright) against the real server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect
from redis.asyncio import Redis

from bot.analysis.worker import AnalysisStore
from bot.editing.overrides import FLOW_DOCUMENT, Document, Scope, template_document
from bot.storage.identity import CustomerId
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from nlp.types import Analysis, Kind
from tests.bot.web.conftest import MONDAY, WebAdmin

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
    await expect(page.locator("h1")).to_have_text("Modèles de Quick")
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
    await expect(page.locator("#preview-problem")).to_contain_text("refusé par le bac à sable")
    await page.locator("#save").click()
    await expect(page.locator("#problem")).to_contain_text("Refusé (ligne 1) : refusé par le bac à sable")
    await expect(page.locator("#text")).to_have_value("Salut {{ ''.__class__.__mro__ }}")  # kept for fixing
    assert await web_admin.editor.overrides.revision() == 0


async def test_the_flow_editor_marks_the_line_of_a_problem(web_admin: WebAdmin, page: Page) -> None:
    await login(page, web_admin, None)
    await page.goto(f"{web_admin.url}/?scope=quick")
    await page.locator("#flow-link").click()
    text = await page.locator("#text").input_value()
    await expect(page.locator("#flow-ok")).to_be_visible()
    await page.locator("#text").fill(text.replace("next: thanks", "next: merci"))
    await expect(page.locator("#preview-problem")).to_contain_text("étape inconnue « merci »")
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
    await expect(page.locator("#diff tr.removed")).to_contain_text("Salut {{ venue_name }}")
    await expect(page.locator("#diff tr.added")).to_contain_text("Hello {{ venue_name }}")
    await page.get_by_role("link", name="Rétablir v1…").click()
    # It asks first, showing what would change; going back changes nothing.
    await expect(page.locator("h1")).to_have_text("Rétablir la version 1 de greeting · fr ?")
    await expect(page.locator("#diff tr.removed")).to_contain_text("Hello {{ venue_name }}")
    await expect(page.locator("#diff tr.added")).to_contain_text("Salut {{ venue_name }}")
    await page.locator("#cancel").click()
    document = Document(Scope("quick"), template_document("greeting", "fr"))
    assert len(await web_admin.editor.overrides.history(document)) == 2
    await page.get_by_role("link", name="Rétablir v1…").click()
    await page.locator("#confirm").click()
    await expect(page.locator("#versions tbody tr").first).to_contain_text("rollback (v1)")
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


async def test_the_inbox_filters_searches_pages_and_shows_new_feedback(
    web_admin: WebAdmin, seeded: list[str], page: Page, redis_client: Redis
) -> None:
    store = web_admin.editor.store
    rows = [r async for r in store.iter_feedback("quick")]
    complaints = [r for r in rows if r["kind"] == "complaint" and "big tasty" in r["reason"].lower()]
    assert complaints
    await login(page, web_admin)
    await page.locator("#nav-inbox").click()
    await expect(page.locator("#count")).to_have_attribute("data-count", str(len(rows)))
    await expect(page.locator("#rows tr")).to_have_count(25)  # a page
    await page.locator("#next-page").click()
    await expect(page.locator("#rows tr")).to_have_count(25)
    await page.locator("#next-page").click()
    await expect(page.locator("#rows tr")).to_have_count(len(rows) - 50)
    await expect(page.locator("#next-page")).to_have_count(0)
    await page.locator("#first-page").click()
    await page.locator("select[name=kind]").select_option("complaint")
    await page.locator("input[name=q]").fill("big tasty")
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page.locator("#count")).to_have_attribute("data-count", str(len(complaints)))
    await expect(page.locator("#rows mark.PRODUCT").first).to_have_text("Big Tasty")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # the phone's width
    # A new complaint about the Big Tasty shows up on top without a reload.
    venue = (await store.list_venues("quick"))[0]
    record = FeedbackRecord(
        id="00000000000ff", venue=VenueRef("quick", venue.code, venue.name), language="fr", rating=1,
        reason="Le Big Tasty était cru", suggestion=None, status=FeedbackStatus.COMPLETE,
        created_at=MONDAY + 30 * 86400, updated_at=MONDAY + 30 * 86400, flow="default",
    )  # fmt: skip
    await store.save_turn(CustomerId.telegram(7), Conversation(), [record], duplicate_window=1, conversation_timeout=60)
    analysis = Analysis(language="fr", kind=Kind.COMPLAINT, aspects=(), entities=())
    await AnalysisStore(redis_client).save("quick", record.id, analysis, marker="")
    await expect(page.locator("#fresh")).to_be_visible(timeout=15_000)
    await expect(page.locator("#rows tr").first).to_have_attribute("data-feedback", record.id)
    await expect(page.locator("#count")).to_have_attribute("data-count", str(len(complaints) + 1))


async def test_the_inbox_on_a_desktop(web_admin: WebAdmin, seeded: list[str]) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            await login(page, web_admin)
            await page.goto(f"{web_admin.url}/inbox?rating=1&rating=2&rating=3&status=answered")
            rows = [r async for r in web_admin.editor.store.iter_feedback("quick", with_tickets=True)]
            wanted = [r for r in rows if r["rating"] <= 3 and r["ticket_hash"].get("status") == "answered"]
            await expect(page.locator("#count")).to_have_attribute("data-count", str(len(wanted)))
            await expect(page.locator("th.optional").first).to_be_visible()  # the desktop shows every column
            await page.locator("#rows a").first.click()
            await expect(page.locator("h1")).to_contain_text("Ticket n°")
            await expect(page.locator("#thread li")).not_to_have_count(0)
            await expect(page.locator("#read-only")).to_be_visible()  # this web admin has no relay
        finally:
            await browser.close()
