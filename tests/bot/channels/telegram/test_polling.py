"""Long polling: the same journey, with updates fetched by getUpdates."""

from __future__ import annotations

import dataclasses

from bot.cli.serve import running_bot
from bot.config import Settings
from emulator import BotApiEmulator
from tests.support import Clock


async def test_a_journey_by_long_polling(settings: Settings, emulator: BotApiEmulator, clock: Clock) -> None:
    settings = dataclasses.replace(settings, webhook_url=None, webhook_secret=None)
    async with running_bot(settings, listen=None, clock=clock) as bot:
        assert emulator.webhook_url is None
        await bot.store.add_brand("quick", "Quick")
        venue = await bot.store.add_venue("quick", "Quick Massy")
        user = emulator.add_user("Camille")
        await emulator.send_text(user, f"/start {venue.token}")
        await emulator.settle()
        await emulator.click(user, emulator.bot_messages(user.id)[-1], "rate:5")
        await emulator.settle()
        for text in ("Très bon accueil.", "Rien à changer !"):
            await emulator.send_text(user, text)
            await emulator.settle()
        texts = [m.text for m in emulator.bot_messages(user.id)]
        assert "Votre note" in texts[0] and "Qu'avez-vous le plus apprécié" in texts[0]  # edited in place
        assert "Merci pour votre avis" in texts[-1]
        [feedback] = [f async for f in bot.store.iter_feedback()]
        assert (feedback["rating"], feedback["status"]) == (5, "complete")
