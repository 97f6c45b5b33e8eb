"""The WhatsApp webhook beside the Telegram one, in the same run: turns a second per CPU second, and API calls
per completed feedback (Graph API calls on WhatsApp, Bot API calls on Telegram).

Run it from the project's root (about 30 seconds on 2 cores):

    .venv/bin/python bench/bench_whatsapp.py [--customers 200] [--concurrency 10]

One `parole serve --webhook` (`bot.cli.serve.running_bot`, WhatsApp on) runs in this process against its
embedded Redis, with the Bot API emulator and the Cloud API emulator; customers of each channel go through
the whole journey (the venue's link, 4 stars from the keyboard or the list, a reason, a suggestion: 4 turns)
with up to `--concurrency` at once, Telegram's first, then WhatsApp's. The bot, the emulators and the
customers share this process, so `turns/s per core` (turns / this process's CPU seconds) counts the
emulators and the driver too, the same way on both channels: a comparison, not the bot's own throughput
(bench/bench_journey.py measures that, Telegram only, the bot in its own process). It exits 1 when a
feedback is missing on either channel.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.channels.whatsapp.links import PREFILLED
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings, WhatsAppSettings
from bot.storage.embedded import free_port
from bot.storage.venues import Venue
from emulator import BotApiEmulator
from whatsapp_emulator import CloudApiEmulator

VERIFY = "bench-verify"
TURNS = 4


@dataclasses.dataclass
class Figures:
    channel: str
    feedbacks: int
    wall: float
    cpu: float
    calls: Counter[str]

    def lines(self) -> list[str]:
        turns = self.feedbacks * TURNS
        total = sum(self.calls.values())
        by_kind = ", ".join(f"{kind} {count / self.feedbacks:.2f}" for kind, count in sorted(self.calls.items()))
        return [
            f"{self.channel}: {self.feedbacks} feedbacks, {turns} turns, {self.wall:.2f} s wall, {self.cpu:.2f} CPU s",
            f"  turns/s (wall) {turns / self.wall:.1f}; turns/s per core (this process) {turns / self.cpu:.1f}",
            f"  API calls per completed feedback {total / self.feedbacks:.2f} ({by_kind})",
        ]


async def _load(count: int, concurrency: int, journey: Callable[[int], Awaitable[None]]) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await journey(n)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def telegram(tg: BotApiEmulator, venue: Venue, count: int, concurrency: int, first: int) -> Figures:
    async def journey(n: int) -> None:
        user = tg.add_user(f"T{first + n}", language_code="fr")
        await tg.send_text(user, f"/start {venue.token}")
        await tg.click(user, tg.bot_messages(user.id)[-1], "rate:4")
        await tg.send_text(user, "Accueil agréable, un peu d'attente.")
        await tg.send_text(user, "Une caisse de plus le midi.")

    mark = len(tg.calls)
    wall, cpu = await _load(count, concurrency, journey)
    return Figures("Telegram", count, wall, cpu, Counter(c.method for c in tg.calls[mark:]))


async def whatsapp(cloud: CloudApiEmulator, venue: Venue, count: int, concurrency: int, first: int) -> Figures:
    async def journey(n: int) -> None:
        user = cloud.add_user(f"W{first + n}", wa_id=f"3361{first + n:07d}")
        await cloud.send_text(user, PREFILLED.format(code=venue.short_code))
        await cloud.choose(user, cloud.messages_to(user)[-1], "⭐⭐⭐⭐")
        await cloud.send_text(user, "Accueil agréable, un peu d'attente.")
        await cloud.send_text(user, "Une caisse de plus le midi.")

    mark = len(cloud.calls)
    wall, cpu = await _load(count, concurrency, journey)
    kinds = Counter(
        "mark read" if isinstance(c.payload, dict) and "status" in c.payload else "send" for c in cloud.calls[mark:]
    )
    return Figures("WhatsApp", count, wall, cpu, kinds)


async def complete(bot: RunningBot, brand: str, channel: str) -> int:
    found = [f async for f in bot.store.iter_feedback(brand)]
    return sum(1 for f in found if (f.get("channel") or "telegram") == channel and f.get("status") == "complete")


async def main(customers: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory(prefix="parole-bench-wa-") as tmp:
        async with BotApiEmulator() as tg, CloudApiEmulator() as cloud:
            port = free_port()
            settings = Settings(
                telegram_token=Secret(tg.token), telegram_api_url=tg.base_url, data_dir=Path(tmp),
                webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_secret=Secret("bench-secret"),
                bot_username=tg.bot_username, log_level="WARNING",
                whatsapp=WhatsAppSettings(
                    token=Secret(cloud.token), phone_number_id=cloud.phone_number_id,
                    app_secret=Secret(cloud.app_secret), verify_token=Secret(VERIFY), number=cloud.number,
                    api_url=cloud.base_url, throughput=1000.0,
                ),
            )  # fmt: skip
            async with running_bot(settings, listen=Listen("127.0.0.1", port), analysis_wait=0) as bot:
                await cloud.subscribe(f"http://127.0.0.1:{port}/whatsapp", VERIFY)
                assert bot.whatsapp is not None and bot.whatsapp.api.outbound is not None
                # Each customer here types at once: Meta's pair rate would not let a real one go this fast.
                pacing = bot.whatsapp.api.outbound
                pacing.limits = dataclasses.replace(pacing.limits, chat_per_second=1000.0, chat_burst=1000)
                await bot.store.add_brand("bench", "Bench")
                venue = await bot.store.add_venue("bench", "Bench Massy")
                warm = max(5, customers // 20)
                await telegram(tg, venue, warm, concurrency, 0)
                await whatsapp(cloud, venue, warm, concurrency, 0)
                results = [
                    await telegram(tg, venue, customers, concurrency, warm),
                    await whatsapp(cloud, venue, customers, concurrency, warm),
                ]
                stored = {"telegram": await complete(bot, "bench", "telegram")}
                stored["whatsapp"] = await complete(bot, "bench", "whatsapp")
    for figures in results:
        print("\n".join(figures.lines()))
    tg_calls, wa_calls = (sum(f.calls.values()) / f.feedbacks for f in results)
    print(f"Graph API calls / Bot API calls per feedback: {wa_calls:.2f} / {tg_calls:.2f} = {wa_calls / tg_calls:.2f}")
    print(f"stored complete (warm-up included): {stored}, expected {customers + warm} each")
    return 0 if all(count == customers + warm for count in stored.values()) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.customers, args.concurrency)))
