"""The web chat's benchmark: one `parole serve --webhook` process serving Telegram's webhook and the web chat,
measured on both in the same run.

Run it from the project's root (about a minute with the defaults on 2 cores):

    .venv/bin/python bench/bench_web.py [--customers 300] [--concurrency 20] [--live 1000] [--replies 200]
        [--output bench/results/web.json]

It exits 1 when a feedback is lost or a staff reply never reaches its page, else 0 (whatever the figures).

What it runs, against a private `redis-server` and the Bot API emulator in this process:

1. **Telegram**: `--customers` Telegram customers through the whole journey over the webhook (as
   `bench_journey.py` does: `/start`, a star, the reason, the suggestion), `--concurrency` at a time.
2. **Web**: as many web customers through the same journey, as a browser with JavaScript on does it
   (`static/chat.js`): the chat page (`GET /c/{token}`, which greets), then each answer a form post asking
   for JSON (the star as its button, the reason and the suggestion typed), each waiting for its answer.
   Each customer keeps their cookie and has their own client address (127.1.x.y), as a phone would.
   For both: `turns/s per core` = turns (4 per journey) / the bot process's CPU seconds during the load
   (/proc/<pid>/stat), `journeys/s per core` likewise, and the latency of a turn p50/p99 (Telegram: from
   the update handed to the emulator to the bot's last Bot API call of its answer; web: the HTTP request).
3. **Live connections**: `--live` web customers (the web phase's, then new ones) each open the page's live
   connection (`GET /live`, server-sent events) and keep it; the bot process's resident memory
   (/proc/<pid>/status VmRSS) before and after gives the memory per 1,000 open connections.
4. **Staff replies**: with those connections open, a member of the brand's Telegram staff room answers
   `--replies` web feedbacks with `/reply N text`, one after the other; the time from the update handed to
   the emulator to the event reaching that customer's open page, p50/p99.

The staff room is linked as a brand room before the load; the process runs its staff notifier as deployed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_journey import (
    STEPS,
    BotProcess,
    CallWatch,
    Parole,
    Venue,
    customers,
    drive,
    percentile,
    process_cpu,
)
from bot.app import load_dialogs, staff_notifier, standalone_bot
from bot.botapi.outbound import Limits, Outbound
from bot.config import load_settings
from bot.staff.rooms import RoomStore
from bot.storage.embedded import free_port
from bot.storage.store import Store
from emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BRAND = "bench"
THANKS = "Merci pour votre avis"
_FIELD = re.compile(r'name="(csrf|turn|after)" value="([^"]*)"')
_BUTTON = re.compile(r'name="button" value="([^"]+)"')
_MESSAGE = re.compile(r'name="message" value="(\d+)"')


@dataclass
class WebCustomer:
    """One browser with JavaScript on: its cookie, the chat's form fields, what the page shows last."""

    index: int
    venue: Venue
    session: aiohttp.ClientSession
    base: str
    csrf: str = ""
    after: int = 0
    buttons: dict[str, int] = field(default_factory=dict)  # button data → the message it is on
    last_bot: str = ""

    @property
    def customer_key(self) -> str:
        """The stored customer: `web:` and a hash of the cookie (`bot.channels.web.pages`)."""
        [cookie] = [c.value for c in self.session.cookie_jar if c.key == "parole_customer"]
        return "web:" + hashlib.sha256(cookie.encode()).hexdigest()[:32]

    async def open(self) -> float:
        started = time.perf_counter()
        async with self.session.get(f"{self.base}/c/{self.venue.token}") as response:
            page = await response.text()
            if response.status != 200:
                raise RuntimeError(f"chat page: {response.status}")
        elapsed = time.perf_counter() - started
        fields = dict(_FIELD.findall(page))
        self.csrf, self.after = fields["csrf"], int(fields["after"])
        messages = _MESSAGE.findall(page)
        self.buttons = {data: int(messages[-1]) for data in _BUTTON.findall(page)} if messages else {}
        return elapsed

    async def post(self, **answer: str) -> float:
        form = {"csrf": self.csrf, "turn": str(secrets.randbelow(2**53)), "after": str(self.after), **answer}
        started = time.perf_counter()
        async with self.session.post(
            f"{self.base}/c/{self.venue.token}", data=form, headers={"Accept": "application/json"}
        ) as response:
            reply = await response.json()
        elapsed = time.perf_counter() - started
        if not reply.get("ok"):
            raise RuntimeError(f"post refused ({response.status}): {reply.get('error')}")
        for item in reply["events"]:
            self.after = max(self.after, int(item["n"]))
            if item["op"] == "add" and item["from"] == "bot":
                self.last_bot = str(item["html"])
                self.buttons = {data: int(item["id"]) for row in item["buttons"] for _, data in row}
        return elapsed

    async def journey(self, rating: int, reason: str, suggestion: str) -> list[float]:
        latencies = [await self.open()]
        [star] = [data for data in self.buttons if data.endswith(f":{rating}")]
        latencies.append(await self.post(button=star, message=str(self.buttons[star])))
        latencies.append(await self.post(text=reason))
        latencies.append(await self.post(text=suggestion))
        if THANKS not in self.last_bot:
            raise RuntimeError(f"web customer {self.index}: no thanks at the end: {self.last_bot[:80]!r}")
        return latencies


