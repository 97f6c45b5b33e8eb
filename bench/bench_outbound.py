"""The outbound limiter (`bot.botapi.outbound`): its cost per message, and the bot's budget kept across
processes.

Run it from the project's root (about 20 seconds; it needs `redis-server` on PATH):

    .venv/bin/python bench/bench_outbound.py [--messages 20000] [--seconds 6] [--processes 2]

1. **Cost per message**, in one process against its own redis-server, for `--messages` answers to as many
   different private chats (the budget raised so that nothing waits): CPU microseconds per message and
   Redis round trips per message of parole's way (slots of the bot's one budget reserved for the waiting
   answers and a few ahead, one round trip per batch) against the usual way of a shared limiter (one Redis
   script per message: here the very script parole uses for staff messages, so the two differ only in how
   many slots one round trip takes).
2. **Budget across processes**: `--processes` processes, each sending answers to new chats as fast as the
   limiter lets them for `--seconds`, with the default budget (30 messages a second for the bot). It
   prints the messages each process sent and the rate of all of them together, over the whole run and
   over its last part (after the first second), and the most messages any one second held.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.botapi.outbound import PRIORITY, Limits, Outbound, Priority  # noqa: E402
from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402


class CountingRedis(Redis):
    """A client that counts its round trips (each `execute_command`: a script call is one)."""

    round_trips = 0

    async def execute_command(self, *args, **options):  # type: ignore[no-untyped-def]
        CountingRedis.round_trips += 1
        return await super().execute_command(*args, **options)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def cost(url: str, messages: int) -> None:
    redis = CountingRedis.from_url(url, decode_responses=True)
    limits = Limits(per_second=10_000_000.0)
    rows = []
    for label, priority in (("parole (answers: reserved slots)", Priority.ANSWER), ("one script per message", None)):
        outbound = Outbound(redis, limits)
        if priority is None:
            PRIORITY.set(Priority.CARD)  # the shared path: one script per message
        await redis.flushdb()
        await outbound.acquire("sendMessage", "1")  # warm: scripts loaded, connection open
        CountingRedis.round_trips = 0
        start_cpu, start = cpu(), time.perf_counter()
        for chat in range(messages):
            await outbound.acquire("sendMessage", str(10_000 + chat))
        elapsed_cpu, elapsed = cpu() - start_cpu, time.perf_counter() - start
        rows.append((label, elapsed_cpu / messages * 1e6, CountingRedis.round_trips, messages / elapsed))
        PRIORITY.set(Priority.ANSWER)
    await redis.aclose()
    print(f"1. cost per message, {messages} answers to different chats, one process (CPU includes redis-py)")
    print(f"   {'':34} {'CPU us/message':>15} {'Redis round trips':>18} {'messages/s':>11}")
    for label, micros, trips, rate in rows:
        print(f"   {label:34} {micros:15.1f} {trips:18d} {rate:11.0f}")
    print("   (parole's answers: one round trip reserves slots for the answers waiting and a few ahead)")
    print(f"   parole's way costs {rows[1][1] / rows[0][1]:.1f}x less CPU per message than one script per message")


def sender(url: str, seconds: float, start_at: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def run() -> list[float]:
        redis = Redis.from_url(url, decode_responses=True)
        outbound = Outbound(redis)
        while time.time() < start_at:
            await asyncio.sleep(0.001)
        sent: list[float] = []
        end = start_at + seconds
        chat = 0
        while time.time() < end:
            chat += 1
            await outbound.acquire("sendMessage", str(chat))
            sent.append(time.time())
        await redis.aclose()
        return sent

    results.put(asyncio.run(run()))


def budget(url: str, processes: int, seconds: float) -> None:
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    start_at = time.time() + 1.0
    workers = [multiprocessing.Process(target=sender, args=(url, seconds, start_at, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    sent = [results.get(timeout=seconds + 30) for _ in workers]
    for worker in workers:
        worker.join()
    every = sorted(t for times in sent for t in times if t <= start_at + seconds)
    settled = [t for t in every if t >= start_at + 1.5]
    print(f"2. budget across processes: {processes} processes sending answers as fast as allowed, {seconds:.0f} s")
    print(f"   messages per process: {', '.join(str(len(times)) for times in sent)}")
    print(f"   all together: {len(every) / seconds:.1f} messages/s over the run (the first second included)")
    print(f"   after 1.5 s: {len(settled) / (seconds - 1.5):.1f} messages/s (the limit: {Limits().per_second:.0f})")
    busiest = max(sum(1 for t in every if start <= t < start + 1.0) for start in every) if every else 0
    print(f"   most in any one second: {busiest} (the limit: {Limits().per_second:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), port=free_port(), appendonly=False)
        server.start()
        try:
            asyncio.run(cost(server.url, args.messages))
            budget(server.url, args.processes, args.seconds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
