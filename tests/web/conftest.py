"""Fixtures of the web admin: the real aiohttp server on a free port, over the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.editing import Admin, Editor
from bot.overrides import OverrideStore
from bot.redis_server import free_port
from bot.store import Store
from bot.web_admin import web_app
from bot.web_sessions import WebLogins
from dialogs.catalog import TemplateCatalog


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
