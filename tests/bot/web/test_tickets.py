"""The ticket page of the web admin against the real bot: the thread, and answers, closing, reopening and spam
going through the staff side's relay (the Telegram customer gets the answer once, the room's card shows it), who
answered kept; brand boundaries, unknown tickets, CSRF; the inbox's polling of new feedback."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bot.editing.editor import Admin, Editor
from bot.editing.logins import WebLogins
from bot.editing.overrides import OverrideStore
from bot.staff.hours import HoursStore, OpeningHours
from bot.staff.tickets import Ticket, TicketStatus
from bot.storage import keys
from bot.storage.embedded import free_port
from bot.web.admin import web_app
from dialogs.catalog import TemplateCatalog
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.bot.web.test_admin import csrf_of, nonce_of
from tests.support import Customer


@dataclass
class Desk:
    url: str
    logins: WebLogins
    scene: Scene


async def _serve(scene: Scene, *, with_relay: bool) -> AsyncIterator[Desk]:
    store = scene.bot.store
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    editor = Editor(OverrideStore(store.redis), store, TemplateCatalog())
    logins = WebLogins(store.redis, url)
    relay = scene.bot.staff.relay if with_relay else None
    runner = web.AppRunner(web_app(editor, logins, relay=relay))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Desk(url, logins, scene)
    finally:
        await runner.cleanup()


@pytest.fixture
async def desk(scene: Scene) -> AsyncIterator[Desk]:
    async for running in _serve(scene, with_relay=True):
        yield running


async def logged_in(desk: Desk, brand: str | None = "quick", user: str = "olga") -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    link = await desk.logins.link(Admin(user, brand))
    async with session.get(link) as page:
        nonce = nonce_of(await page.text())
    async with session.post(link, data={"nonce": nonce}) as response:
        assert response.status == 200
    return session


async def page_of(session: aiohttp.ClientSession, url: str, status: int = 200) -> str:
    async with session.get(url) as response:
        text = await response.text()
        assert response.status == status, text
        return text


async def post(session: aiohttp.ClientSession, url: str, data: dict[str, str], status: int = 200) -> str:
    async with session.post(url, data=data) as response:
        text = await response.text()
        assert response.status == status, text
        return text


async def test_an_answer_from_the_web_reaches_the_telegram_customer_once_and_the_card_shows_it(desk: Desk) -> None:
    scene = desk.scene
    customer = Customer.new(scene.emulator, "Camille")
    await scene.feedback(customer, reason="On a attendu 40 minutes, Julien était seul.")
    ticket_url = f"{desk.url}/ticket/quick/{FIRST_TICKET}"
    async with await logged_in(desk) as olga:
        page = await page_of(olga, ticket_url)
        assert "On a attendu 40 minutes" in page and 'data-status="open"' in page and "Europe/Paris" in page
        form = {"csrf": csrf_of(page), "nonce": re.findall(r'name="nonce" value="([^"]+)"', page)[0]}
        mark = scene.mark()
        answer = {**form, "text": "Bonjour, nous ouvrons une deuxième caisse le midi."}
        done = await post(olga, f"{ticket_url}/reply", answer)
        assert "Réponse envoyée au client." in done and 'data-status="answered"' in done
        assert "(olga, web)" in done and "deuxième caisse" in done
        said = scene.since(mark)
        assert "deuxième caisse" in said.text(customer.user.id)
        assert "💬 répondu" in said.text(scene.room.id)  # the card, edited
        again = scene.mark()
        await post(olga, f"{ticket_url}/reply", answer)  # the same form posted twice: sent once
        assert "deuxième caisse" not in scene.since(again).text(customer.user.id)
    [message] = await scene.bot.staff.tickets.thread("quick", (await _ticket(scene)).feedback)
    assert (message.by, message.text) == ("olga", "Bonjour, nous ouvrons une deuxième caisse le midi.")


async def _ticket(scene: Scene) -> Ticket:
    ticket = await scene.bot.staff.tickets.get("quick", FIRST_TICKET)
    assert ticket is not None
    return ticket


async def test_close_reopen_and_spam_from_the_web_update_the_ticket_and_the_card(desk: Desk) -> None:
    scene = desk.scene
    await scene.feedback(Customer.new(scene.emulator, "Camille"))
    ticket_url = f"{desk.url}/ticket/quick/{FIRST_TICKET}"
    async with await logged_in(desk) as olga:
        csrf = csrf_of(await page_of(olga, ticket_url))
        mark = scene.mark()
        assert "Ticket fermé." in await post(olga, f"{ticket_url}/close", {"csrf": csrf})
        assert (await _ticket(scene)).status is TicketStatus.CLOSED
        assert "✅ fermé" in scene.since(mark).text(scene.room.id)
        assert "déjà dans cet état" in await post(olga, f"{ticket_url}/close", {"csrf": csrf})
        assert "Ticket rouvert." in await post(olga, f"{ticket_url}/reopen", {"csrf": csrf})
        assert (await _ticket(scene)).status is TicketStatus.OPEN
        assert await scene.bot.store.redis.zscore(keys.open_tickets("quick"), str(FIRST_TICKET)) is not None
        mark = scene.mark()
        assert "spam" in await post(olga, f"{ticket_url}/spam", {"csrf": csrf})
        assert (await _ticket(scene)).status is TicketStatus.SPAM
        assert "🚫 spam" in scene.since(mark).text(scene.room.id)
        inbox = await page_of(olga, f"{desk.url}/inbox?status=spam")
        assert 'data-count="1"' in inbox


async def test_other_brands_unknown_tickets_and_forms_without_csrf_change_nothing(desk: Desk) -> None:
    scene = desk.scene
    await scene.bot.store.add_brand("sncf", "SNCF")
    customer = Customer.new(scene.emulator, "Camille")
    await scene.feedback(customer)
    ticket_url = f"{desk.url}/ticket/quick/{FIRST_TICKET}"
    async with await logged_in(desk, "sncf", "mallory") as mallory:
        csrf = csrf_of(await page_of(mallory, f"{desk.url}/inbox"))
        await page_of(mallory, ticket_url, 403)
        mark = scene.mark()
        for action in ("reply", "close", "spam", "reopen"):
            await post(mallory, f"{ticket_url}/{action}", {"csrf": csrf, "text": "Hop", "nonce": "n" * 20}, 403)
        assert scene.since(mark).calls == []
        await page_of(mallory, f"{desk.url}/ticket/sncf/{FIRST_TICKET}", 404)  # numbered per brand: none here
    async with await logged_in(desk) as olga:
        for missing in ("9999", "abc", "1" * 12):
            await page_of(olga, f"{desk.url}/ticket/quick/{missing}", 404)
        await post(olga, f"{ticket_url}/close", {"csrf": "forged"}, 403)
        await post(olga, f"{ticket_url}/reopen", {"csrf": csrf_of(await page_of(olga, ticket_url))}, 200)
        await post(olga, f"{ticket_url}/delete", {"csrf": csrf_of(await page_of(olga, ticket_url))}, 404)
    assert (await _ticket(scene)).status is TicketStatus.OPEN


async def test_without_a_relay_tickets_are_shown_not_handled(scene: Scene) -> None:
    await scene.feedback(Customer.new(scene.emulator, "Camille"))
    async for desk in _serve(scene, with_relay=False):
        async with await logged_in(desk) as olga:
            page = await page_of(olga, f"{desk.url}/ticket/quick/{FIRST_TICKET}")
            assert 'id="read-only"' in page and 'id="reply"' not in page
            await post(olga, f"{desk.url}/ticket/quick/{FIRST_TICKET}/close", {"csrf": csrf_of(page)}, 503)
    assert (await _ticket(scene)).status is TicketStatus.OPEN


async def test_the_inbox_polls_for_what_is_new(desk: Desk) -> None:
    scene = desk.scene
    await scene.feedback(Customer.new(scene.emulator, "Camille"), rating=2)
    async with await logged_in(desk) as olga:
        page = await page_of(olga, f"{desk.url}/inbox?rating=1&rating=2")
        poll = re.search(r'data-poll="([^"]+)" data-newest="(-?\d+)"', page)
        assert poll is not None and 'data-count="1"' in page
        url = desk.url + poll.group(1).replace("&amp;", "&") + f"&after={poll.group(2)}"
        nothing = json.loads(await page_of(olga, url))
        assert (nothing["count"], nothing["rows"].strip()) == (0, "")
        await scene.feedback(Customer.new(scene.emulator, "Léo"), rating=5, reason="Parfait")
        await scene.feedback(Customer.new(scene.emulator, "Zoé"), rating=1, reason="Tout était froid")
        found = json.loads(await page_of(olga, url))
        assert found["count"] == 1 and "Tout était froid" in found["rows"] and "Parfait" not in found["rows"]
        assert found["newest"] == int(poll.group(2)) + 2
        await page_of(olga, url.replace("after=", "after=x"), 400)


async def test_the_thread_is_in_the_venue_s_time_zone(desk: Desk) -> None:
    scene = desk.scene
    await HoursStore(scene.bot.store.redis).set("quick", scene.massy.code, OpeningHours(time_zone="Asia/Tokyo"))
    await scene.feedback(Customer.new(scene.emulator, "Camille"))
    ticket = await _ticket(scene)
    tokyo = dt.datetime.fromtimestamp(ticket.created_at, ZoneInfo("Asia/Tokyo")).strftime("%d/%m/%Y %H:%M")
    async with await logged_in(desk) as olga:
        page = await page_of(olga, f"{desk.url}/ticket/quick/{FIRST_TICKET}")
    assert "Asia/Tokyo" in page and f"{tokyo} · Ticket ouvert" in page
