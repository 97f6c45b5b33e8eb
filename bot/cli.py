"""The `parole` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from bot.app import bot_username, open_redis
from bot.config import Settings, load_settings
from bot.errors import ParoleError
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


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False))


HANDLERS: dict[str, Handler] = {
    "demo": _demo,
    "serve": _serve,
    "brand": _brand,
    "venue": _venue,
    "export": _export,
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
        return asyncio.run(HANDLERS[args.command](args, settings))
    except ParoleError as exc:
        print(f"parole: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
