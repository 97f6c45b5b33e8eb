"""The customer-journey benchmark: parole over its webhook path against the idiomatic python-telegram-bot bot.

Run it from the project's root (about 40 seconds with the defaults on 2 cores; `make bench` does the same):

    .venv/bin/python bench/bench_journey.py [--customers 500] [--concurrency 20] [--warmup 10]
        [--rounds 1] [--output bench/results/journey.json] [--no-pin] [--py-spy] [--profile]
        [--baseline-as-installed]

It exits 1 when a customer's feedback is lost or duplicated in either bot, else 0 (whatever the figures).

It needs `redis-server` on PATH and tornado in the venv (python-telegram-bot's webhook server, which the
baseline uses: `pip install "python-telegram-bot[webhooks]"`).

What it runs, in one go, one bot after the other (`--rounds N`: N times, parole then the baseline each time,
the median round's figures reported in full with every round's ratio), on this machine only (127.0.0.1):

1. **parole**: `bench/parole_launcher.py`, which runs `parole serve --webhook` (the code of
   `python -m bot serve --webhook`) in its own process with Redis counters, against its own
   private `redis-server` (append-only file on, `appendfsync everysec`, as parole's embedded Redis runs).
2. **baseline**: `bench/baseline_bot.py`, the same journey written the idiomatic python-telegram-bot way:
   `ConversationHandler` (RATING, REASON, SUGGESTION), `PicklePersistence` with its default settings,
   the default httpx request backend, default handler and application settings (`block=True`, updates
   handled one at a time), `Application.run_webhook`. Same texts, keyboards and Bot API calls.

Each gets a fresh Bot API emulator (`emulator.BotApiEmulator`) in this process, which delivers the
updates to the bot's webhook. Customers (a new Telegram user each, venues taken in turn among 10, ratings
1 to 5 in turn) go through the whole journey: `/start <venue token>`, tap a star, type a reason, type a
suggestion. Each waits for the bot's answer to a step before the next one; up to `--concurrency` customers
at once. `--warmup` customers go first, unmeasured (they are checked in the store like the others).

The figures, for each bot, over the measured customers only:

- `conversations/s (wall)`: completed conversations / wall-clock seconds of the load, the emulator and the
  customers in this process sharing the machine with the bot and redis-server (see --pin below).
- `bot CPU s (load)`: user + system CPU seconds of the bot's process during the load, from
  /proc/<pid>/stat (10 ms resolution). `conversations/s per core` = completed conversations / that: how
  many conversations one core busy with the bot would serve. The ratio parole/baseline of it is the
  project's target (>= 2). `... incl. stop` adds the CPU the process used from the end of the load to its
  exit (from wait4): that is where PicklePersistence writes what the load changed (its loop writes every
  60 s and at stop), so this one charges the baseline for its persistence too.
- `update latency p50/p99 ms`: from the moment a customer's update is handed to the emulator to the moment
  the emulator records the bot's last Bot API call of its answer to that update (the message sent or
  edited and, for a button, the callback answer). Both bots are measured the same way, although parole's
  webhook answers only once the answer is made and python-telegram-bot's answers 200 at once.
- `Bot API calls per feedback`: every Bot API call the emulator answered during the load / completed
  conversations, with the calls by method. `Bot API errors`: calls answered with an error.
- `Redis round trips per update` (parole): round trips counted in the bot process during the load /
  updates delivered (see `parole_launcher.py`: one per `send_packed_command` of redis-py, so a pipeline
  counts as one, and one per `RedisLane.execute` of the hot path's lean connection), made in the context
  of a webhook request: the update path, what the target is about.
  `whole process` adds what the process does in the background meanwhile (abandon sweeper, staff
  notifier...). `of which answers' slot reservations`: the round trips in which the outbound limiter reserved
  slots for answers (`Outbound.reservations`), and `answers' slots dropped unused`: slots it reserved and left
  unused (`Outbound.dropped`), both per update (`-` for a limiter that does not count them).
  `Redis commands per update`: commands packed by redis-py, the same two ways, then the
  commands redis-server executed (its `INFO commandstats`, the benchmark's own INFO calls aside).
  `redis-server CPU s`: its own CPU during the load (`INFO cpu`), not counted in the per-core figure.
- `peak RSS MB`: the bot process's peak resident memory over its life (wait4's ru_maxrss).
- `driver+emulator CPU s`: this process's CPU during the load, for context.
- `stored complete`, `lost`, `duplicated`: checked in each bot's store once it has stopped (parole: Redis,
  `Store.iter_feedback`; baseline: its pickle file, through `PicklePersistence`), for every customer,
  warm-up included: exactly one feedback, complete, with the rating, reason and suggestion the customer
  gave. `lost` counts customers without such a feedback, `duplicated` the feedback stored beyond one.
- `same messages as parole`: whether the baseline sent the first customer the same texts, parse modes and
  keyboards as parole did.

With 2 CPUs or more, the bot runs alone on the last CPU and everything else (this process, redis-server,
py-spy) on the others (`--no-pin` to let the kernel place them): its CPU time is then not disturbed by the
driver sharing its core, and when the bot is the bottleneck the wall-clock figure is what one core serves.

The figures also go to `--output` as JSON, and each bot's log to `bench/results/<bot>-bot.log`.
`--py-spy` samples both bots with py-spy (`.venv/bin/pip install py-spy`) during the load, writes
`bench/results/<bot>.pyspy.txt` (collapsed stacks) and prints where their time goes, by package and by
function; its overhead is small. `--profile` runs both bots under cProfile instead (`<bot>.prof`), which
inflates their CPU figures: compare the two bots with each other only. `--baseline-as-installed` keeps a
packaging accident in the baseline (httpcore importing the missing `sniffio` on every request; see
`baseline_bot.py`), which otherwise the baseline works around so as not to be slowed down by it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import pstats
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from redis.asyncio import Redis
from telegram.ext import PicklePersistence

from bot.storage.embedded import EmbeddedRedis, free_port
from bot.storage.store import Store
from emulator import ApiCall, BotApiEmulator, Delivery, EmulatedUser

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SECRET = "bench-webhook-secret-" + secrets.token_hex(8)
BRAND = "bench"
BRAND_NAME = "Bench & Co"
VENUE_NAMES = (
    "Quick Massy Gare", "Quick Paris Nation", "Café & Thé Lyon Part-Dieu", "Boulangerie Saint-Michel",
    "Agence Crédit Versailles", "Gare de Lille Flandres", "Pharmacie du Marché", "Librairie Les Mots",
    "Pizzeria Napoli Nantes", "Hôtel du Port Marseille",
)  # fmt: skip
THANKS_PREFIX = "Merci pour votre avis !"
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText"})
STEP_TIMEOUT = 30.0  # seconds a customer waits for the bot's answer to one step
START_TIMEOUT = 60.0  # seconds a bot may take to start and register its webhook
STOP_TIMEOUT = 60.0  # seconds a bot may take to stop (the baseline writes its pickle file then)
STEPS = ("start", "rate", "reason", "suggestion")
TARGET_RATIO = 2.0
TARGET_CALLS = 5.0
TARGET_ROUND_TRIPS = 3.0


# --- what the customers do ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Venue:
    token: str
    name: str


@dataclass(frozen=True, slots=True)
class Customer:
    index: int
    user: EmulatedUser
    venue: Venue
    rating: int
    reason: str
    suggestion: str


def customers(emulator: BotApiEmulator, venues: list[Venue], count: int, first: int = 0) -> list[Customer]:
    result = []
    for index in range(first, first + count):
        user = emulator.add_user(f"Client{index}", language_code="fr")
        result.append(
            Customer(
                index=index,
                user=user,
                venue=venues[index % len(venues)],
                rating=index % 5 + 1,
                reason=(
                    f"Client {index} : accueil souriant, mais {index % 7 + 3} minutes d'attente à la caisse "
                    "et la salle était un peu bruyante à midi."
                ),
                suggestion=f"Ouvrir une deuxième caisse le midi, et des bornes de commande (idée n°{index}).",
            )
        )
    return result


class StepFailed(Exception):
    pass


class _NotifyingList(list[ApiCall]):
    """The emulator's list of calls, telling the watch of each call as the emulator records it."""

    def __init__(self, items: Iterable[ApiCall], on_append: Callable[[ApiCall], None]) -> None:
        super().__init__(items)
        self._on_append = on_append

    def append(self, call: ApiCall, /) -> None:
        super().append(call)
        self._on_append(call)


