"""`/healthz` and `/metrics` of `parole web`: on the web admin's own application, answered without a login
(an orchestrator has none), while its pages still want one."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.editing.editor import Editor
from bot.editing.logins import WebLogins
from bot.editing.overrides import OverrideStore
from bot.storage.embedded import free_port
from bot.storage.store import Store
from bot.web.admin import web_app
from dialogs.catalog import TemplateCatalog
from tests.bot.web.conftest import WebAdmin


async def test_the_web_admin_serves_healthz_and_metrics_without_a_login(web_admin: WebAdmin) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{web_admin.url}/healthz") as response:
            assert response.status == 200
            health = await response.json()
        async with session.get(f"{web_admin.url}/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            exposition = await response.text()
        async with session.get(f"{web_admin.url}/dashboard") as response:
            assert response.status == 401, "a page answered without a login"
    assert health == {"ok": True, "process": "web", "redis": "up", "stream": {}}
    assert 'parole_open_tickets{brand="quick"} 0.0' in exposition, exposition
    assert 'parole_open_tickets{brand="sncf"} 0.0' in exposition, exposition


async def test_the_web_admin_s_healthz_says_503_when_redis_is_unreachable() -> None:
    gone = Redis(host="127.0.0.1", port=free_port())  # nothing listens there
    store = Store(gone)
    app = web_app(Editor(OverrideStore(gone), store, TemplateCatalog()), WebLogins(gone, "http://127.0.0.1"))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 503
            health = await response.json()
    finally:
        await runner.cleanup()
        await gone.aclose()
    assert health["ok"] is False and health["process"] == "web", health
    assert "Connect" in health["redis"] or "connect" in health["redis"], health
