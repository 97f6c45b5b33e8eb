"""One customer floods the bot while others do their journeys: how long the others wait for each answer.

Run it from the project's root (needs `redis-server` on PATH):

    .venv/bin/python bench/bench_flood.py [--mode webhook|polling] [--flood 500] [--group-flood 0]
        [--customers 50] [--spread 5] [--connections 40] [--per-second 100000] [--step-timeout 300] [--output FILE]

What it runs, in this process: the whole bot (`running_bot`, as `parole serve` does) against its own
redis-server and the Bot API emulator, with Telegram's outbound limits as configured (one message a second
per private chat after a burst of 5, 20 a minute per group); the bot's own limit (30 a second on
Telegram) is `--per-second`, 100,000 by default as in `bench_journey.py`: 50 customers answering as fast
as they can would otherwise measure that limit, not the flood. At once:

- one customer sends `--flood` texts as fast as Telegram takes them (`--group-flood`: as many `/tickets`
  commands in a group the bot is in, not a staff room);
- `--customers` other customers, starting one after the other over `--spread` seconds (as customers come
  in, not all in the same millisecond: that would measure this one process's CPU, shared by the bot, the
  emulator and the customers), each do the journey: `/start <venue token>`, a star, a reason, a
  suggestion, each step waiting for the bot's answer (and 50 ms to read it) before the next.

In webhook mode Telegram's side is modelled as the Bot API server's `WebhookActor` behaves: a chat's
messages (and a user's button clicks) wait in their own queue, and the next of a queue is sent once the bot
answered the one before; at most `--connections` (Telegram's `max_connections`, 40 by default) updates are
posted at once, the one that waited longest first. A flood thus takes one connection, and reaches the bot
one update at a time (the bot tells a backlog by the messages' dates). In long polling the bot fetches them
itself.

The figures: the other customers' reply latency (from the update handed to Telegram to the bot's answer
recorded by the emulator) p50, p99 and max; `lost`: other customers' steps that got no answer within
`--step-timeout` seconds, plus those whose feedback is not stored complete; for the flooder, how many of
their messages were answered, how many slow-down messages they got, and the wall time until the bot was
idle again; in webhook mode, how long updates waited for the bot's HTTP answer (Telegram's queue
included), and how many deliveries failed (no answer within the emulator's 30 s: Telegram would deliver
them again later). It exits 1 when anything is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings
from bot.storage.embedded import EmbeddedRedis, free_port
from emulator import BotApiEmulator
from emulator.records import Delivery, EmulatedUser

SLOW_DOWN_WORDS = ("slow down", "ralentissez")
# A customer reads an answer before the next step; by long polling, that also keeps the second message of
# one answer (a star's recap, then the next question) from being taken for the next step's answer.
THINK = 0.05


@dataclasses.dataclass(slots=True)
class Figures:
    latencies: list[float] = dataclasses.field(default_factory=list)
    lost_steps: int = 0


class Connections:
    """Telegram's connections to a webhook: `size` requests at once; when one is free, the update that has
    waited longest among the queues' first goes next (the Bot API server's `WebhookActor` orders its queues
    by the time their first update was loaded)."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._numbers = itertools.count()

    async def acquire(self, queued_at: float) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (queued_at, next(self._numbers), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed over just as it was cancelled: pass it on
            raise

    def release(self) -> None:
        while self.waiting:
            *_, turn = heapq.heappop(self.waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


class Telegram:
    """Telegram's side of the webhook, as the Bot API server does it: each chat's messages (and each user's
    button clicks) are one queue, whose next update is sent only once the bot answered the one before; at
    most `connections` updates are posted at once, across queues."""

    def __init__(self, emulator: BotApiEmulator, connections: int | None) -> None:
        self.emulator = emulator
        self.connections = Connections(connections) if connections else None
        self.queues: dict[tuple[str, int], asyncio.Lock] = {}  # one update in flight per queue, in order
        self.waits: dict[str, list[float]] = {"flooder": [], "others": []}  # webhook: queued to HTTP answer
        self.failed = 0  # webhook deliveries that failed (the emulator's 30 s timeout): Telegram would retry

    async def deliver(
        self, queue: tuple[str, int], send: Callable[[], Awaitable[Delivery]], who: str = "others"
    ) -> None:
        if self.connections is None:
            await send()
            return
        queued = time.monotonic()
        in_order = self.queues.setdefault(queue, asyncio.Lock())
        async with in_order:
            await self.connections.acquire(queued)
            try:
                delivery = await send()
            finally:
                self.connections.release()
        self.waits[who].append(time.monotonic() - queued)
        if delivery.status != 200:
            self.failed += 1


def answered_since(emulator: BotApiEmulator, chat_id: int, first: int) -> bool:
    """Whether the bot sent or edited a message in the chat in a call from index `first` on."""
    calls = emulator.calls
    return any(
        call.params.get("chat_id") in (chat_id, str(chat_id)) and call.method in ("sendMessage", "editMessageText")
        for call in calls[first:]
    )


async def step(
    telegram: Telegram,
    chat_id: int,
    send: Callable[[], Awaitable[Any]],
    figures: Figures,
    timeout: float,
    *,
    click: bool = False,
) -> bool:
    emulator = telegram.emulator
    await asyncio.sleep(THINK)
    first = len(emulator.calls)
    started = time.monotonic()
    delivery = asyncio.create_task(telegram.deliver(("click" if click else "chat", chat_id), send))
    while not answered_since(emulator, chat_id, first):
        if time.monotonic() - started > timeout:
            figures.lost_steps += 1
            delivery.cancel()
            return False
        await asyncio.sleep(0.002)
    figures.latencies.append(time.monotonic() - started)
    await delivery
    return True


async def journey(
    telegram: Telegram, user: EmulatedUser, token: str, rating: int, figures: Figures, timeout: float, delay: float
) -> None:
    await asyncio.sleep(delay)
    emulator = telegram.emulator
    if not await step(telegram, user.id, lambda: emulator.send_text(user, f"/start {token}"), figures, timeout):
        return
    keyboard = next(m for m in reversed(emulator.bot_messages(user.id)) if m.buttons())
    click = lambda: emulator.click(user, keyboard, f"rate:{rating}")  # noqa: E731
    if not await step(telegram, user.id, click, figures, timeout, click=True):
        return
    for text in ("Accueil agréable et rapide.", "Rien à changer."):
        if not await step(telegram, user.id, lambda t=text: emulator.send_text(user, t), figures, timeout):  # type: ignore[misc]
            return


@contextlib.asynccontextmanager
async def bot_under_test(
    mode: str, redis_url: str, emulator: BotApiEmulator, data: Path, per_second: float
) -> AsyncIterator[RunningBot]:
    port = free_port()
    settings = Settings(
        telegram_token=Secret(emulator.token),
        telegram_api_url=emulator.base_url,
        redis_url=redis_url,
        data_dir=data,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook" if mode == "webhook" else None,
        webhook_secret=Secret("bench-secret") if mode == "webhook" else None,
        bot_username=emulator.bot_username,
        outbound_per_second=per_second,
    )
    listen = Listen("127.0.0.1", port) if mode == "webhook" else None
    async with running_bot(settings, listen=listen) as bot:
        yield bot


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", port=free_port(), appendonly=False)
        await asyncio.to_thread(redis.start)
        try:
            async with (
                BotApiEmulator() as emulator,
                bot_under_test(args.mode, redis.url, emulator, Path(tmp) / "var", args.per_second) as bot,
            ):
                return await load(args, emulator, bot)
        finally:
            await asyncio.to_thread(redis.stop)


async def load(args: argparse.Namespace, emulator: BotApiEmulator, bot: RunningBot) -> dict[str, Any]:
    await bot.store.add_brand("quick", "Quick")
    venues = [await bot.store.add_venue("quick", f"Quick {i}") for i in range(10)]
    telegram = Telegram(emulator, args.connections if args.mode == "webhook" else None)
    flooder = emulator.add_user("Flood")
    group = emulator.add_group("Not a staff room", members=[flooder]) if args.group_flood else None
    customers = [emulator.add_user(f"Customer {i}") for i in range(args.customers)]
    started = time.monotonic()
    # The flood is written at once (each message dated as it is sent), then waits in Telegram's queue.
    written = [("chat", flooder.id, emulator.write_text(flooder, f"message {i}")) for i in range(args.flood)]
    if group is not None:
        written += [
            ("chat", group.id, emulator.write_text(flooder, "/tickets", chat=group)) for _ in range(args.group_flood)
        ]
    flood = [
        asyncio.create_task(telegram.deliver((kind, chat_id), lambda u=update: emulator.deliver_raw(u), "flooder"))  # type: ignore[misc]
        for kind, chat_id, update in written
    ]
    await asyncio.sleep(0.2)  # the flood is under way
    figures = Figures()
    await asyncio.gather(*(
        journey(
            telegram, user, venues[i % len(venues)].token, i % 5 + 1, figures, args.step_timeout,
            delay=args.spread * i / max(1, args.customers),
        )
        for i, user in enumerate(customers)
    ))  # fmt: skip
    others_done = time.monotonic() - started
    await asyncio.gather(*flood)
    try:
        await emulator.settle(quiet=1.5, timeout=args.step_timeout + args.flood * 1.2)
        settled = True
    except TimeoutError:  # updates whose delivery failed stay pending (Telegram would deliver them again)
        settled = False
    idle_after = time.monotonic() - started
    feedback = [f async for f in bot.store.iter_feedback()]
    complete = sum(1 for f in feedback if f["status"] == "complete")
    to_flooder = [m for m in emulator.bot_messages(flooder.id)]
    slow_downs = sum(1 for m in to_flooder if any(w in m.text.lower() for w in SLOW_DOWN_WORDS))
    latencies = sorted(figures.latencies) or [float("nan")]
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "mode": args.mode,
        "flood": args.flood,
        "group_flood": args.group_flood,
        "customers": args.customers,
        "spread_s": args.spread,
        "connections": args.connections if args.mode == "webhook" else None,
        "others_replies": len(figures.latencies),
        "others_p50_ms": round(q[49] * 1000, 1),
        "others_p99_ms": round(q[98] * 1000, 1),
        "others_max_ms": round(latencies[-1] * 1000, 1),
        "others_done_s": round(others_done, 1),
        "lost": figures.lost_steps + (args.customers - complete),
        "stored_complete": complete,
        "flooder_answered": len(to_flooder) - slow_downs,
        "flooder_slow_downs": slow_downs,
        "idle_after_s": round(idle_after, 1),
        "settled": settled,
        "webhook_others_wait_p99_ms": round(_p99(telegram.waits["others"]) * 1000, 1),
        "webhook_flooder_wait_p99_ms": round(_p99(telegram.waits["flooder"]) * 1000, 1),
        "webhook_flooder_wait_max_ms": round(max(telegram.waits["flooder"], default=0.0) * 1000, 1),
        "webhook_failed": telegram.failed,
    }


def _p99(values: list[float]) -> float:
    if len(values) < 2:
        return max(values, default=0.0)
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[98]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("webhook", "polling"), default="webhook")
    parser.add_argument("--flood", type=int, default=500, help="texts the flooding customer sends (default 500)")
    parser.add_argument(
        "--group-flood", type=int, default=0, help="/tickets commands flooded in a group, not a staff room (default 0)"
    )
    parser.add_argument("--customers", type=int, default=50, help="other customers doing the journey (default 50)")
    parser.add_argument(
        "--spread", type=float, default=5.0, help="seconds over which the other customers start (default 5)"
    )
    parser.add_argument("--connections", type=int, default=40, help="Telegram's webhook connections (default 40)")
    parser.add_argument(
        "--per-second", type=float, default=100_000.0, help="the bot's outbound limit (default 100000, see below)"
    )
    parser.add_argument("--step-timeout", type=float, default=300.0, help="seconds before a step counts lost")
    parser.add_argument("--output", type=Path, help="where to write the JSON")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    for name, value in figures.items():
        print(f"{name:20} {value}")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if figures["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