def _as_int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


class CallWatch:
    """Learns of each Bot API call the moment the emulator records it, so a customer can wait for the bot's
    answer to their update whether the webhook answered before handling the update or after.

    The emulator has no public hook for that yet: the watch wraps its endpoint's list of calls.
    """

    def __init__(
        self, emulator: BotApiEmulator, *, step_timeout: float = STEP_TIMEOUT, max_in_flight: int | None = None
    ) -> None:
        """`step_timeout`: how long a customer waits for the answer to a step; `max_in_flight`: at most that
        many webhook deliveries at once (Telegram's `max_connections`), the others queued in order."""
        endpoint = emulator._endpoint
        if not isinstance(endpoint.calls, list):
            raise RuntimeError("the emulator changed: its endpoint keeps no list of calls")
        self._messages: dict[int, int] = {}
        self._last_at: dict[int, float] = {}
        self._last_text: dict[int, str] = {}
        self._answered: dict[str, float] = {}
        self._waiters: dict[int, tuple[int, asyncio.Future[float]]] = {}
        self._query_waiters: dict[str, asyncio.Future[float]] = {}
        self.errors: list[ApiCall] = []
        self.queries: dict[int, list[str]] = {}  # the callback queries of each chat's button taps
        self.webhook_latencies: list[float] = []  # seconds each webhook delivery took, queueing aside
        self.step_timeout = step_timeout
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        endpoint.calls = _NotifyingList(endpoint.calls, self._on_call)

    def _on_call(self, call: ApiCall) -> None:
        now = time.monotonic()
        if call.status != 200:
            self.errors.append(call)
            return
        if call.method in MESSAGE_METHODS:
            chat = _as_int(call.params.get("chat_id"))
            if chat is None:
                return
            count = self._messages[chat] = self._messages.get(chat, 0) + 1
            self._last_at[chat] = now
            self._last_text[chat] = str(call.params.get("text", ""))
            waiter = self._waiters.get(chat)
            if waiter is not None and count >= waiter[0] and not waiter[1].done():
                waiter[1].set_result(now)
        elif call.method == "answerCallbackQuery":
            query_id = str(call.params.get("callback_query_id"))
            self._answered[query_id] = now
            future = self._query_waiters.get(query_id)
            if future is not None and not future.done():
                future.set_result(now)

    def messages(self, chat: int) -> int:
        return self._messages.get(chat, 0)

    def last_text(self, chat: int) -> str:
        return self._last_text.get(chat, "")

    async def wait_message(self, chat: int, count: int) -> float:
        """When the chat's `count`-th message (sent or edited) was recorded."""
        if self._messages.get(chat, 0) >= count:
            return self._last_at[chat]
        future = asyncio.get_running_loop().create_future()
        self._waiters[chat] = (count, future)
        try:
            return await asyncio.wait_for(future, self.step_timeout)
        except TimeoutError:
            raise StepFailed(f"chat {chat}: no answer within {self.step_timeout:.0f} s") from None
        finally:
            del self._waiters[chat]

    async def wait_query(self, query_id: str) -> float:
        """When the callback query was answered."""
        if query_id in self._answered:
            return self._answered[query_id]
        future = asyncio.get_running_loop().create_future()
        self._query_waiters[query_id] = future
        try:
            return await asyncio.wait_for(future, self.step_timeout)
        except TimeoutError:
            raise StepFailed(f"callback query {query_id} not answered within {self.step_timeout:.0f} s") from None
        finally:
            del self._query_waiters[query_id]

    async def step(self, chat: int, act: Callable[[], Awaitable[Delivery]], *, button: bool = False) -> float:
        """Do one customer action and wait for the bot's answer; return the update latency in seconds."""
        expected = self.messages(chat) + 1
        start = time.monotonic()
        async with self._slots or contextlib.nullcontext():
            posted = time.monotonic()
            delivery = await act()
            self.webhook_latencies.append(time.monotonic() - posted)
        if delivery.status is not None and delivery.status != 200:
            raise StepFailed(f"chat {chat}: the webhook answered {delivery.status}")
        end = await self.wait_message(chat, expected)
        if button:
            query_id = str((delivery.update.get("callback_query") or {}).get("id"))
            self.queries.setdefault(chat, []).append(query_id)
            end = max(end, await self.wait_query(query_id))
        return end - start


