"""Archived venues and brands (`parole venue archive`, `parole brand archive`): out of the location search, no
new feedback on any channel (Telegram deep link and short code, the web landing page and chat, WhatsApp), with
a clear message; their data stays, and unarchiving brings them back."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.whatsapp.links import PREFILLED
from bot.cli.serve import RunningBot
from bot.config import Settings
from bot.storage.store import Store
from bot.storage.venues import Venue
from emulator import BotApiEmulator
from tests.bot.channels.whatsapp.chat import WhatsAppCustomer
from tests.bot.channels.whatsapp.conftest import start_bot, whatsapp_settings
from tests.support import Clock, Customer
from whatsapp_emulator import CloudApiEmulator

GARE = (48.7253, 2.2606)
ARCHIVED = "ne recueille plus d'avis"


@pytest.fixture
async def cloud(clock: Clock) -> AsyncIterator[CloudApiEmulator]:
    async with CloudApiEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
async def everywhere(settings: Settings, cloud: CloudApiEmulator, clock: Clock) -> AsyncIterator[RunningBot]:
    """The bot with every customer channel on: Telegram, the web pages and WhatsApp."""
    assert settings.webhook_url is not None
    base = settings.webhook_url.rsplit("/", 2)[0]
    changed = dataclasses.replace(settings, whatsapp=whatsapp_settings(cloud), public_url=base)
    async for running in start_bot(changed, cloud, clock):
        yield running


@pytest.fixture
async def gare(everywhere: RunningBot) -> Venue:
    """Quick's venue at Massy station, on the map."""
    await everywhere.store.add_brand("quick", "Quick")
    return await everywhere.store.add_venue("quick", "Quick Massy Gare", lat=GARE[0], lon=GARE[1])


async def _feedback_count(store: Store) -> int:
    return len([f async for f in store.iter_feedback()])


async def _web(settings: Settings, path: str) -> tuple[int, str]:
    assert settings.webhook_url is not None
    base = settings.webhook_url.rsplit("/", 2)[0]
    async with aiohttp.ClientSession(headers={"Accept-Language": "fr"}) as browser, browser.get(base + path) as page:
        return page.status, html.unescape(await page.text())


async def _refused_everywhere(
    venue: Venue, store: Store, emulator: BotApiEmulator, cloud: CloudApiEmulator, settings: Settings
) -> None:
    before = await _feedback_count(store)
    scanned = await Customer.new(emulator).say(f"/start {venue.token}")
    assert ARCHIVED in scanned.text and "Quick Massy Gare" in scanned.text and not scanned.buttons
    typed = Customer.new(emulator)
    assert "code" in (await typed.say("/start")).text
    assert ARCHIVED in (await typed.say(venue.short_code)).text
    nearby = await typed.share_location(*GARE)
    assert "Quick Massy Gare" not in nearby.text and "Quick Massy Gare" not in " ".join(nearby.buttons)
    assert [v.code for v, _, _ in await store.nearby_venues(*GARE, radius_m=3000, count=5)] == []
    for path in (f"/v/{venue.token}", f"/v/{venue.short_code}", f"/c/{venue.token}", f"/k/{venue.token}"):
        status, page = await _web(settings, path)
        assert status == 410 and "Établissement archivé" in page and "ne recueille plus d'avis" in page, path
    whatsapp = WhatsAppCustomer(cloud, cloud.add_user("Léa", wa_id="33611111111"))
    answered = await whatsapp.say(PREFILLED.format(code=venue.short_code))  # the venue's wa.me link, as sent
    assert ARCHIVED in answered.text and answered.choices == []
    assert await _feedback_count(store) == before


async def test_an_archived_venue_takes_no_feedback_on_any_channel_and_keeps_its_data(
    everywhere: RunningBot, gare: Venue, emulator: BotApiEmulator, cloud: CloudApiEmulator, settings: Settings
) -> None:
    store, venue = everywhere.store, gare
    camille = Customer.new(emulator)
    await camille.say(f"/start {venue.token}")
    await camille.tap("rate:4")
    assert await _feedback_count(store) == 1

    archived = await store.archive_venue("quick", venue.code)
    assert archived.archived_at is not None and (await store.get_venue("quick", venue.code)).archived_at
    await _refused_everywhere(venue, store, emulator, cloud, settings)
    [kept] = [f async for f in store.iter_feedback("quick")]
    assert kept["rating"] == 4 and kept["venue"] == venue.code  # its data stays

    back = await store.archive_venue("quick", venue.code, archived=False)
    assert back.archived_at is None
    assert "bienvenue chez Quick Massy Gare" in (await Customer.new(emulator).say(f"/start {venue.token}")).text
    [(found, _, _)] = await store.nearby_venues(*GARE, radius_m=3000, count=5)
    assert found.code == venue.code
    status, page = await _web(settings, f"/v/{venue.token}")
    assert status == 200 and "Donner mon avis ici" in page


async def test_an_archived_brand_archives_its_venues_and_unarchiving_keeps_a_venue_archived_on_its_own(
    everywhere: RunningBot, gare: Venue, emulator: BotApiEmulator, cloud: CloudApiEmulator, settings: Settings
) -> None:
    store = everywhere.store
    orly = await store.add_venue("quick", "Quick Orly")
    await store.archive_venue("quick", orly.code)
    brand = await store.archive_brand("quick")
    assert brand.archived_at is not None and (await store.get_brand("quick")).archived_at is not None
    await _refused_everywhere(gare, store, emulator, cloud, settings)

    await store.archive_brand("quick", archived=False)
    assert (await store.get_brand("quick")).archived_at is None
    assert "bienvenue chez Quick Massy Gare" in (await Customer.new(emulator).say(f"/start {gare.token}")).text
    assert ARCHIVED in (await Customer.new(emulator).say(f"/start {orly.token}")).text  # archived on its own


async def test_archiving_what_does_not_exist_is_refused(everywhere: RunningBot) -> None:
    from bot.errors import NotFound

    with pytest.raises(NotFound):
        await everywhere.store.archive_venue("quick", "nowhere")
    with pytest.raises(NotFound):
        await everywhere.store.archive_brand("nobody")
