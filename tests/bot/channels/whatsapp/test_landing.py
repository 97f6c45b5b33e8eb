"""The venue's web landing page offers WhatsApp beside the web chat and Telegram when WhatsApp is on."""

from __future__ import annotations

import dataclasses
import html
import re
from urllib.parse import unquote

import aiohttp

from bot.channels.whatsapp.links import code_in
from bot.config import Settings
from tests.bot.channels.whatsapp.conftest import start_bot, whatsapp_settings
from tests.support import Clock
from whatsapp_emulator import CloudApiEmulator


async def test_the_landing_page_opens_whatsapp_with_the_venues_code(
    settings: Settings, cloud: CloudApiEmulator, clock: Clock
) -> None:
    assert settings.webhook_url is not None
    base = settings.webhook_url.rsplit("/", 2)[0]
    changed = dataclasses.replace(settings, whatsapp=whatsapp_settings(cloud), public_url=base)
    async for running in start_bot(changed, cloud, clock):
        await running.store.add_brand("quick", "Quick")
        venue = await running.store.add_venue("quick", "Quick Massy")
        async with aiohttp.ClientSession(headers={"Accept-Language": "fr"}) as browser:
            async with browser.get(f"{base}/v/{venue.short_code}") as response:
                assert response.status == 200
                page = await response.text()
            async with browser.get(f"{base}/v/NOSUCH") as unknown:
                assert unknown.status == 404 and "wa.me" not in await unknown.text()
        [link] = re.findall(r'<a class="channel" id="whatsapp" href="([^"]+)"', page)
        link = html.unescape(link)
        assert link.startswith(f"https://wa.me/{cloud.number}?text=")
        assert code_in(unquote(link.split("?text=", 1)[1])) == venue.short_code  # the first message finds the venue
        assert 'id="telegram"' in page and 'id="give"' in page  # every channel, the web chat first