async def journey(emulator: BotApiEmulator, watch: CallWatch, customer: Customer) -> list[float]:
    """One customer's whole journey; the latency of each step, in seconds."""
    user, chat = customer.user, customer.user.id
    latencies = [await watch.step(chat, lambda: emulator.send_text(user, f"/start {customer.venue.token}"))]
    prompt = emulator.bot_messages(chat)[-1]
    latencies.append(
        await watch.step(chat, lambda: emulator.click(user, prompt, f"rate:{customer.rating}"), button=True)
    )
    latencies.append(await watch.step(chat, lambda: emulator.send_text(user, customer.reason)))
    latencies.append(await watch.step(chat, lambda: emulator.send_text(user, customer.suggestion)))
    if not watch.last_text(chat).startswith(THANKS_PREFIX):
        raise StepFailed(f"chat {chat}: the journey did not end with the thanks: {watch.last_text(chat)[:80]!r}")
    return latencies


@dataclass
class LoadResult:
    wall: float = 0.0
    completed: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})


async def drive(emulator: BotApiEmulator, watch: CallWatch, people: list[Customer], concurrency: int) -> LoadResult:
    """Every customer through the journey, `concurrency` at a time; no new customer once a tenth of them (at
    least 10) failed, so that a broken bot ends the run instead of timing out every customer."""
    result = LoadResult()
    queue: Iterator[Customer] = iter(people)
    give_up = max(10, len(people) // 10)

    async def worker() -> None:
        for customer in queue:
            if len(result.failures) >= give_up:
                return
            try:
                latencies = await journey(emulator, watch, customer)
            except Exception as exc:  # a failed customer is counted, the others go on
                result.failures.append(f"customer {customer.index}: {exc!r}")
                continue
            result.completed += 1
            for step, latency in zip(STEPS, latencies, strict=True):
                result.latencies[step].append(latency)

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    result.wall = time.monotonic() - start
    return result


# --- measuring a process ------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a running process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0.0 for no value)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Exit:
    code: int
    cpu: float  # user + system seconds over the whole life of the process
    max_rss_kb: int


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Placement:
    """With --pin: the bot alone on the last CPU, this process (driver and emulator) and redis-server on the
    others, so that the bot's CPU time is not disturbed by the rest sharing its core."""

    bot: set[int]
    others: set[int]
    everything: set[int]

    @classmethod
    def choose(cls, pin: bool) -> Placement:
        everything = os.sched_getaffinity(0)
        if not pin or len(everything) < 2:
            return cls(everything, everything, everything)
        bot = {max(everything)}
        return cls(bot, everything - bot, everything)

    @contextlib.contextmanager
    def for_the_bot(self) -> Iterator[None]:
        """A process started inside runs on the bot's CPU (a child inherits the affinity it is forked with);
        this process moves to the others after."""
        os.sched_setaffinity(0, self.bot)
        try:
            yield
        finally:
            os.sched_setaffinity(0, self.others)

    def release(self) -> None:
        os.sched_setaffinity(0, self.everything)


class BotProcess:
    """A bot running in its own process, its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name = name
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self.pid = self.process.pid
        self.exit: Exit | None = None

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    async def wait_ready(self, emulator: BotApiEmulator, port: int) -> None:
        """Until the bot has registered its webhook with the emulator and listens on its port."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start ({self.process.returncode}):\n{self.log_tail()}")
            if emulator.webhook_url is not None and port_open(port):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} did not register its webhook within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    async def stop(self) -> Exit:
        """SIGTERM, then wait (bounded) for the exit, reaping it with wait4 to read its CPU and peak memory."""
        if self.exit is not None:
            return self.exit
        try:
            if self.process.returncode is None:
                self.process.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + STOP_TIMEOUT
                while True:
                    pid, status, usage = os.wait4(self.pid, os.WNOHANG)
                    if pid == self.pid:
                        self.process.returncode = os.waitstatus_to_exitcode(status)
                        self.exit = Exit(self.process.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
                        break
                    if time.monotonic() > deadline:
                        self.process.kill()
                        _, status, usage = os.wait4(self.pid, 0)
                        self.process.returncode = os.waitstatus_to_exitcode(status)
                        self.exit = Exit(-9, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
                        break
                    await asyncio.sleep(0.05)
            else:
                self.exit = Exit(self.process.returncode, 0.0, 0)
        finally:
            self._log_file.close()
        return self.exit


async def launcher_counters(pid: int, stats_file: Path) -> dict[str, float]:
    """The counters of a bot run by `parole_launcher.py`, which writes them to `stats_file` on SIGUSR1."""
    stats_file.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not stats_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the parole launcher wrote no counters on SIGUSR1")
        await asyncio.sleep(0.01)
    stats = json.loads(stats_file.read_text())
    return {
        "round_trips": float(stats["round_trips"]),
        "commands": float(stats["commands"]),
        "update_round_trips": float(stats["update_round_trips"]),
        "update_commands": float(stats["update_commands"]),
        "updates": float(stats["updates"]),
        "webhook_tagged": float(stats["webhook_tagged"]),
        **{name: float(stats[name]) for name in ("outbound_reservations", "outbound_dropped") if name in stats},
    }


async def redis_server_counters(redis: Redis) -> dict[str, float]:
    """Commands redis-server executed (the benchmark's own INFO calls aside) and its CPU seconds."""
    commandstats = await redis.info("commandstats")
    commands = sum(int(value["calls"]) for name, value in commandstats.items() if name != "cmdstat_info")
    cpu = await redis.info("cpu")
    return {"server_commands": float(commands), "redis_cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])}


class PySpy:
    """py-spy sampling a bot process during the load (far less overhead than cProfile), as collapsed stacks."""

    def __init__(self, process: subprocess.Popen[bytes], output: Path) -> None:
        self.process = process
        self.output = output

    @classmethod
    def start(cls, bot: BotProcess, output: Path) -> PySpy:
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(binary).exists():
            raise RuntimeError("--py-spy needs py-spy: .venv/bin/pip install py-spy")
        output.parent.mkdir(parents=True, exist_ok=True)
        argv = [binary, "record", "--pid", str(bot.pid), "--rate", "250", "--format", "raw", "--output", str(output)]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # py-spy attaches
        return cls(process, output)

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(self.process.wait, 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _package(frame: str) -> str:
    """A py-spy frame "function (module/path.py:line)" as its top-level package or module."""
    path = frame[frame.rfind("(") + 1 :].rsplit(":", 1)[0]
    if path.startswith("<"):
        return path
    return path.split("/", 1)[0].removesuffix(".py")


def py_spy_summary(path: Path, limit: int = 20) -> str:
    """Where the samples fall: by package (self time), then the functions with most self and total time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if "(" in frame]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return "no samples"
    lines = [f"{samples} samples; self time by package:"]
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in packages.most_common(limit)]
    lines.append("functions by self time:")
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in own.most_common(limit)]
    lines.append("functions by total time (self and callees):")
    lines += [f"  {100 * n / samples:5.1f}%  {name}" for name, n in total.most_common(limit + 15)]
    return "\n".join(lines)


# --- the two bots -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """One feedback as a bot stored it."""

    chat_id: int
    rating: int
    reason: str | None
    suggestion: str | None
    complete: bool


class Target:
    """A bot under test: how to give it venues, start it, count its extras and read back its feedback."""

    name = ""

    async def prepare(self, tmp: Path) -> list[Venue]:
        raise NotImplementedError

    def command(self, emulator: BotApiEmulator, port: int, tmp: Path, profile: Path | None) -> list[str]:
        raise NotImplementedError

    def environment(self, emulator: BotApiEmulator, port: int) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PAROLE_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    async def counters(self, bot: BotProcess) -> dict[str, float]:
        return {}

    async def pin(self, cpus: set[int]) -> None:
        """Keep the bot's helpers (redis-server) on these CPUs."""
        return None

    async def stored(self) -> list[Stored]:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class Parole(Target):
    name = "parole"

    def __init__(self) -> None:
        self.redis_server: EmbeddedRedis | None = None
        self.redis: Redis | None = None
        self.stats_file: Path | None = None

    async def prepare(self, tmp: Path) -> list[Venue]:
        self.redis_server = EmbeddedRedis(tmp / "redis", port=free_port(), appendonly=True)
        await asyncio.to_thread(self.redis_server.start)
        self.redis = Redis.from_url(self.redis_server.url, decode_responses=True)
        store = Store(self.redis)
        await store.add_brand(BRAND, BRAND_NAME)
        venues = []
        for name in VENUE_NAMES:
            venue = await store.add_venue(BRAND, name)
            venues.append(Venue(venue.token, venue.name))
        return venues

    def command(self, emulator: BotApiEmulator, port: int, tmp: Path, profile: Path | None) -> list[str]:
        self.stats_file = tmp / "parole-stats.json"
        argv = [sys.executable, str(BENCH / "parole_launcher.py"), "--stats", str(self.stats_file)]
        if profile is not None:
            argv += ["--profile", str(profile)]
        return [*argv, "--", "serve", "--webhook", "--host", "127.0.0.1", "--port", str(port)]

    def environment(self, emulator: BotApiEmulator, port: int) -> dict[str, str]:
        assert self.redis_server is not None
        env = super().environment(emulator, port)
        env.update(
            PAROLE_TELEGRAM_TOKEN=emulator.token,
            PAROLE_TELEGRAM_API_URL=emulator.base_url,
            PAROLE_REDIS_URL=self.redis_server.url,
            PAROLE_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            PAROLE_WEBHOOK_SECRET=SECRET,
            PAROLE_BOT_USERNAME=emulator.bot_username,
            # The emulator is not Telegram: the bot's budget is raised so the figures are the bot's capacity,
            # with its limiter at work (each chat's burst and pace, the shared state read once a second).
            PAROLE_OUTBOUND_PER_SECOND="100000",
        )
        return env

    async def pin(self, cpus: set[int]) -> None:
        assert self.redis is not None
        server = await self.redis.info("server")
        os.sched_setaffinity(int(server["process_id"]), cpus)

    async def counters(self, bot: BotProcess) -> dict[str, float]:
        assert self.redis is not None and self.stats_file is not None
        return {**await launcher_counters(bot.pid, self.stats_file), **await redis_server_counters(self.redis)}

    async def stored(self) -> list[Stored]:
        assert self.redis is not None
        return [
            Stored(
                chat_id=row["customer"].chat_id,
                rating=int(row["rating"]),
                reason=row["reason"],
                suggestion=row["suggestion"],
                complete=row["status"] == "complete",
            )
            async for row in Store(self.redis).iter_feedback(BRAND)
        ]

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
            self.redis = None
        if self.redis_server is not None:
            await asyncio.to_thread(self.redis_server.stop)
            self.redis_server = None


class Baseline(Target):
    name = "baseline"

    def __init__(self, *, as_installed: bool = False) -> None:
        self.as_installed = as_installed
        self.pickle_file: Path | None = None
        self.venues_file: Path | None = None

    async def prepare(self, tmp: Path) -> list[Venue]:
        venues = [Venue(secrets.token_urlsafe(16), name) for name in VENUE_NAMES]
        self.venues_file = tmp / "venues.json"
        self.venues_file.write_text(json.dumps({v.token: v.name for v in venues}, ensure_ascii=False))
        self.pickle_file = tmp / "baseline.pickle"
        return venues

    def command(self, emulator: BotApiEmulator, port: int, tmp: Path, profile: Path | None) -> list[str]:
        assert self.pickle_file is not None and self.venues_file is not None
        argv = [
            sys.executable, str(BENCH / "baseline_bot.py"),
            "--token", emulator.token, "--base-url", emulator.base_url, "--port", str(port),
            "--webhook-url", f"http://127.0.0.1:{port}/telegram", "--secret", SECRET,
            "--persistence", str(self.pickle_file), "--venues", str(self.venues_file),
        ]  # fmt: skip
        if self.as_installed:
            argv.append("--as-installed")
        return [*argv, "--profile", str(profile)] if profile is not None else argv

    async def stored(self) -> list[Stored]:
        assert self.pickle_file is not None
        if not self.pickle_file.exists():
            return []
        user_data = await PicklePersistence(filepath=self.pickle_file).get_user_data()
        return [
            Stored(
                chat_id=user_id,
                rating=int(item["rating"]),
                reason=item["reason"],
                suggestion=item["suggestion"],
                complete=item["status"] == "complete",
            )
            for user_id, data in user_data.items()
            for item in data.get("feedback", [])
        ]


# --- one bot's run ------------------------------------------------------------------------------


def check_store(stored: list[Stored], people: list[Customer]) -> dict[str, int]:
    """Exactly one complete feedback per customer, with what they said."""
    by_chat: dict[int, list[Stored]] = {}
    for row in stored:
        by_chat.setdefault(row.chat_id, []).append(row)
    lost = duplicated = 0
    for customer in people:
        rows = by_chat.pop(customer.user.id, [])
        good = [
            row
            for row in rows
            if row.complete
            and row.rating == customer.rating
            and row.reason == customer.reason
            and row.suggestion == customer.suggestion
        ]
        lost += not good
        duplicated += max(0, len(rows) - 1)
    return {
        "stored": len(stored),
        "stored_complete": sum(row.complete for row in stored),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": sum(len(rows) for rows in by_chat.values()),
    }


def chat_calls(emulator: BotApiEmulator, watch: CallWatch, chat: int) -> list[dict[str, Any]]:
    """The Bot API calls the bot made for one chat, in order, ids of messages, callback queries and feedbacks
    (in the contact and news buttons' data) aside."""
    queries = set(watch.queries.get(chat, []))
    seen: list[dict[str, Any]] = []
    for call in emulator.calls:
        if call.method in MESSAGE_METHODS and _as_int(call.params.get("chat_id")) == chat:
            params = {k: v for k, v in call.params.items() if k != "message_id"}
            if "reply_markup" in params:  # compared as JSON values: the order of keys is the client's affair
                markup = params["reply_markup"]
                markup = json.loads(markup) if isinstance(markup, str) else markup
                params["reply_markup"] = re.sub(
                    r"(news:in:|contact:)[0-9a-f]+", r"\1ID", json.dumps(markup, sort_keys=True)
                )
            seen.append({"method": call.method, **params})
        elif call.method == "answerCallbackQuery" and call.params.get("callback_query_id") in queries:
            seen.append({"method": call.method, **{k: v for k, v in call.params.items() if k != "callback_query_id"}})
    return seen


async def run_bot(target: Target, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start the bot, warm it up, measure the load, stop it, check its store."""
    tmp = workdir / target.name
    tmp.mkdir()
    placement = Placement.choose(args.pin)
    profile = RESULTS / f"{target.name}.prof" if args.profile else None
    try:
        venues = await target.prepare(tmp)
        async with BotApiEmulator() as emulator:
            watch = CallWatch(emulator)
            port = free_port()
            with placement.for_the_bot():
                bot = BotProcess(
                    target.name,
                    target.command(emulator, port, tmp, profile),
                    target.environment(emulator, port),
                    cwd=tmp,
                    log=tmp / "bot.log",
                )
            await target.pin(placement.others)
            try:
                await bot.wait_ready(emulator, port)
                warm = customers(emulator, venues, args.warmup)
                measured = customers(emulator, venues, args.customers, first=args.warmup)
                warmup = await drive(emulator, watch, warm, args.concurrency)
                first_calls = len(emulator.calls)
                before = await target.counters(bot)
                spy = PySpy.start(bot, RESULTS / f"{target.name}.pyspy.txt") if args.py_spy else None
                (user_before, sys_before), own_before = process_cpu(bot.pid), own_cpu()
                load = await drive(emulator, watch, measured, args.concurrency)
                (user_after, sys_after), own_after = process_cpu(bot.pid), own_cpu()
                if spy is not None:
                    await spy.stop()
                after = await target.counters(bot)
                load_calls = emulator.calls[first_calls:]
            finally:
                exit_ = await bot.stop()
                RESULTS.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bot.log, RESULTS / f"{target.name}-bot.log")
            messages = chat_calls(emulator, watch, warm[0].user.id) if warm else []
            api_errors = len(watch.errors)
        check = check_store(await target.stored(), warm + measured)
    finally:
        placement.release()
        await target.close()
    cpu_user, cpu_sys = user_after - user_before, sys_after - sys_before
    cpu_load = cpu_user + cpu_sys
    cpu_total = max(cpu_load, exit_.cpu - user_before - sys_before)
    updates = len(STEPS) * len(measured)
    all_latencies = [value for values in load.latencies.values() for value in values]
    completed = load.completed
    by_method = Counter(call.method for call in load_calls)
    result: dict[str, Any] = {
        "customers": len(measured),
        "warmup_customers": len(warm),
        "warmup_failures": len(warmup.failures),
        "completed": completed,
        "failed": len(load.failures),
        "failures": (warmup.failures + load.failures)[:10],
        "updates": updates,
        "wall_s": load.wall,
        "conversations_per_s": completed / load.wall if load.wall else 0.0,
        "bot_cpu_s": cpu_load,
        "bot_cpu_user_s": cpu_user,
        "bot_cpu_sys_s": cpu_sys,
        "conversations_per_s_per_core": completed / cpu_load if cpu_load else 0.0,
        "bot_cpu_incl_stop_s": cpu_total,
        "conversations_per_s_per_core_incl_stop": completed / cpu_total if cpu_total else 0.0,
        "bot_cpu_ms_per_update": 1000 * cpu_load / updates if updates else 0.0,
        "latency_p50_ms": 1000 * percentile(all_latencies, 0.50),
        "latency_p99_ms": 1000 * percentile(all_latencies, 0.99),
        "latency_max_ms": 1000 * max(all_latencies, default=0.0),
        "latency_p50_ms_by_step": {step: 1000 * percentile(v, 0.50) for step, v in load.latencies.items()},
        "bot_api_calls": len(load_calls),
        "bot_api_calls_per_feedback": len(load_calls) / completed if completed else 0.0,
        "bot_api_calls_by_method": dict(sorted(by_method.items())),
        "bot_api_errors": api_errors,
        "peak_rss_mb": exit_.max_rss_kb / 1024,
        "exit_code": exit_.code,
        "driver_emulator_cpu_s": own_after - own_before,
        **check,
        "first_customer_messages": messages,
    }
    if "round_trips" in before:

        def per_update(name: str) -> float:
            return (after[name] - before[name]) / updates

        result["redis_webhook_path_told_apart"] = bool(after["webhook_tagged"])
        if after["webhook_tagged"]:
            result["redis_round_trips_per_update"] = per_update("update_round_trips")
            result["redis_commands_per_update"] = per_update("update_commands")
        else:  # the webhook path could not be told apart: the whole process's figures stand for it
            result["redis_round_trips_per_update"] = per_update("round_trips")
            result["redis_commands_per_update"] = per_update("commands")
        result["redis_round_trips_per_update_whole_process"] = per_update("round_trips")
        result["redis_commands_per_update_whole_process"] = per_update("commands")
        result["redis_server_commands_per_update"] = per_update("server_commands")
        result["redis_cpu_s"] = after["redis_cpu"] - before["redis_cpu"]
        for name in ("outbound_reservations", "outbound_dropped"):
            if name in after:
                result[f"{name}_per_update"] = per_update(name)
    if profile is not None:
        result["profile"] = str(profile)
    if args.py_spy:
        result["py_spy"] = str(RESULTS / f"{target.name}.pyspy.txt")
    return result


# --- the report ---------------------------------------------------------------------------------


def _fmt(value: object, digits: int = 1) -> str:
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return "-" if value is None else str(value)


def report(results: dict[str, Any], out: TextIO = sys.stdout) -> None:
    parole, baseline = results["parole"], results["baseline"]
    config = results["config"]
    rows: list[tuple[str, str, int]] = [
        ("customers measured (+ warm-up)", "customers", 0),
        ("completed conversations", "completed", 0),
        ("failed conversations", "failed", 0),
        ("wall seconds", "wall_s", 2),
        ("conversations/s (wall)", "conversations_per_s", 1),
        ("bot CPU s (load)", "bot_cpu_s", 2),
        ("  of which user", "bot_cpu_user_s", 2),
        ("  of which system", "bot_cpu_sys_s", 2),
        ("conversations/s per core", "conversations_per_s_per_core", 1),
        ("bot CPU ms per update", "bot_cpu_ms_per_update", 2),
        ("bot CPU s incl. stop", "bot_cpu_incl_stop_s", 2),
        ("conversations/s per core incl. stop", "conversations_per_s_per_core_incl_stop", 1),
        ("update latency p50 ms", "latency_p50_ms", 1),
        ("update latency p99 ms", "latency_p99_ms", 1),
        ("update latency max ms", "latency_max_ms", 1),
        ("Bot API calls per feedback", "bot_api_calls_per_feedback", 2),
        ("Bot API errors", "bot_api_errors", 0),
        ("Redis round trips per update", "redis_round_trips_per_update", 2),
        ("  whole process (+ background)", "redis_round_trips_per_update_whole_process", 2),
        ("  of which answers' slot reservations", "outbound_reservations_per_update", 3),
        ("answers' slots dropped unused / update", "outbound_dropped_per_update", 2),
        ("Redis commands per update", "redis_commands_per_update", 2),
        ("  whole process (+ background)", "redis_commands_per_update_whole_process", 2),
        ("  executed by redis-server", "redis_server_commands_per_update", 2),
        ("redis-server CPU s (load)", "redis_cpu_s", 2),
        ("peak RSS MB", "peak_rss_mb", 1),
        ("driver+emulator CPU s (load)", "driver_emulator_cpu_s", 2),
        ("stored feedback (complete)", "stored", 0),
        ("lost", "lost", 0),
        ("duplicated", "duplicated", 0),
    ]
    print(
        f"Customer journey: {config['customers']} customers (+{config['warmup']} warm-up), concurrency "
        f"{config['concurrency']}, {config['cpus']} CPU(s), python {config['python']}",
        file=out,
    )
    if config["profile"]:
        print("PROFILED RUN: cProfile inflates the CPU figures; compare the two bots with each other only.", file=out)
    print(f"{'':40} {'parole':>14} {'baseline':>14}", file=out)
    for label, key, digits in rows:
        cells = []
        for side in (parole, baseline):
            value = side.get(key)
            if key == "customers":
                cells.append(f"{value} (+{side['warmup_customers']})")
            elif key == "stored":
                cells.append(f"{value} ({side['stored_complete']})")
            else:
                cells.append(_fmt(float(value) if isinstance(value, int) and digits else value, digits))
        print(f"{label:40} {cells[0]:>14} {cells[1]:>14}", file=out)
    for name, side in (("parole", parole), ("baseline", baseline)):
        methods = ", ".join(f"{m} {n}" for m, n in side["bot_api_calls_by_method"].items())
        steps = ", ".join(f"{s} {v:.1f}" for s, v in side["latency_p50_ms_by_step"].items())
        print(f"{name}: Bot API calls during the load: {methods}", file=out)
        print(f"{name}: latency p50 ms by step: {steps}", file=out)
        for failure in side["failures"][:3]:
            print(f"{name}: FAILED {failure}", file=out)
    print(
        "(Redis round trips: redis-py send_packed_command calls and RedisLane.execute calls in the bot process, "
        "a pipeline counting one, "
        "in the webhook requests' context, then in the whole process; commands: redis-py pack_command calls, "
        "then redis-server's INFO commandstats; latency: update handed to the emulator -> the bot's last call "
        "of its answer recorded)",
        file=out,
    )
    if parole.get("redis_webhook_path_told_apart") is False:
        told = "NOTE: bot.channels.telegram.webhook.receive_update not found: the Redis figures are the whole process's"
        print(told, file=out)
    same = results["same_messages"]
    print(f"same messages as parole (first customer): {'yes' if same else 'NO'}", file=out)
    ratio, ratio_stop = results["ratio_per_core"], results["ratio_per_core_incl_stop"]
    if len(results["ratios_per_core_by_round"]) > 1:
        each = ", ".join(f"{r:.2f}" for r in results["ratios_per_core_by_round"])
        print(f"ratio per core by round: {each}; the table shows the median round", file=out)
    print(
        f"ratio parole/baseline, conversations/s per core: {ratio:.2f} (incl. stop: {ratio_stop:.2f}); "
        f"wall conversations/s: {results['ratio_wall']:.2f}",
        file=out,
    )
    for line in results["targets"]:
        print(line, file=out)
    print(f"figures written to {results['output']}", file=out)


def targets(parole: dict[str, Any], ratio: float) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    calls = parole["bot_api_calls_per_feedback"]
    round_trips = parole.get("redis_round_trips_per_update", 0.0)
    return [
        f"target >= {TARGET_RATIO:.0f}x the baseline's conversations/s per core: {ratio:.2f}x, "
        f"{verdict(ratio >= TARGET_RATIO)}",
        f"target <= {TARGET_CALLS:.0f} Bot API calls per feedback: {calls:.2f}, {verdict(calls <= TARGET_CALLS)}",
        f"target <= {TARGET_ROUND_TRIPS:.0f} Redis round trips per update: {round_trips:.2f}, "
        f"{verdict(round_trips <= TARGET_ROUND_TRIPS)}",
    ]


def profile_summary(path: Path, limit: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """`--rounds` rounds, each running parole then the baseline: the machine's speed drifts by more than 15%
    from minute to minute here, so each round's ratio compares two runs a few seconds apart, and the
    median round is the one reported in full."""
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="parole-bench-") as workdir:
            parole = await run_bot(Parole(), args, Path(workdir))
            baseline = await run_bot(Baseline(as_installed=args.baseline_as_installed), args, Path(workdir))
        rounds.append((parole, baseline))
        if args.rounds > 1:
            print(
                f"round {number + 1}/{args.rounds}: ms CPU per update parole {parole['bot_cpu_ms_per_update']:.2f}, "
                f"baseline {baseline['bot_cpu_ms_per_update']:.2f}, ratio per core "
                f"{_ratio(parole['conversations_per_s_per_core'], baseline['conversations_per_s_per_core']):.2f}",
                flush=True,
            )
    ratios = [_ratio(p["conversations_per_s_per_core"], b["conversations_per_s_per_core"]) for p, b in rounds]
    parole, baseline = rounds[sorted(range(len(rounds)), key=ratios.__getitem__)[len(rounds) // 2]]
    ratio = _ratio(parole["conversations_per_s_per_core"], baseline["conversations_per_s_per_core"])
    return {
        "config": {
            "customers": args.customers,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "profile": args.profile,
            "baseline_as_installed": args.baseline_as_installed,
            "pinned": args.pin and len(os.sched_getaffinity(0)) >= 2,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "parole": parole,
        "baseline": baseline,
        "ratio_per_core": ratio,
        "ratios_per_core_by_round": ratios,
        "ratio_per_core_incl_stop": _ratio(
            parole["conversations_per_s_per_core_incl_stop"], baseline["conversations_per_s_per_core_incl_stop"]
        ),
        "ratio_wall": _ratio(parole["conversations_per_s"], baseline["conversations_per_s"]),
        "same_messages": parole["first_customer_messages"] == baseline["first_customer_messages"],
        "targets": targets(parole, ratio),
        "output": str(args.output),
    }


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="parole's customer journey over its webhook path against the idiomatic python-telegram-bot bot"
    )
    parser.add_argument("--customers", type=positive, default=500, help="measured customers (default 500)")
    parser.add_argument("--concurrency", type=positive, default=20, help="customers at once (default 20)")
    parser.add_argument("--warmup", type=positive, default=10, help="unmeasured customers first (default 10)")
    parser.add_argument(
        "--rounds", type=positive, default=1, help="parole then the baseline, N times (median round reported)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "journey.json", help="where to write the JSON")
    parser.add_argument("--profile", action="store_true", help="run both bots under cProfile and print the profiles")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the bot alone on the last CPU, the rest on the others (default: on, with 2 CPUs or more)",
    )
    parser.add_argument("--py-spy", action="store_true", help="sample both bots with py-spy during the load")
    parser.add_argument(
        "--baseline-as-installed",
        action="store_true",
        help="leave the baseline's httpcore trying `import sniffio` on every request (see baseline_bot.py)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile or args.py_spy:
        RESULTS.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    report(results)
    if args.profile:
        for name in ("parole", "baseline"):
            print(f"\n===== {name}: where the time goes (cProfile) =====")
            print(profile_summary(RESULTS / f"{name}.prof"))
    if args.py_spy:
        for name in ("parole", "baseline"):
            print(f"\n===== {name}: where the time goes (py-spy, during the load) =====")
            print(py_spy_summary(RESULTS / f"{name}.pyspy.txt"))
    ok = all(results[side]["lost"] == 0 and results[side]["duplicated"] == 0 for side in ("parole", "baseline"))
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
