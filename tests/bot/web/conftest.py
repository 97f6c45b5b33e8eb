"""Fixtures of the web admin: the real aiohttp server on a free port, over the real Redis."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.editing.editor import Admin, Editor
from bot.editing.logins import WebLogins
from bot.editing.overrides import OverrideStore
from bot.storage.embedded import free_port
from bot.storage.store import Store
from bot.web.admin import web_app
from dialogs.catalog import TemplateCatalog
from tests.seeding import seed_feedback

MONDAY = dt.datetime(2026, 9, 7, 9, 0, tzinfo=dt.UTC).timestamp()


@dataclass
class WebAdmin:
    """The running web admin: its URL, its editor and its logins."""

    url: str
    editor: Editor
    logins: WebLogins

    async def login_link(self, brand: str | None = None, user: str = "olga") -> str:
        return await self.logins.link(Admin(user, brand))


@pytest.fixture
async def web_admin(redis_client: Redis) -> AsyncIterator[WebAdmin]:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_brand("sncf", "SNCF")
    await store.add_venue("quick", "Quick Massy")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    editor = Editor(OverrideStore(redis_client), store, TemplateCatalog())
    logins = WebLogins(redis_client, url)
    runner = web.AppRunner(web_app(editor, logins))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield WebAdmin(url, editor, logins)
    finally:
        await runner.cleanup()


@pytest.fixture
async def seeded(web_admin: WebAdmin, redis_client: Redis) -> list[str]:
    """60 feedbacks of quick's two venues (Massy, Orly), four a day over three weeks from Monday 7 September
    2026, most analysed, with tickets, half of them answered, from Telegram, WhatsApp, the web and a kiosk in
    turn (Telegram twice as often); the venues' codes."""
    store = web_admin.editor.store
    await store.add_venue("quick", "Quick Orly")
    venues = await store.list_venues("quick")
    await seed_feedback(redis_client, venues, 60, start=MONDAY, spacing=6 * 3600, rng=random.Random(7),
                        channels=("telegram", "whatsapp", "telegram", "web", "kiosk"))  # fmt: skip
    return [v.code for v in venues]
