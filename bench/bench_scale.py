"""The scale benchmark (issue 7): many customers whose scans arrive within a window, served by two
`parole serve --webhook` processes behind one URL, one `parole worker` and one redis-server; in the same
run, the idiomatic python-telegram-bot bot (one process) on the most it sustains, or on the same load.

Run it from the project's root (the full load wants more than 2 shared cores; see what it prints):

    .venv/bin/python bench/bench_scale.py [--customers 10000] [--window 60] [--rate 200] [--rate-seconds 20]
        [--baseline-load sustained|same] [--baseline-customers N] [--no-baseline] [--warmup 20] [--step-timeout 120]
        [--drain-timeout 600] [--output bench/results/scale.json]

It exits 1 when a feedback acknowledged to a customer is lost, or one is stored or analysed twice, in
either bot; else 0, whatever the figures.

What runs, all on 127.0.0.1:

- redis-server (`bot.storage.embedded.EmbeddedRedis`: append-only file, `appendfsync everysec`, noeviction);
- two `parole serve --webhook` processes (`bench/parole_launcher.py`, which counts each one's Redis round
  trips and the webhook requests it received);
- `bench/webhook_proxy.py`, a round-robin reverse proxy in its own process, as nginx would stand in front
  of them: the one URL the bots register with Telegram;
- one `parole worker` (analysis with spaCy, and the staff notifier);
- in this process: the Bot API emulator (`emulator.BotApiEmulator`) and the customers' drivers. The
  emulator delivers at most the webhook's `max_connections` updates at once (40, Telegram's default; read
  from getWebhookInfo), the others wait their turn, as Telegram queues them.

Phase 1, the arrival load: `--customers` customers whose scans arrive at random times, uniformly spread over
`--window` seconds (fixed seed); each then goes through the whole journey (`/start <venue token>`, a star,
a reason, a suggestion), waiting for the bot's answer to each step (bench_journey.py's customers). Then the
worker is left to analyse what remains in the stream. Phase 2, a fixed rate: customers arrive evenly, four
updates each, so that `--rate` updates a second reach the webhook for `--rate-seconds`; the webhook
latency there is the target's. Phase 3: the baseline (`bench/baseline_bot.py`, `ConversationHandler` +
`PicklePersistence`, `run_webhook`) on the largest load it sustains: `--baseline-customers` (default
min(--customers, 2000)) in a closed loop, `max_connections` customers at a time, each step waiting for
the answer, so that the load follows what the one process serves (it answers the webhook at once and
queues the update: on more than it serves, its queue and latency grow without bound and customers give
up after `--step-timeout`, whose CPU would then count against it). `--baseline-load same` gives it phase
1's arrivals instead.

The figures:

- `served as offered`: every journey completed and the update latency p99 under 1 s (nobody waited more
  than a second for an answer, for 99 % of the steps). When it is not, the load was more than this machine
  gave the processes: the figures say how far it got (completed, when the last one ended, the latency).
- `arrival lag p99`: how late the drivers started a customer after their planned arrival; large means this
  process (driver and emulator) could not keep up, and `driver+emulator CPU` shows how busy it was.
- `conversations/s per core`: completed conversations / the CPU seconds of the bot processes (both, from
  /proc/<pid>/stat) during the load; the ratio parole/baseline is the target (>= 2).
- `update latency`: from the customer's action handed to the emulator (waiting for a free connection
  included) to the last Bot API call of the bot's answer; `webhook latency`: the webhook POST alone
  (through the proxy for parole, which answers once the update's effects are stored; the baseline answers
  at once).
- `Bot API calls per feedback`: every call the emulator answered during the load / completed conversations.
- `Redis round trips per update`, per bot process: its round trips in the webhook requests' context / the
  webhook requests it received (see parole_launcher.py).
- `peak RSS MB` of each process (VmHWM in /proc/<pid>/status, read before it stops), and whether the bot
  processes mapped any spaCy library (they must not).
- `lost`: customers who saw the thanks but whose complete feedback (rating, reason, suggestion as given) is
  not in the store; `duplicated`: feedback stored beyond one per customer; `analysed twice` / `not
  analysed`: feedback whose `analysis_count` is not 1 once the worker drained the stream.
- the machine: CPUs, load average, and the CPU seconds other processes used during each load (from
  /proc/stat), since the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import uvloop
from bench_journey import (
    BENCH,
    BRAND,
    RESULTS,
    STEPS,
    TARGET_CALLS,
    TARGET_RATIO,
    TARGET_ROUND_TRIPS,
    Baseline,
    BotProcess,
    CallWatch,
    Customer,
    LoadResult,
    Parole,
    Target,
    check_store,
    customers,
    drive,
    journey,
    launcher_counters,
    own_cpu,
    percentile,
    port_open,
    positive,
    process_cpu,
    redis_server_counters,
)
from redis.asyncio import Redis

from bot.storage import keys
from bot.storage.embedded import free_port
from emulator import BotApiEmulator

TARGET_WEBHOOK_P99_MS = 50.0
TARGET_BOT_RSS_MB = 120.0
SERVED_P99_S = 1.0  # the update latency p99 under which a load counts as served as offered
READY_TIMEOUT = 180.0  # seconds for a process to start (the worker loads spaCy)
BOTS = 2


# --- the machine and its processes --------------------------------------------------------------


def machine_busy() -> float:
    """CPU seconds all the machine's CPUs spent busy since boot (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    user, system = process_cpu(pid)
    return user + system


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def maps_spacy(pid: int) -> bool:
    """Whether the process has any spaCy library mapped, i.e. imported spaCy."""
    return "/spacy/" in Path(f"/proc/{pid}/maps").read_text(errors="replace")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class CpuWatch:
    """CPU seconds of named processes, of this process and of the whole machine, between two readings."""

    pids: dict[str, int]
    start: dict[str, float] = field(default_factory=dict)

    def read(self) -> dict[str, float]:
        reading = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return {**reading, "driver+emulator": own_cpu(), "machine": machine_busy()}

    def begin(self) -> None:
        self.start = self.read()

    def end(self) -> dict[str, float]:
        now = self.read()
        used = {name: now[name] - self.start[name] for name in now}
        used["other processes"] = max(0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine"))
        return used


async def wait_listening(process: BotProcess, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not port_open(port):
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited at start:\n{process.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not listen within {READY_TIMEOUT:.0f} s:\n{process.log_tail()}")
        await asyncio.sleep(0.05)


async def max_connections(emulator: BotApiEmulator) -> int:
    """The webhook's `max_connections`, as the bot registered it (getWebhookInfo)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emulator.base_url}{emulator.token}/getWebhookInfo") as answer,
    ):
        info = (await answer.json())["result"]
    return int(info.get("max_connections", 40))


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Arrivals:
    """What one load did: the journeys' results, who was acknowledged, how late the drivers were."""

    load: LoadResult = field(default_factory=LoadResult)
    acknowledged: list[Customer] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    webhook: list[float] = field(default_factory=list)
    last_done: float = 0.0  # seconds from the first planned arrival to the last journey's end


def schedule(count: int, window: float, *, even: bool, seed: int = 7) -> list[float]:
    """Arrival offsets in seconds: evenly spaced, or uniformly random over the window (sorted)."""
    if even:
        return [window * index / count for index in range(count)]
    rng = random.Random(seed)
    return sorted(rng.uniform(0.0, window) for _ in range(count))


async def arrive(
    emulator: BotApiEmulator,
    watch: CallWatch,
    people: list[Customer],
    label: str,
    *,
    offsets: list[float] | None = None,
    concurrency: int = 1,
) -> Arrivals:
    """Start each customer's journey at its arrival time (`offsets`), or else as soon as one of `concurrency`
    customers at a time has finished (a closed loop, whose load adapts to what the bot serves); wait for
    every journey to end."""
    result = Arrivals()
    webhook_first = len(watch.webhook_latencies)
    start = time.monotonic()

    async def one(customer: Customer, at: float) -> None:
        result.lags.append(time.monotonic() - at)
        try:
            latencies = await journey(emulator, watch, customer)
        except Exception as exc:  # a failed customer is counted, the others go on
            result.load.failures.append(f"customer {customer.index}: {exc!r}")
            return
        result.load.completed += 1
        result.acknowledged.append(customer)
        result.last_done = max(result.last_done, time.monotonic() - start)
        for step, latency in zip(STEPS, latencies, strict=True):
            result.load.latencies[step].append(latency)

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            print(
                f"  {label}: {time.monotonic() - start:5.0f} s, {len(result.lags)} arrived, "
                f"{result.load.completed} completed, {len(result.load.failures)} failed, load {load_average()}",
                file=sys.stderr,
                flush=True,
            )

    async def in_turn(queue: Iterator[Customer]) -> None:
        for customer in queue:
            await one(customer, time.monotonic())

    reporter = asyncio.create_task(progress())
    tasks = []
    try:
        if offsets is None:
            queue = iter(people)
            tasks = [asyncio.create_task(in_turn(queue)) for _ in range(concurrency)]
        else:
            for customer, offset in zip(people, offsets, strict=True):
                at = start + offset
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(customer, at)))
        await asyncio.gather(*tasks)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    result.load.wall = time.monotonic() - start
    result.webhook = watch.webhook_latencies[webhook_first:]
    return result


def ms(values: list[float], fraction: float) -> float:
    return 1000 * percentile(values, fraction)


def load_figures(arrivals: Arrivals, offered: int, window: float, cpu_bots: float) -> dict[str, Any]:
    """The figures of one load that both bots share."""
    load = arrivals.load
    latencies = [value for values in load.latencies.values() for value in values]
    p99 = percentile(latencies, 0.99)
    return {
        "offered": offered,
        "window_s": window,
        "offered_conversations_per_s": offered / window if window else 0.0,
        "completed": load.completed,
        "failed": len(load.failures),
        "failures": load.failures[:10],
        "wall_s": load.wall,
        "last_done_s": arrivals.last_done,
        "conversations_per_s": load.completed / load.wall if load.wall else 0.0,
        "updates_per_s": len(arrivals.webhook) / load.wall if load.wall else 0.0,
        "served_as_offered": load.completed == offered and p99 <= SERVED_P99_S,
        "arrival_lag_p99_ms": ms(arrivals.lags, 0.99),
        "bots_cpu_s": cpu_bots,
        "conversations_per_s_per_core": load.completed / cpu_bots if cpu_bots else 0.0,
        "latency_p50_ms": 1000 * percentile(latencies, 0.50),
        "latency_p99_ms": 1000 * p99,
        "latency_max_ms": 1000 * max(latencies, default=0.0),
        "webhook_p50_ms": ms(arrivals.webhook, 0.50),
        "webhook_p99_ms": ms(arrivals.webhook, 0.99),
    }


def api_calls(emulator: BotApiEmulator, first: int, last: int, completed: int) -> dict[str, Any]:
    calls = emulator.calls[first:last]
    return {
        "bot_api_calls": len(calls),
        "bot_api_calls_per_feedback": len(calls) / completed if completed else 0.0,
        "bot_api_calls_by_method": dict(sorted(Counter(call.method for call in calls).items())),
        "bot_api_errors": sum(call.status != 200 for call in calls),
    }


async def warm_up(emulator: BotApiEmulator, watch: CallWatch, people: list[Customer]) -> None:
    """Unmeasured customers first; a failure here means a broken bot, which ends the run."""
    warmup = await drive(emulator, watch, people, concurrency=10)
    if warmup.failures:
        raise RuntimeError(f"the warm-up failed: {warmup.failures[:3]}")


# --- parole: two bots, a proxy, a worker, one redis-server --------------------------------------


@dataclass
class Fleet:
    """The parole deployment under test."""

    target: Parole
    emulator: BotApiEmulator
    bots: list[BotProcess]
    stats_files: list[Path]
    proxy: BotProcess
    proxy_port: int
    worker: BotProcess
    redis: Redis
    redis_pid: int

    def processes(self) -> Iterator[BotProcess]:
        yield from self.bots
        yield self.proxy
        yield self.worker

    def pids(self) -> dict[str, int]:
        return {
            **{bot.name: bot.pid for bot in self.bots},
            "proxy": self.proxy.pid,
            "worker": self.worker.pid,
            "redis-server": self.redis_pid,
        }

    async def bot_counters(self) -> list[dict[str, float]]:
        return [await launcher_counters(b.pid, f) for b, f in zip(self.bots, self.stats_files, strict=True)]

    async def proxy_stats(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.proxy_port}/proxy-stats") as answer,
        ):
            stats: dict[str, Any] = await answer.json()
        return stats

    async def drained(self, timeout: float) -> float | None:
        """Wait until the worker has analysed and acknowledged every stream entry; how long it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            stream = await self.redis.xinfo_stream(keys.FEEDBACK_STREAM)
            groups = {group["name"]: group for group in await self.redis.xinfo_groups(keys.FEEDBACK_STREAM)}
            group = groups.get(keys.ANALYSIS_GROUP)
            if (
                group is not None
                and int(group["pending"]) == 0
                and group["last-delivered-id"] == stream["last-generated-id"]
            ):
                return time.monotonic() - start
            if self.worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{self.worker.log_tail()}")
            await asyncio.sleep(0.2)
        return None


async def start_fleet(tmp: Path, target: Parole, emulator: BotApiEmulator) -> Fleet:
    """Start the bots, then the proxy in front of them, then the worker; stop what started if one fails."""
    assert target.redis is not None
    proxy_port, ports = free_port(), [free_port() for _ in range(BOTS)]
    env = target.environment(emulator, proxy_port)  # the bots register the proxy's URL
    started: list[BotProcess] = []
    try:
        stats_files = []
        for number, port in enumerate(ports, start=1):
            stats = tmp / f"bot{number}-stats.json"
            argv = [sys.executable, str(BENCH / "parole_launcher.py"), "--stats", str(stats), "--"]
            argv += ["serve", "--webhook", "--host", "127.0.0.1", "--port", str(port)]
            started.append(BotProcess(f"bot{number}", argv, env, cwd=tmp, log=tmp / f"bot{number}.log"))
            stats_files.append(stats)
            await wait_listening(started[-1], port)
        upstreams = [arg for port in ports for arg in ("--upstream", f"http://127.0.0.1:{port}")]
        argv = [sys.executable, str(BENCH / "webhook_proxy.py"), "--port", str(proxy_port), *upstreams]
        proxy = BotProcess("proxy", argv, env, cwd=tmp, log=tmp / "proxy.log")
        started.append(proxy)
        await wait_listening(proxy, proxy_port)
        worker = BotProcess(
            "worker", [sys.executable, "-m", "bot", "worker", "--port", "0"], env, cwd=tmp, log=tmp / "worker.log"
        )
        started.append(worker)
        deadline = time.monotonic() + READY_TIMEOUT
        while not await target.redis.hlen(keys.WORKERS):  # the worker registers once spaCy is loaded
            if worker.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{worker.log_tail()}")
            await asyncio.sleep(0.1)
        while emulator.webhook_url is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no bot registered its webhook")
            await asyncio.sleep(0.05)
        redis_pid = int((await target.redis.info("server"))["process_id"])
    except BaseException:
        for process in started:
            await process.stop()
        raise
    return Fleet(target, emulator, started[:BOTS], stats_files, proxy, proxy_port, worker, target.redis, redis_pid)


async def check_analysis(redis: Redis) -> dict[str, int]:
    """Every complete feedback analysed exactly once (`analysis_count`, which the worker's script raises)."""
    ids = [str(i) for i in await redis.zrange(keys.feedbacks(BRAND), 0, -1)]
    async with redis.pipeline(transaction=False) as pipe:
        for feedback_id in ids:
            pipe.hmget(keys.feedback(BRAND, feedback_id), ["status", "analysis_count"])
        rows = await pipe.execute()
    counts = [int(count or 0) for status, count in rows if status == "complete"]
    return {
        "analysed_once": sum(count == 1 for count in counts),
        "analysed_twice_or_more": sum(count > 1 for count in counts),
        "not_analysed": sum(count == 0 for count in counts),
        "stream_entries": int(await redis.xlen(keys.FEEDBACK_STREAM)),
    }


def share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def per_bot(
    before: list[dict[str, float]], after: list[dict[str, float]], cpu: dict[str, float]
) -> list[dict[str, Any]]:
    """Each bot process's updates, CPU and Redis figures during the load."""
    rows = []
    for number, (b, a) in enumerate(zip(before, after, strict=True), start=1):
        updates = a["updates"] - b["updates"]
        rows.append(
            {
                "updates": int(updates),
                "cpu_s": cpu[f"bot{number}"],
                "round_trips": a["update_round_trips"] - b["update_round_trips"],
                "redis_round_trips_per_update": share(a["update_round_trips"] - b["update_round_trips"], updates),
                "redis_round_trips_per_update_whole_process": share(a["round_trips"] - b["round_trips"], updates),
                "redis_commands_per_update": share(a["update_commands"] - b["update_commands"], updates),
            }
        )
    return rows


async def run_parole(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    target = Parole()
    try:
        venues = await target.prepare(tmp)
        async with BotApiEmulator() as emulator:
            fleet = await start_fleet(tmp, target, emulator)
            try:
                return await measure_parole(args, fleet, venues)
            finally:
                for process in fleet.processes():
                    await process.stop()
                RESULTS.mkdir(parents=True, exist_ok=True)
                for process in fleet.processes():
                    with contextlib.suppress(OSError):
                        (RESULTS / f"scale-{process.name}.log").write_bytes(process.log.read_bytes())
    finally:
        await target.close()


async def measure_parole(args: argparse.Namespace, fleet: Fleet, venues: list[Any]) -> dict[str, Any]:
    emulator = fleet.emulator
    connections = await max_connections(emulator)
    watch = CallWatch(emulator, step_timeout=args.step_timeout, max_in_flight=connections)
    warm = customers(emulator, venues, args.warmup)
    await warm_up(emulator, watch, warm)
    await fleet.drained(args.drain_timeout)

    # Phase 1: the arrivals.
    people = customers(emulator, venues, args.customers, first=len(warm))
    offsets = schedule(len(people), args.window, even=False)
    cpu = CpuWatch(fleet.pids())
    counters_before, redis_before = await fleet.bot_counters(), await redis_server_counters(fleet.redis)
    first_call, load_average_before = len(emulator.calls), load_average()
    print(f"phase 1: {len(people)} customers over {args.window:g} s (load {load_average_before})", file=sys.stderr)
    cpu.begin()
    phase1 = await arrive(emulator, watch, people, "parole", offsets=offsets)
    used = cpu.end()
    last_call = len(emulator.calls)
    counters_after, redis_after = await fleet.bot_counters(), await redis_server_counters(fleet.redis)
    drain_s = await fleet.drained(args.drain_timeout)
    used_drain = cpu.end()

    # Phase 2: a fixed rate of updates.
    per_second = args.rate / len(STEPS)
    count = max(1, round(per_second * args.rate_seconds))
    paced = customers(emulator, venues, count, first=len(warm) + len(people))
    print(f"phase 2: {args.rate:g} updates/s for {args.rate_seconds:g} s ({count} customers)", file=sys.stderr)
    pace_before, pace_cpu = await fleet.bot_counters(), CpuWatch(fleet.pids())
    pace_cpu.begin()
    phase2 = await arrive(emulator, watch, paced, "fixed rate", offsets=schedule(count, count / per_second, even=True))
    pace_used, pace_after = pace_cpu.end(), await fleet.bot_counters()
    await fleet.drained(args.drain_timeout)

    rss = {name: peak_rss_mb(pid) for name, pid in fleet.pids().items()}
    spacy_in_bots = any(maps_spacy(bot.pid) for bot in fleet.bots)
    proxy = await fleet.proxy_stats()
    stored = await fleet.target.stored()
    analysis = await check_analysis(fleet.redis)

    everyone = warm + people + paced
    acknowledged = warm + phase1.acknowledged + phase2.acknowledged
    bots_cpu = sum(used[bot.name] for bot in fleet.bots)
    rows = per_bot(counters_before, counters_after, used)
    updates = sum(row["updates"] for row in rows)
    round_trips = sum(row["round_trips"] for row in rows)
    paced_updates = sum(a["updates"] - b["updates"] for a, b in zip(pace_after, pace_before, strict=True))
    return {
        **load_figures(phase1, len(people), args.window, bots_cpu),
        **api_calls(emulator, first_call, last_call, phase1.load.completed),
        "max_connections": connections,
        "warmup_customers": len(warm),
        "updates": updates,
        "bots": rows,
        "redis_round_trips_per_update": share(round_trips, updates),
        "redis_server_commands_per_update": share(
            redis_after["server_commands"] - redis_before["server_commands"], updates
        ),
        "cpu_s": used,
        "cpu_s_until_drained": used_drain,
        "worker_drain_s": drain_s,
        "load_average_before": load_average_before,
        "load_average_after": load_average(),
        "rate": {
            "target_updates_per_s": args.rate,
            "customers": count,
            "completed": phase2.load.completed,
            "failed": len(phase2.load.failures),
            "updates": int(paced_updates),
            "updates_per_s": share(paced_updates, phase2.load.wall),
            "cpu_s": pace_used,
            "webhook_p50_ms": ms(phase2.webhook, 0.50),
            "webhook_p99_ms": ms(phase2.webhook, 0.99),
            "latency_p50_ms": ms([v for vs in phase2.load.latencies.values() for v in vs], 0.50),
            "latency_p99_ms": ms([v for vs in phase2.load.latencies.values() for v in vs], 0.99),
        },
        "peak_rss_mb": rss,
        "spacy_in_bot_processes": spacy_in_bots,
        "proxy": proxy,
        "lost": check_store(stored, acknowledged)["lost"],
        "duplicated": check_store(stored, everyone)["duplicated"],
        "stored": len(stored),
        "acknowledged": len(acknowledged),
        **analysis,
    }


# --- the baseline -------------------------------------------------------------------------------


async def run_baseline(args: argparse.Namespace, tmp: Path, count: int) -> dict[str, Any]:
    target: Target = Baseline()
    venues = await target.prepare(tmp)
    async with BotApiEmulator() as emulator:
        port = free_port()
        bot = BotProcess(
            "baseline",
            target.command(emulator, port, tmp, None),
            target.environment(emulator, port),
            cwd=tmp,
            log=tmp / "baseline.log",
        )
        try:
            await bot.wait_ready(emulator, port)
            connections = await max_connections(emulator)
            watch = CallWatch(emulator, step_timeout=args.step_timeout, max_in_flight=connections)
            warm = customers(emulator, venues, args.warmup)
            await warm_up(emulator, watch, warm)
            people = customers(emulator, venues, count, first=len(warm))
            cpu = CpuWatch({"baseline": bot.pid})
            first_call, load_average_before = len(emulator.calls), load_average()
            print(f"baseline: {count} customers ({args.baseline_load} load; {load_average_before})", file=sys.stderr)
            cpu_start = cpu_seconds(bot.pid)
            cpu.begin()
            if args.baseline_load == "same":
                offsets = schedule(count, args.window, even=False)
                phase = await arrive(emulator, watch, people, "baseline", offsets=offsets)
            else:
                phase = await arrive(emulator, watch, people, "baseline", concurrency=connections)
            used = cpu.end()
            last_call = len(emulator.calls)
            rss = peak_rss_mb(bot.pid)
        finally:
            exit_ = await bot.stop()
            RESULTS.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                (RESULTS / "scale-baseline.log").write_bytes(bot.log.read_bytes())
    stored = await target.stored()
    cpu_incl_stop = max(used["baseline"], exit_.cpu - cpu_start)
    figures = load_figures(phase, count, args.window, used["baseline"])
    if args.baseline_load != "same":  # a closed loop offers what the bot serves: no arrival rate to keep
        figures.update(window_s=None, offered_conversations_per_s=None, served_as_offered=None)
    return {
        **figures,
        **api_calls(emulator, first_call, last_call, phase.load.completed),
        "max_connections": connections,
        "warmup_customers": len(warm),
        "cpu_s": used,
        "bots_cpu_incl_stop_s": cpu_incl_stop,
        "conversations_per_s_per_core_incl_stop": phase.load.completed / cpu_incl_stop if cpu_incl_stop else 0.0,
        "load_average_before": load_average_before,
        "load_average_after": load_average(),
        "peak_rss_mb": {"baseline": rss},
        "lost": check_store(stored, warm + phase.acknowledged)["lost"],
        "duplicated": check_store(stored, warm + people)["duplicated"],
        "stored": len(stored),
        "acknowledged": len(warm) + len(phase.acknowledged),
    }


# --- the report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets(results: dict[str, Any]) -> list[str]:
    parole, baseline = results["parole"], results.get("baseline")
    lines = []
    if baseline is not None:
        ratio = results["ratio_per_core"]
        lines.append(
            f"target >= {TARGET_RATIO:.0f}x the baseline's conversations/s per core: {ratio:.2f}x, "
            f"{verdict(ratio >= TARGET_RATIO)}"
        )
    p99 = parole["rate"]["webhook_p99_ms"]
    achieved = parole["rate"]["updates_per_s"]
    lines.append(
        f"target webhook p99 < {TARGET_WEBHOOK_P99_MS:.0f} ms at {parole['rate']['target_updates_per_s']:g} updates/s "
        f"(achieved {achieved:.0f}/s): {p99:.1f} ms, {verdict(p99 < TARGET_WEBHOOK_P99_MS)}"
    )
    calls = parole["bot_api_calls_per_feedback"]
    lines.append(
        f"target <= {TARGET_CALLS:.0f} Bot API calls per feedback: {calls:.2f}, {verdict(calls <= TARGET_CALLS)}"
    )
    worst = max((row["redis_round_trips_per_update"] for row in parole["bots"]), default=0.0)
    lines.append(
        f"target <= {TARGET_ROUND_TRIPS:.0f} Redis round trips per update (worst bot process): {worst:.2f}, "
        f"{verdict(worst <= TARGET_ROUND_TRIPS)}"
    )
    rss = max(parole["peak_rss_mb"][f"bot{n}"] for n in range(1, BOTS + 1))
    spacy = parole["spacy_in_bot_processes"]
    lines.append(
        f"target bot process < {TARGET_BOT_RSS_MB:.0f} MB, no spaCy: {rss:.1f} MB, spaCy "
        f"{'loaded' if spacy else 'not loaded'}, {verdict(rss < TARGET_BOT_RSS_MB and not spacy)}"
    )
    ok = parole["lost"] == 0 and parole["duplicated"] == 0 and parole["analysed_twice_or_more"] == 0
    lines.append(
        f"target zero lost / duplicated / analysed twice: {parole['lost']} / {parole['duplicated']} / "
        f"{parole['analysed_twice_or_more']} (not analysed: {parole['not_analysed']}), {verdict(ok)}"
    )
    return lines


def _cell(value: object, digits: int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return "-" if value is None else str(value)


def report(results: dict[str, Any], out: TextIO = sys.stdout) -> None:
    config, parole, baseline = results["config"], results["parole"], results.get("baseline") or {}
    print(
        f"Scale: {config['customers']} customers over {config['window']:g} s, {BOTS} parole bot processes behind "
        f"a round-robin proxy, 1 worker, 1 redis-server (AOF everysec); {config['cpus']} CPU(s), load average "
        f"{config['load_average']} at start; python {config['python']}",
        file=out,
    )
    print(f"baseline load: {results['baseline_load']}", file=out)
    rows: list[tuple[str, str, int]] = [
        ("customers offered", "offered", 0),
        ("offered conversations/s", "offered_conversations_per_s", 1),
        ("completed conversations", "completed", 0),
        ("failed conversations", "failed", 0),
        ("served as offered", "served_as_offered", 0),
        ("wall s (first arrival -> last answer)", "wall_s", 1),
        ("conversations/s (wall)", "conversations_per_s", 1),
        ("updates/s (wall)", "updates_per_s", 1),
        ("arrival lag p99 ms", "arrival_lag_p99_ms", 1),
        ("bot processes' CPU s", "bots_cpu_s", 2),
        ("conversations/s per core", "conversations_per_s_per_core", 1),
        ("update latency p50 ms", "latency_p50_ms", 1),
        ("update latency p99 ms", "latency_p99_ms", 1),
        ("update latency max ms", "latency_max_ms", 1),
        ("webhook latency p50 ms", "webhook_p50_ms", 1),
        ("webhook latency p99 ms", "webhook_p99_ms", 1),
        ("Bot API calls per feedback", "bot_api_calls_per_feedback", 2),
        ("Bot API errors", "bot_api_errors", 0),
        ("Redis round trips per update", "redis_round_trips_per_update", 2),
        ("redis-server commands per update", "redis_server_commands_per_update", 2),
        ("acknowledged feedback (thanks seen)", "acknowledged", 0),
        ("stored feedback", "stored", 0),
        ("lost", "lost", 0),
        ("duplicated", "duplicated", 0),
        ("analysed once", "analysed_once", 0),
        ("analysed twice or more", "analysed_twice_or_more", 0),
        ("not analysed", "not_analysed", 0),
    ]
    print(f"{'':40} {'parole':>14} {'baseline':>14}", file=out)
    for label, key, digits in rows:
        cells = [_cell(side.get(key), digits) for side in (parole, baseline)]
        print(f"{label:40} {cells[0]:>14} {cells[1]:>14}", file=out)
    for number, row in enumerate(parole["bots"], start=1):
        print(
            f"parole bot{number}: {row['updates']} updates, CPU {row['cpu_s']:.2f} s, Redis round trips per update "
            f"{row['redis_round_trips_per_update']:.2f} (whole process "
            f"{row['redis_round_trips_per_update_whole_process']:.2f}), commands "
            f"{row['redis_commands_per_update']:.2f}",
            file=out,
        )
    for name, side in (("parole", parole), ("baseline", baseline)):
        if not side:
            continue
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in side["cpu_s"].items())
        rss = ", ".join(f"{k} {v:.1f}" for k, v in side["peak_rss_mb"].items())
        methods = ", ".join(f"{m} {n}" for m, n in side["bot_api_calls_by_method"].items())
        print(f"{name}: CPU s during the load: {cpu}", file=out)
        print(f"{name}: peak RSS MB: {rss}", file=out)
        print(f"{name}: Bot API calls during the load: {methods}", file=out)
        print(
            f"{name}: load average before/after the load: {side['load_average_before']} / {side['load_average_after']}",
            file=out,
        )
        for failure in side["failures"][:3]:
            print(f"{name}: FAILED {failure}", file=out)
    if baseline:
        print(
            f"baseline: conversations/s per core incl. its stop (PicklePersistence writes): "
            f"{baseline['conversations_per_s_per_core_incl_stop']:.1f}",
            file=out,
        )
    drain = parole["worker_drain_s"]
    print(
        "worker: analysed what was left in the stream "
        + (f"{drain:.1f} s after the load" if drain is not None else "NOT within --drain-timeout"),
        file=out,
    )
    rate = parole["rate"]
    print(
        f"phase 2, {rate['target_updates_per_s']:g} updates/s asked: {rate['updates']} updates at "
        f"{rate['updates_per_s']:.0f}/s, {rate['completed']} journeys completed, {rate['failed']} failed; "
        f"webhook latency p50 {rate['webhook_p50_ms']:.1f} ms, "
        f"p99 {rate['webhook_p99_ms']:.1f} ms; update latency p50 {rate['latency_p50_ms']:.1f} ms, "
        f"p99 {rate['latency_p99_ms']:.1f} ms",
        file=out,
    )
    print("phase 2: CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in rate["cpu_s"].items()), file=out)
    proxy = parole["proxy"]
    print(
        f"proxy: requests per upstream {proxy['requests']}, passed to the next upstream {proxy['next_upstream']}, "
        f"502 {proxy['bad_gateway']}",
        file=out,
    )
    if not parole["served_as_offered"]:
        print(
            f"NOT SERVED AS OFFERED: {parole['completed']} of {parole['offered']} journeys completed, the last "
            f"{parole['last_done_s']:.1f} s after the first arrival (window {parole['window_s']:g} s), update latency "
            f"p99 {parole['latency_p99_ms']:.0f} ms; other processes used {parole['cpu_s']['other processes']:.1f} "
            "CPU s of this machine meanwhile",
            file=out,
        )
    for line in results["targets"]:
        print(line, file=out)
    print(f"figures written to {results['output']}", file=out)


# --- the run ------------------------------------------------------------------------------------


def baseline_load(args: argparse.Namespace, baseline: dict[str, Any] | None) -> str:
    if baseline is None:
        return "none (--no-baseline)"
    if args.baseline_load == "same":
        served = "" if baseline["served_as_offered"] else ", NOT served as offered"
        return f"the same load: {baseline['offered']} customers over {args.window:g} s{served}"
    return (
        f"the largest load it sustains: {baseline['offered']} customers, {baseline['max_connections']} at a time "
        "(a closed loop: each customer's next step waits for the answer, so the load follows what the bot serves; "
        "--baseline-load same for phase 1's arrivals)"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    start_load = load_average()
    config = {
        "customers": args.customers,
        "window": args.window,
        "rate": args.rate,
        "rate_seconds": args.rate_seconds,
        "warmup": args.warmup,
        "baseline_load": args.baseline_load if args.baseline else None,
        "cpus": os.cpu_count(),
        "load_average": start_load,
        "python": sys.version.split()[0],
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with tempfile.TemporaryDirectory(prefix="parole-scale-") as workdir:
        (Path(workdir) / "parole").mkdir()
        parole = await run_parole(args, Path(workdir) / "parole")
        write_json(args.output, {"config": config, "parole": parole, "partial": True})  # kept if the baseline fails
        baseline = None
        if args.baseline:
            (Path(workdir) / "baseline").mkdir()
            count = args.baseline_customers or (
                args.customers if args.baseline_load == "same" else min(args.customers, 2000)
            )
            baseline = await run_baseline(args, Path(workdir) / "baseline", count)
    results: dict[str, Any] = {
        "config": config,
        "parole": parole,
        "baseline": baseline,
        "baseline_load": baseline_load(args, baseline),
        "output": str(args.output),
    }
    if baseline is not None:
        ratio = baseline["conversations_per_s_per_core"]
        results["ratio_per_core"] = parole["conversations_per_s_per_core"] / ratio if ratio else 0.0
    results["targets"] = targets(results)
    return results


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="parole at scale (2 bot processes, a proxy, a worker, Redis) against the PTB baseline"
    )
    parser.add_argument("--customers", type=positive, default=10_000, help="customers arriving (default 10000)")
    parser.add_argument(
        "--window", type=positive_float, default=60.0, help="seconds their scans arrive in (default 60)"
    )
    parser.add_argument("--rate", type=positive_float, default=200.0, help="phase 2 updates per second (default 200)")
    parser.add_argument("--rate-seconds", type=positive_float, default=20.0, help="phase 2 length (default 20 s)")
    parser.add_argument("--warmup", type=positive, default=20, help="unmeasured customers first (default 20)")
    parser.add_argument(
        "--baseline-load",
        choices=("sustained", "same"),
        default="sustained",
        help="the baseline's load: the most it sustains (a closed loop, default) or phase 1's arrivals",
    )
    parser.add_argument(
        "--baseline-customers",
        type=positive,
        help="baseline customers (default: --customers with --baseline-load same, else at most 2000)",
    )
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True, help="run the baseline")
    parser.add_argument(
        "--step-timeout",
        type=positive_float,
        default=120.0,
        help="seconds a customer waits for an answer (default 120)",
    )
    parser.add_argument(
        "--drain-timeout", type=positive_float, default=600.0, help="seconds the worker may take to drain (default 600)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "scale.json", help="where to write the JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the drivers' and emulator's loop
        results = runner.run(run(args))
    write_json(args.output, results)
    report(results)
    sides = [results["parole"]] + ([results["baseline"]] if results["baseline"] else [])
    ok = all(side["lost"] == 0 and side["duplicated"] == 0 for side in sides)
    ok = ok and results["parole"]["analysed_twice_or_more"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
