"""A bot process killed mid-conversation and started again continues where the customer was."""

from __future__ import annotations

import signal
from pathlib import Path

from redis.asyncio import Redis

from bot.config import Settings
from bot.storage.store import Store
from emulator import BotApiEmulator
from tests.bot.processes import start_bot, wait_ready
from tests.support import Customer


async def test_kill_9_mid_conversation_then_restart_continues(
    settings: Settings, emulator: BotApiEmulator, redis_client: Redis, tmp_path: Path
) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    log = tmp_path / "bot.log"
    process = start_bot(settings, log)
    try:
        await wait_ready(settings, emulator, process)
        customer = Customer.new(emulator)
        turn = await customer.say(f"/start {venue.token}")
        assert "Quick Massy" in turn.text
        turn = await customer.tap("rate:4")
        assert turn.edited, "the rating keyboard is replaced by the next question"
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        assert "/spacy/" not in maps and "/thinc/" not in maps, "the process answering Telegram loaded spaCy"
        process.send_signal(signal.SIGKILL)
        process.wait()

        process = start_bot(settings, log)
        await wait_ready(settings, emulator, process)
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
