"""Operations of a bot process: /healthz with the stream lag, /metrics in Prometheus' format, and log lines
that carry the update and the ticket, as text or JSON."""

from __future__ import annotations

import io
import json
import logging

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.cli.serve import RunningBot
from bot.config import Settings
from bot.ops import UPDATE_ID, about_ticket, configure_logging
from bot.storage import keys
from emulator import BotApiEmulator
from tests.support import Customer


def _base(settings: Settings) -> str:
    assert settings.webhook_url is not None
    return settings.webhook_url.rsplit("/", 2)[0]


def _samples(exposition: str) -> dict[str, float]:
    """`name{labels}` → value, for every sample line of Prometheus' text format."""
    samples: dict[str, float] = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_healthz_tells_how_far_behind_the_workers_are(
    bot: RunningBot, emulator: BotApiEmulator, settings: Settings, redis_client: Redis
) -> None:
    await bot.store.add_brand("quick", "Quick")
    venue = await bot.store.add_venue("quick", "Quick Massy")
    async with aiohttp.ClientSession() as http:
        async with http.get(_base(settings) + "/healthz") as resp:
            assert resp.status == 200 and await resp.json() == {"ok": True, "redis": "up", "stream": {}}
        customer = Customer.new(emulator)
        for text in (f"/start {venue.token}", "2", "Trop d'attente.", "passer"):
            await customer.say(text)
        await redis_client.xgroup_create(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, id="0")
        async with http.get(_base(settings) + "/healthz") as resp:
            body = await resp.json()
    assert body["stream"] == {"analysis": {"lag": 1, "pending": 0}}


async def test_metrics_count_updates_latency_errors_and_open_tickets(
    bot: RunningBot, emulator: BotApiEmulator, settings: Settings, redis_client: Redis
) -> None:
    await bot.store.add_brand("quick", "Quick")
    venue = await bot.store.add_venue("quick", "Quick Massy")
    customer = Customer.new(emulator)
    for text in (f"/start {venue.token}", "5", "Parfait."):
        await customer.say(text)
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    async with aiohttp.ClientSession() as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": settings.webhook_secret.reveal()}
        async with http.post(settings.webhook_url, data=b"[1, 2]", headers=headers) as resp:
            assert resp.status == 400
        await redis_client.zadd(keys.open_tickets("quick"), {"1001": 1.0, "1002": 2.0})
        async with http.get(_base(settings) + "/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            samples = _samples(await resp.text())
    assert samples['parole_updates_total{outcome="handled"}'] == 3
    assert samples['parole_updates_total{outcome="bad"}'] == 1
    assert samples["parole_update_seconds_count"] == 3
    assert samples['parole_update_seconds_bucket{le="+Inf"}'] == 3
    assert samples['parole_open_tickets{brand="quick"}'] == 2


def test_log_lines_carry_the_update_and_the_ticket_as_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for fmt in ("json", "text"):
            out = io.StringIO()
            monkeypatch.setattr("sys.stderr", out)
            configure_logging("INFO", fmt)
            log = logging.getLogger("parole.test")
            token = UPDATE_ID.set(4242)
            try:
                with about_ticket("quick", 1001):
                    log.warning("card for %s", "Quick Massy")
            finally:
                UPDATE_ID.reset(token)
            log.info("outside any update")
            first, second = out.getvalue().splitlines()
            if fmt == "json":
                line = json.loads(first)
                assert line["update_id"] == 4242 and line["ticket"] == "quick#1001"
                assert line["message"] == "card for Quick Massy" and line["level"] == "WARNING"
                assert "update_id" not in json.loads(second)
            else:
                assert "[update=4242 ticket=quick#1001]: card for Quick Massy" in first
                assert "[" not in second.split("parole.test")[1].split(":")[0]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