def progress(line: str) -> None:
    print(f"... {line}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def web_load(people: list[WebCustomer], concurrency: int) -> tuple[float, int, list[float], list[str]]:
    queue = iter(people)
    latencies: list[float] = []
    failures: list[str] = []
    completed = 0

    async def worker() -> None:
        nonlocal completed
        for person in queue:
            try:
                latencies.extend(
                    await person.journey(
                        person.index % 5 + 1,
                        f"Client web {person.index} : accueil souriant, mais {person.index % 7 + 3} minutes d'attente.",
                        f"Une deuxième caisse le midi (idée n°{person.index}).",
                    )
                )
                completed += 1
            except Exception as exc:  # counted; the others go on
                failures.append(f"web customer {person.index}: {exc!r}")

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic() - started, completed, latencies, failures


@dataclass
class Page:
    """An open live connection, reading its events as they come."""

    person: WebCustomer
    response: aiohttp.ClientResponse
    arrived: dict[str, float] = field(default_factory=dict)  # a marker in an event's text → when it came
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for raw in self.response.content:
            line = raw.decode()
            if line.startswith("data: "):
                text = json.loads(line[6:]).get("html") or ""
                for marker in re.findall(r"\[r(\d+)\]", text):
                    self.arrived.setdefault(marker, time.perf_counter())


async def open_live(person: WebCustomer) -> Page:
    response = await person.session.get(
        f"{person.base}/live?after={person.after}", timeout=aiohttp.ClientTimeout(total=None, sock_read=None)
    )
    if response.status != 200:
        raise RuntimeError(f"live: {response.status}")
    page = Page(person, response)
    page.task = asyncio.create_task(page.read())
    return page


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.live + 1024)), hard))
    target = Parole()
    venues = await target.prepare(workdir)
    assert target.redis is not None
    store = Store(target.redis)
    sessions: list[aiohttp.ClientSession] = []
    try:
        async with BotApiEmulator() as emulator:
            watch = CallWatch(emulator)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = target.environment(emulator, port)
            env["PAROLE_PUBLIC_URL"] = base
            bot = BotProcess("parole", target.command(emulator, port, workdir, None), env, workdir, workdir / "bot.log")
            try:
                await bot.wait_ready(emulator, port)
                member, admin = emulator.add_user("Julien"), emulator.add_user("Maria")
                room = emulator.add_group("Bench — équipe", members=[member], admins=[admin])
                invite = await RoomStore(target.redis).invite(BRAND)
                await emulator.send_text(admin, f"/link {invite.code}", chat=room)

                # 1. Telegram's webhook path.
                progress(f"Telegram: {args.customers} customers")
                await drive(emulator, watch, customers(emulator, venues, 10), args.concurrency)  # warm-up
                telegram = customers(emulator, venues, args.customers, first=10)
                cpu0 = sum(process_cpu(bot.pid))
                load = await drive(emulator, watch, telegram, args.concurrency)
                tg_cpu = sum(process_cpu(bot.pid)) - cpu0
                tg_latencies = [value for values in load.latencies.values() for value in values]

                # 2. The web chat.
                progress(f"web: {args.customers} customers")

                def browser(index: int) -> WebCustomer:
                    session = aiohttp.ClientSession(
                        cookie_jar=aiohttp.CookieJar(unsafe=True),
                        headers={"Accept-Language": "fr-FR,fr;q=0.9"},
                        # Each browser from its own address (127.0.0.0/8 is all loopback), as customers'
                        # phones are: the web chat's limits per client address stay as deployed.
                        connector=aiohttp.TCPConnector(
                            limit=0, local_addr=(f"127.1.{index % 40000 // 250}.{index % 250 + 2}", 0)
                        ),
                    )
                    sessions.append(session)
                    return WebCustomer(index, venues[index % len(venues)], session, base)

                await web_load([browser(-i - 1) for i in range(10)], args.concurrency)  # warm-up
                people = [browser(i) for i in range(args.customers)]
                cpu0 = sum(process_cpu(bot.pid))
                web_wall, web_done, web_latencies, web_failures = await web_load(people, args.concurrency)
                web_cpu = sum(process_cpu(bot.pid)) - cpu0

                # 3. Open live connections: the web phase's customers, then new ones (each greeted first).
                progress(f"live: {args.live} connections")
                extra = [browser(args.customers + i) for i in range(max(0, args.live - len(people)))]
                for start in range(0, len(extra), 50):
                    await asyncio.gather(*(p.open() for p in extra[start : start + 50]))
                holders = (people + extra)[: args.live]
                await asyncio.sleep(1.0)
                rss_before = rss_mb(bot.pid)
                pages: list[Page] = []
                for start in range(0, len(holders), 100):
                    pages += await asyncio.gather(*(open_live(p) for p in holders[start : start + 100]))
                await asyncio.sleep(2.0)
                rss_after = rss_mb(bot.pid)

                progress(f"staff: {args.replies} replies")
                # 4. Staff replies to web feedbacks, each to a page that is open. The staff notifier (which
                # `parole worker` runs, here without the analysis) opens the tickets and posts the cards.
                settings = load_settings(env, dotenv=None)
                # Its cards all go to the one staff room: at Telegram's 20 messages a minute per group, the
                # Telegram phase's cards alone would take half an hour. What is timed here is a reply reaching a
                # page, so the notifier's group pace is lifted (the emulator does not limit it).
                lifted = Outbound(target.redis, Limits(per_second=settings.outbound_per_second, group_per_minute=10**6))
                async with standalone_bot(settings, lifted) as staff_bot:
                    notifier = staff_notifier(settings, store, load_dialogs(settings), staff_bot, analysis_wait=0)
                    by_customer = {p.person.customer_key: p for p in pages}
                    tickets: dict[str, int] = {}
                    for _ in range(200):  # rounds until every web feedback has its ticket
                        await notifier.tick()
                        tickets = {
                            row["customer"].key: row["ticket"]
                            async for row in store.iter_feedback(BRAND)
                            if row["channel"] == "web" and row["ticket"] and row["customer"].key in by_customer
                        }
                        progress(f"staff: {len(tickets)} web tickets open")
                        if len(tickets) >= min(args.replies, web_done):
                            break
                reply_latencies: list[float] = []
                lost_replies = 0
                for n, (key, ticket) in enumerate(list(tickets.items())[: args.replies]):
                    page = by_customer[key]
                    started = time.perf_counter()
                    await emulator.send_text(member, f"/reply {ticket} Merci, on s'en occupe [r{n}]", chat=room)
                    waited = time.monotonic() + 10
                    while str(n) not in page.arrived and time.monotonic() < waited:
                        await asyncio.sleep(0.0005)
                    if str(n) in page.arrived:
                        reply_latencies.append(page.arrived[str(n)] - started)
                    else:
                        lost_replies += 1
                for page in pages:
                    if page.task is not None:
                        page.task.cancel()
                    page.response.close()
            finally:
                exit_ = await bot.stop()
                RESULTS.mkdir(parents=True, exist_ok=True)
                (RESULTS / "web-bot.log").write_text(bot.log_tail(200_000))
        stored = [row async for row in store.iter_feedback(BRAND) if row["status"] == "complete"]
    finally:
        for session in sessions:
            await session.close()
        await target.close()
    turns = len(STEPS)
    return {
        "telegram": {
            "journeys": load.completed,
            "failed": len(load.failures),
            "bot_cpu_s": tg_cpu,
            "turns_per_s_per_core": turns * load.completed / tg_cpu if tg_cpu else 0.0,
            "journeys_per_s_per_core": load.completed / tg_cpu if tg_cpu else 0.0,
            "wall_s": load.wall,
            "turn_p50_ms": 1000 * percentile(tg_latencies, 0.5),
            "turn_p99_ms": 1000 * percentile(tg_latencies, 0.99),
        },
        "web": {
            "journeys": web_done,
            "failed": len(web_failures),
            "failures": web_failures[:5],
            "bot_cpu_s": web_cpu,
            "turns_per_s_per_core": turns * web_done / web_cpu if web_cpu else 0.0,
            "journeys_per_s_per_core": web_done / web_cpu if web_cpu else 0.0,
            "wall_s": web_wall,
            "turn_p50_ms": 1000 * percentile(web_latencies, 0.5),
            "turn_p99_ms": 1000 * percentile(web_latencies, 0.99),
        },
        "live": {
            "connections": len(pages),
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_after,
            "mb_per_1000": (rss_after - rss_before) * 1000 / len(pages) if pages else 0.0,
        },
        "replies": {
            "sent": len(reply_latencies) + lost_replies,
            "reached_the_page": len(reply_latencies),
            "lost": lost_replies,
            "p50_ms": 1000 * percentile(reply_latencies, 0.5),
            "p99_ms": 1000 * percentile(reply_latencies, 0.99),
            "max_ms": 1000 * max(reply_latencies, default=0.0),
        },
        "stored_complete": len(stored),
        "expected_complete": 10 + args.customers + 10 + args.customers,
        "bot_exit_code": exit_.code,
        "bot_peak_rss_mb": exit_.max_rss_kb / 1024,
    }


