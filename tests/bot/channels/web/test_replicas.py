"""Two `parole serve` replicas behind the round-robin test proxy (`bench/webhook_proxy.py`, as nginx would
stand in front of them): a page's live connection held by one replica gets the staff reply the other one
handled, through Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
from collections.abc import Callable

import aiohttp

from bot.cli.serve import Listen, running_bot
from bot.config import Settings
from bot.storage.embedded import free_port
from emulator import EmulatedUser
from tests.bench.test_webhook_proxy import started_proxy
from tests.bot.channels.web.test_web_chat import journey
from tests.bot.channels.web.visitor import Visitor
from tests.bot.staff_scene import Scene
from tests.support import Clock


async def _counts(client: aiohttp.ClientSession, proxy: str) -> list[int]:
    """How many requests the proxy passed to each replica."""
    async with client.get(f"{proxy}/proxy-stats") as response:
        counts: list[int] = (await response.json())["requests"]
    return counts


async def _next_event(live: aiohttp.ClientResponse) -> dict[str, object]:
    while True:
        line = (await live.content.readline()).decode()
        if line.startswith("data: "):
            found: dict[str, object] = json.loads(line[6:])
            return found


async def test_a_live_page_on_one_replica_gets_the_reply_the_other_one_handled(
    settings: Settings, clock: Clock, scene: Scene, visitors: Callable[..., Visitor], operator: EmulatedUser
) -> None:
    first = settings.public_url
    assert first is not None  # replica one: the scene's bot, which Telegram's webhook reaches
    port, proxy_port = free_port(), free_port()
    second = dataclasses.replace(settings, admin_ids=frozenset({operator.id}))  # as the scene's
    proxy = await started_proxy(proxy_port, [int(first.rsplit(":", 1)[1]), port])
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    try:
        async with running_bot(second, listen=Listen("127.0.0.1", port), clock=clock, notify_every=None):
            visitor = visitors()
            visitor.base_url = proxy_url  # the customer's browser knows only the proxy
            await journey(visitor, scene)
            await scene.notify()
            async with aiohttp.ClientSession() as client:
                timeout = aiohttp.ClientTimeout(total=20)
                pages, held_by = [], []
                for _ in range(2):  # round robin: the second page's connection goes to the other replica
                    before = await _counts(client, proxy_url)
                    pages.append(await visitor.session.get(f"{proxy_url}/live?after=1000000", timeout=timeout))
                    assert pages[-1].status == 200
                    after = await _counts(client, proxy_url)
                    held_by += [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            assert sorted(held_by) == [0, 1]
            await scene.staff_says(scene.julien, "/reply 1001 Nous avons prévenu le chef.")
            events = await asyncio.gather(*(_next_event(page) for page in pages))
            for page in pages:
                page.close()
            reloaded = await visitor.get(f"/c/{scene.massy.token}")
    finally:
        proxy.terminate()
        proxy.wait()
    for event in events:  # the page on the replica that did not handle the reply got it too
        assert event["from"] == "bot" and "Nous avons prévenu le chef." in html.unescape(str(event["html"]))
    assert "Nous avons prévenu le chef." in reloaded.html  # and after a reload
