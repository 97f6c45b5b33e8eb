"""A bot process killed mid-conversation and started again continues where the customer was."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.store import Store
from tests.support import Customer


def _start_bot(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    assert settings.webhook_url is not None and settings.telegram_token is not None
    assert settings.webhook_secret is not None and settings.redis_url is not None
    env = {
        **os.environ,
        "PAROLE_TELEGRAM_TOKEN": settings.telegram_token.reveal(),
        "PAROLE_TELEGRAM_API_URL": settings.telegram_api_url,
        "PAROLE_REDIS_URL": settings.redis_url,
        "PAROLE_WEBHOOK_URL": settings.webhook_url,
        "PAROLE_WEBHOOK_SECRET": settings.webhook_secret.reveal(),
        "PAROLE_DATA_DIR": str(settings.data_dir),
    }
    port = settings.webhook_url.split(":")[2].split("/")[0]
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--webhook", "--port", port],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent,
        )  # fmt: skip


async def _wait_ready(settings: Settings, emulator: BotApiEmulator, process: subprocess.Popen[bytes]) -> None:
    assert settings.webhook_url is not None
    health = settings.webhook_url.rsplit("/", 2)[0] + "/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            assert process.poll() is None, "the bot process exited"
            if emulator.webhook_url == settings.webhook_url:
                try:
                    async with session.get(health) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.05)
    raise AssertionError("the bot process did not come up")


async def test_kill_9_mid_conversation_then_restart_continues(
    settings: Settings, emulator: BotApiEmulator, redis_client: Redis, tmp_path: Path
) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    log = tmp_path / "bot.log"
    process = _start_bot(settings, log)
    try:
        await _wait_ready(settings, emulator, process)
        customer = Customer.new(emulator)
        turn = await customer.say(f"/start {venue.token}")
        assert "Quick Massy" in turn.text
        turn = await customer.tap("rate:4")
        assert turn.edited, "the rating keyboard is replaced by the next question"
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        assert "/spacy/" not in maps and "/thinc/" not in maps, "the process answering Telegram loaded spaCy"
        process.send_signal(signal.SIGKILL)
        process.wait()

        process = _start_bot(settings, log)
        await _wait_ready(settings, emulator, process)
        turn = await customer.say("Le service était rapide et souriant.")
        assert turn.buttons, "the bot asks the suggestion, with a Skip button"
        await customer.tap("skip")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    feedback = [f async for f in store.iter_feedback("quick")]
    assert len(feedback) == 1, log.read_text()
    assert feedback[0]["rating"] == 4
    assert feedback[0]["reason"] == "Le service était rapide et souriant."
    assert feedback[0]["status"] == "complete"
    assert process.returncode == 0, log.read_text()
