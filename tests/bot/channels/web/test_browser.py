"""The web chat in headless Chromium on a phone-sized screen (Debian's package, driven by Playwright),
against the real `parole serve`: the journey by buttons and by typing with JavaScript on (live) and off,
a staff reply arriving live, the kiosk, and axe-core's accessibility check at every step.
Screenshots are kept in `tests/bot/web/screenshots/` (not committed)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from tests.bot.staff_scene import Scene

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "web" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def new_page(browser: Browser) -> NewPage:
    async def make(*, javascript: bool = True, locale: str = "fr-FR") -> Page:
        # bypass_csp lets axe-core's script in; the pages' own policy is checked over HTTP.
        context = await browser.new_context(
            viewport=PHONE, java_script_enabled=javascript, locale=locale, bypass_csp=True
        )
        return await context.new_page()

    return make


async def accessible(page: Page, name: str) -> None:
    """No serious or critical violation by axe-core; a screenshot kept."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"webchat-{name}.png"), full_page=True)
    results = await Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


async def test_the_journey_with_javascript_is_live_and_accessible(
    scene: Scene, new_page: NewPage, web_url: str
) -> None:
    page = await new_page()
    await page.goto(f"{web_url}/v/{scene.massy.token}")
    await accessible(page, "landing")
    await page.locator("#give").click()
    await expect(page.locator(".message.bot").first).to_contain_text("Bonjour et bienvenue chez Quick Massy")
    await accessible(page, "greeting")
    await page.get_by_role("button", name="⭐⭐", exact=True).click()
    await expect(page.locator(".message.bot").first).to_contain_text("Votre note : ⭐⭐")
    await page.locator("#text").fill("Trente minutes d'attente <i>vraiment</i>")
    await page.locator("#send").click()
    await expect(page.locator(".message.customer").last).to_have_text("VousTrente minutes d'attente <i>vraiment</i>")
    await expect(page.locator(".message.bot").last).to_contain_text("Une idée ou une suggestion")
    await accessible(page, "suggestion")
    await page.get_by_role("button", name="Passer").click()
    await expect(page.locator(".message.bot").last).to_contain_text("Merci pour votre avis")
    await accessible(page, "thanks")
    await scene.notify()
    # Julien answers from the Telegram staff room: the open page shows it without a reload.
    await scene.staff_says(scene.julien, "/reply 1001 Désolés pour l'attente, à bientôt !")
    await expect(page.locator(".message.bot").last).to_contain_text("Désolés pour l'attente", timeout=5000)
    await page.locator("#text").fill("Merci de votre réponse")
    await page.locator("#send").click()
    await expect(page.locator(".message.customer").last).to_contain_text("Merci de votre réponse")
    await expect(page.locator(".message.bot").last).to_contain_text("Transmis à l")
    await accessible(page, "answered")
    await page.reload()
    await expect(page.locator(".message.bot").filter(has_text="Désolés pour l'attente")).to_have_count(1)


async def test_the_journey_without_javascript(scene: Scene, new_page: NewPage, web_url: str) -> None:
    page = await new_page(javascript=False)
    await page.goto(f"{web_url}/c/{scene.massy.token}")
    await page.get_by_role("button", name="⭐⭐⭐⭐⭐", exact=True).click()
    await expect(page.locator(".message.bot").last).to_contain_text("Qu'avez-vous le plus apprécié")
    await page.locator("#text").fill("L'accueil de Julien")
    await page.locator("#send").click()
    await page.get_by_role("button", name="Passer").click()
    await expect(page.locator(".message.bot").last).to_contain_text("Merci pour votre avis")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "webchat-no-javascript.png"), full_page=True)  # axe needs JavaScript
    [feedback] = [f async for f in scene.bot.store.iter_feedback()]
    assert (feedback["channel"], feedback["rating"], feedback["reason"]) == ("web", 5, "L'accueil de Julien")


async def test_the_language_switch_and_an_english_browser(scene: Scene, new_page: NewPage, web_url: str) -> None:
    page = await new_page(locale="en-GB")
    await page.goto(f"{web_url}/v/{scene.massy.short_code}")
    await expect(page.locator("#give")).to_have_text("Give my feedback here")
    await page.locator("#give").click()
    await expect(page.locator(".message.bot").first).to_contain_text("Quick Massy")
    await page.locator("#language").click()
    await expect(page.locator(".message.bot").last.locator("button")).to_have_count(2)


async def test_the_kiosk_resets_for_the_next_person(scene: Scene, new_page: NewPage, web_url: str) -> None:
    page = await new_page()
    await page.goto(f"{web_url}/k/{scene.massy.token}")
    await page.get_by_role("button", name="⭐⭐⭐⭐", exact=True).click()
    await page.locator("#text").fill("Rapide et propre")
    await page.locator("#send").click()
    await page.get_by_role("button", name="Passer").click()
    await expect(page.locator(".message.bot").last).to_contain_text("Merci pour votre avis")
    await page.reload()
    await expect(page.locator("#kiosk-note")).to_contain_text("l'équipe ne peut pas vous répondre ici")
    await accessible(page, "kiosk-thanks")
    await page.wait_for_timeout(1200)  # the kiosk's gap (1 s in these tests)
    await page.locator("#next").click()
    await expect(page.locator(".message")).to_have_count(1)
    await expect(page.locator(".message.bot")).to_contain_text("Bonjour et bienvenue chez Quick Massy")