def report(result: dict[str, Any]) -> str:
    tg, web, live, replies = result["telegram"], result["web"], result["live"], result["replies"]
    ratio = web["turns_per_s_per_core"] / tg["turns_per_s_per_core"] if tg["turns_per_s_per_core"] else 0.0
    lines = [
        "one parole serve process, Telegram's webhook and the web chat (JavaScript on), measured in one run",
        f"{'':28}{'Telegram':>12}{'web':>12}",
        f"{'journeys (failed)':28}{tg['journeys']:>8} ({tg['failed']}){web['journeys']:>8} ({web['failed']})",
        f"{'bot CPU s':28}{tg['bot_cpu_s']:>12.2f}{web['bot_cpu_s']:>12.2f}",
        f"{'turns/s per core':28}{tg['turns_per_s_per_core']:>12.1f}{web['turns_per_s_per_core']:>12.1f}",
        f"{'journeys/s per core':28}{tg['journeys_per_s_per_core']:>12.1f}{web['journeys_per_s_per_core']:>12.1f}",
        f"{'turn latency p50 ms':28}{tg['turn_p50_ms']:>12.1f}{web['turn_p50_ms']:>12.1f}",
        f"{'turn latency p99 ms':28}{tg['turn_p99_ms']:>12.1f}{web['turn_p99_ms']:>12.1f}",
        f"web / Telegram turns per core: {ratio:.2f}",
        f"live connections open: {live['connections']}; bot RSS {live['rss_before_mb']:.1f} MB -> "
        f"{live['rss_after_mb']:.1f} MB: {live['mb_per_1000']:.1f} MB per 1,000 open connections",
        f"staff /reply -> event on the open page: {replies['reached_the_page']}/{replies['sent']} reached, "
        f"p50 {replies['p50_ms']:.1f} ms, p99 {replies['p99_ms']:.1f} ms, max {replies['max_ms']:.1f} ms",
        f"feedbacks stored complete: {result['stored_complete']} of {result['expected_complete']}",
    ]
    if web["failures"]:
        lines.append("web failures: " + "; ".join(web["failures"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=300, help="customers per channel (measured)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--live", type=int, default=1000, help="live connections held open")
    parser.add_argument("--replies", type=int, default=200, help="staff replies timed to an open page")
    parser.add_argument("--output", type=Path, default=RESULTS / "web.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="parole-bench-web-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    print(report(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"(written to {args.output})")
    lost = result["stored_complete"] != result["expected_complete"] or result["replies"]["lost"]
    return 1 if lost or result["telegram"]["failed"] or result["web"]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
