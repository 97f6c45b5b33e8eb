"""The `parole` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import uvloop
from redis.asyncio import Redis

from bot.app import bot_username, open_redis
from bot.config import Settings, load_settings
from bot.errors import InvalidInput, ParoleError
from bot.export import write_export
from bot.store import Store
from bot.venues import deep_link, write_qr

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parole", description="Customer feedback at venues, over Telegram.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("demo", help="play a whole customer journey offline (no token, no network)")

    serve = sub.add_parser("serve", help="run the bot (long polling, or webhook with --webhook)")
    serve.add_argument("--webhook", action="store_true", help="receive updates at PAROLE_WEBHOOK_URL")
    serve.add_argument("--host", default="127.0.0.1", help="webhook listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="webhook listen port (default 8080)")

    brand = sub.add_parser("brand", help="brands").add_subparsers(dest="action", required=True, metavar="ACTION")
    brand_add = brand.add_parser("add", help="create a brand")
    brand_add.add_argument("code", help="short code: lower-case letters, digits, '-'")
    brand_add.add_argument("--name", required=True, help="display name")
    brand.add_parser("list", help="list brands as JSON lines")
    brand_deadline = brand.add_parser("set-deadline", help="hours the brand gives itself to answer a feedback")
    brand_deadline.add_argument("code")
    brand_deadline.add_argument("--hours", type=float, required=True, help="default 24")

    venue = sub.add_parser("venue", help="venues").add_subparsers(dest="action", required=True, metavar="ACTION")
    venue_add = venue.add_parser("add", help="create a venue and write its QR codes")
    venue_add.add_argument("--brand", required=True)
    venue_add.add_argument("--name", required=True)
    venue_add.add_argument("--city")
    venue_add.add_argument("--lat", type=float)
    venue_add.add_argument("--lon", type=float)
    venue_add.add_argument("--qr-dir", type=Path, help="where to write the QR codes (default DATA_DIR/qr)")
    venue_list = venue.add_parser("list", help="list venues as JSON lines")
    venue_list.add_argument("--brand")

    export = sub.add_parser("export", help="every feedback with its analysis and replies")
    export.add_argument("--brand")
    export.add_argument("--venue")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", "-o", type=Path, help="file to write (default standard output)")
    worker = sub.add_parser("worker", help="run the analysis (spaCy) and the staff notifier on the feedback stream")
    worker.add_argument("--batch", type=int, default=64, help="feedbacks analysed together (default 64)")
    worker.add_argument("--name", help="consumer name in the group (default host-pid)")
    worker.add_argument("--no-analysis", action="store_true", help="only notify the staff rooms (no spaCy loaded)")
    worker.add_argument("--no-notifier", action="store_true", help="only analyse (no staff cards or reminders)")

    reanalyze = sub.add_parser("reanalyze", help="analyse every stored feedback again, with progress")
    reanalyze.add_argument("--brand")

    vocab = sub.add_parser("vocab", help="a brand's vocabulary: names the analysis should know")
    vocab_sub = vocab.add_subparsers(dest="action", required=True, metavar="ACTION")
    vocab_add = vocab_sub.add_parser("add", help="add a term")
    vocab_add.add_argument("--brand", required=True)
    vocab_add.add_argument("--label", required=True, help="PER, ORG, LOC, PRODUCT or MISC")
    vocab_add.add_argument("--id", help="canonical id shared by several spellings (default: from the text)")
    vocab_add.add_argument("text")
    vocab_list = vocab_sub.add_parser("list", help="list the terms as JSON lines")
    vocab_list.add_argument("--brand", required=True)
    vocab_remove = vocab_sub.add_parser("remove", help="remove a term")
    vocab_remove.add_argument("--brand", required=True)
    vocab_remove.add_argument("--label", help="only under this label")
    vocab_remove.add_argument("text")

    staff = sub.add_parser("staff", help="staff rooms (Telegram groups where the brand answers)")
    staff_sub = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    invite = staff_sub.add_parser("invite", help="a one-time code: '/link CODE' in a group makes it a staff room")
    invite.add_argument("--brand", required=True)
    invite.add_argument("--venue", help="a room for this venue's feedback only (default: the brand room)")
    invite.add_argument("--hours", type=float, default=24.0, help="how long the code stays valid (default 24)")
    staff_rooms = staff_sub.add_parser("rooms", help="list the linked staff rooms as JSON lines")
    staff_rooms.add_argument("--brand")

    stats = sub.add_parser("stats", help="feedback volume, ratings, response rate and time per venue")
    stats.add_argument("--brand")
    stats.add_argument("--venue", help="one venue (needs --brand)")
    stats.add_argument("--json", action="store_true", help="one JSON object a line instead of a table")

    nlp = sub.add_parser("nlp", help="the analysis, from the terminal").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    analyze = nlp.add_parser("analyze", help="print the analysis of each text as a JSON line")
    analyze.add_argument("texts", nargs="*", metavar="TEXT")
    analyze.add_argument("--file", type=Path, help="analyse each line of this file ('-' for standard input)")
    analyze.add_argument("--brand", help="use this brand's vocabulary")
    analyze.add_argument("--rating", type=int, choices=range(1, 6), help="the rating given with the text")
    return parser


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    return await run_demo(settings, out=sys.stdout)


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import Listen, serve

    settings.require_token()
    await serve(settings, listen=Listen(args.host, args.port) if args.webhook else None)
    return 0


async def _brand(args: argparse.Namespace, settings: Settings) -> int:
    async with open_redis(settings) as redis:
        store = Store(redis)
        if args.action == "add":
            _print_json((await store.add_brand(args.code, args.name)).to_json())
        elif args.action == "set-deadline":
            _print_json({"brand": args.code, "deadline_hours": await store.set_deadline(args.code, args.hours)})
        else:
            for brand in await store.list_brands():
                _print_json(brand.to_json())
    return 0


async def _venue(args: argparse.Namespace, settings: Settings) -> int:
    async with open_redis(settings) as redis:
        store = Store(redis)
        if args.action == "list":
            username = settings.bot_username
            for item in await store.list_venues(args.brand):
                record = item.to_json()
                if username:
                    record["deep_link"] = deep_link(username, item.token)
                _print_json(record)
            return 0
        username = await bot_username(settings)
        venue = await store.add_venue(args.brand, args.name, city=args.city, lat=args.lat, lon=args.lon)
        link = deep_link(username, venue.token)
        qr_dir = args.qr_dir or settings.data_dir / "qr"
        png, svg = write_qr(link, qr_dir, f"{venue.brand}-{venue.code}")
        _print_json({**venue.to_json(), "deep_link": link, "qr_png": str(png), "qr_svg": str(svg)})
    return 0


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    async with open_redis(settings) as redis:
        store = Store(redis)
        if args.output is None:
            count = await write_export(store, sys.stdout, fmt=args.format, brand=args.brand, venue=args.venue)
        else:
            # A byte-order mark lets spreadsheets recognise the CSV file as UTF-8.
            encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
            with open(args.output, "w", encoding=encoding, newline="") as out:
                count = await write_export(store, out, fmt=args.format, brand=args.brand, venue=args.venue)
        print(f"exported {count} feedback(s)", file=sys.stderr)
    return 0


async def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """The analysis worker and the staff notifier, side by side in one process, until SIGINT or SIGTERM.

    The notifier needs the bot's token; without one it is off, and the worker says so.
    """
    if args.batch < 1:
        raise InvalidInput("--batch must be at least 1")
    if args.no_analysis and args.no_notifier:
        raise InvalidInput("--no-analysis and --no-notifier together leave nothing to run")
    notify = not args.no_notifier
    if notify and settings.telegram_token is None:
        if args.no_analysis:
            settings.require_token()  # fails naming PAROLE_TELEGRAM_TOKEN
        print("PAROLE_TELEGRAM_TOKEN is not set: the staff notifier is off, analysis only", file=sys.stderr)
        notify = False
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        redis = await stack.enter_async_context(open_redis(settings))
        jobs: list[asyncio.Task[None]] = []
        if notify:
            jobs.append(asyncio.create_task(_notify_until(stop, settings, redis, stack)))
        if not args.no_analysis:
            jobs.append(asyncio.create_task(_analyse_until(stop, redis, args.name, args.batch)))
        await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()  # one part failed: stop the other too
        for job in jobs:
            await job
    return 0


async def _analyse_until(stop: asyncio.Event, redis: Redis, name: str | None, batch: int) -> None:
    from bot.worker import AnalysisWorker
    from nlp import Analyzer

    analyzer = await asyncio.to_thread(Analyzer)
    worker = AnalysisWorker(redis, analyzer, name=name, batch_size=batch)
    await worker.run(stop)
    print(f"worker {worker.name}: {worker.analysed} feedback(s) analysed", file=sys.stderr)


async def _notify_until(
    stop: asyncio.Event, settings: Settings, redis: Redis, stack: contextlib.AsyncExitStack
) -> None:
    from bot.app import load_dialogs, outbound, staff, standalone_bot

    bot = await stack.enter_async_context(standalone_bot(settings, outbound(settings, redis)))
    username = await bot_username(settings, bot)
    notifier = staff(settings, Store(redis), load_dialogs(settings), bot, username).notifier
    task = asyncio.create_task(notifier.run(1.0))
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    print(f"notifier {notifier.name}: stopped", file=sys.stderr)


async def _reanalyze(args: argparse.Namespace, settings: Settings) -> int:
    from bot import keys
    from bot.progress import Progress
    from bot.worker import reanalyze
    from nlp import Analyzer

    async with open_redis(settings) as redis:
        store = Store(redis)
        brands = (
            [(await store.get_brand(args.brand)).code] if args.brand else [b.code for b in await store.list_brands()]
        )
        total = sum([await redis.zcard(keys.feedbacks(code)) for code in brands])
        print("loading the French model…", file=sys.stderr)
        analyzer = await asyncio.to_thread(Analyzer)
        progress = Progress(total, "feedback")
        stored = await reanalyze(redis, analyzer, brands, on_batch=progress.advance)
        progress.close()
        print(f"reanalysed {stored} feedback(s)", file=sys.stderr)
    return 0


async def _vocab(args: argparse.Namespace, settings: Settings) -> int:
    from bot.vocabulary import VocabularyStore

    async with open_redis(settings) as redis:
        vocabulary = VocabularyStore(redis)
        if args.action == "add":
            _print_json((await vocabulary.add(args.brand, args.label, args.text, args.id)).to_json())
        elif args.action == "remove":
            for entry in await vocabulary.remove(args.brand, args.text, args.label):
                _print_json({**entry.to_json(), "removed": True})
        else:
            await Store(redis).get_brand(args.brand)
            for entry in (await vocabulary.load(args.brand)).entries:
                _print_json(entry.to_json())
    return 0


async def _nlp(args: argparse.Namespace, settings: Settings) -> int:
    from nlp import Analyzer
    from nlp.types import Vocabulary

    texts = list(args.texts)
    if args.file is not None:
        source = sys.stdin if str(args.file) == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
        with source:
            texts += [line.rstrip("\n") for line in source if line.strip()]
    if not texts:
        raise InvalidInput("give texts to analyse, or --file F")
    vocabulary: Vocabulary | None = None
    if args.brand:
        from bot.vocabulary import VocabularyStore

        async with open_redis(settings) as redis:
            await Store(redis).get_brand(args.brand)
            vocabulary = await VocabularyStore(redis).load(args.brand)
    analyzer = await asyncio.to_thread(Analyzer)
    for text in texts:
        analysis = analyzer.analyze_text(text, vocabulary, rating=args.rating)
        entities = [{k: v for k, v in e.to_json().items() if k != "field"} for e in analysis.entities]
        _print_json({"text": text, **analysis.to_json(), "entities": entities})
    return 0


async def _staff(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from bot.rooms import RoomStore

    async with open_redis(settings) as redis:
        rooms = RoomStore(redis)
        if args.action == "invite":
            invite = await rooms.invite(args.brand, args.venue, hours=args.hours)
            expires = dt.datetime.fromtimestamp(invite.expires_at, dt.UTC).isoformat(timespec="seconds")
            _print_json(
                {
                    "code": invite.code,
                    "brand": invite.brand,
                    "venue": invite.venue,
                    "expires_at": expires.replace("+00:00", "Z"),
                    "command": invite.command,
                }
            )
        else:
            if args.brand:
                await Store(redis).get_brand(args.brand)
            for room in await rooms.list(args.brand):
                _print_json(room.to_json())
    return 0


async def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.stats import format_table, venue_stats

    if args.venue and not args.brand:
        raise InvalidInput("--venue needs --brand")
    async with open_redis(settings) as redis:
        rows = await venue_stats(Store(redis), args.brand, args.venue)
    if args.json:
        for row in rows:
            _print_json(row.to_json())
    else:
        print(format_table(rows))
    return 0


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False))


HANDLERS: dict[str, Handler] = {
    "demo": _demo,
    "serve": _serve,
    "brand": _brand,
    "venue": _venue,
    "export": _export,
    "worker": _worker,
    "reanalyze": _reanalyze,
    "vocab": _vocab,
    "nlp": _nlp,
    "staff": _staff,
    "stats": _stats,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
        for noisy in ("httpx", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        if args.command == "demo" and "PAROLE_LOG_LEVEL" not in os.environ:
            logging.getLogger().setLevel(logging.WARNING)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(HANDLERS[args.command](args, settings))
    except ParoleError as exc:
        print(f"parole: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
