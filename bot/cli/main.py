"""The `parole` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import uvloop

from bot.app import bot_username, open_redis
from bot.channels.whatsapp.links import whatsapp_link
from bot.cli.analysis_extra import require_analysis
from bot.cli.notices import notice
from bot.cli.templates import add_parsers as add_admin_parsers
from bot.cli.templates import run_flows, run_templates
from bot.cli.web import add_parser as add_web_parser
from bot.cli.web import run_web
from bot.cli.worker import add_parser as add_worker_parser
from bot.cli.worker import run_worker
from bot.config import Settings, load_settings
from bot.errors import InvalidInput, NotFound, ParoleError, problem
from bot.formats import Formats
from bot.insights.export import write_export
from bot.ops import configure_logging
from bot.refusals import refusal_text
from bot.staff.escalation import EscalationChain, EscalationStore, parse_chain
from bot.storage.store import Store
from bot.storage.venues import Venue, deep_link, web_links, write_qr

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def _version() -> str:
    """The installed distribution's version (an editable install's too)."""
    try:
        return importlib.metadata.version("parole")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parole", description="Customer feedback at venues, over Telegram.")
    parser.add_argument("--version", action="version", version=f"parole {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="play a whole customer journey offline (no token, no network)")
    demo.add_argument("--channel", choices=("telegram", "whatsapp"), default="telegram", help="the customer's channel")
    shell = sub.add_parser("shell", help="chat with the bot as a customer in the terminal, offline (/staff answers)")
    shell.add_argument("--no-analysis", action="store_true", help="no analysis worker (cards go out at once)")

    serve = sub.add_parser("serve", help="run the bot (long polling, or webhook with --webhook)")
    serve.add_argument("--webhook", action="store_true", help="receive updates at PAROLE_WEBHOOK_URL")
    serve.add_argument(
        "--host", default="127.0.0.1", help="listen address of the webhook and the web chat (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="listen port of the webhook and the web chat (default 8080)"
    )

    redis_cmd = sub.add_parser("redis", help="the embedded Redis of the data directory (without PAROLE_REDIS_URL)")
    redis_cmd.add_argument("action", choices=("status", "stop"), help="status: JSON; stop: shut it down")
    redis_cmd.add_argument("--force", action="store_true", help="stop: even while parole processes use it")

    brand = sub.add_parser("brand", help="brands").add_subparsers(dest="action", required=True, metavar="ACTION")
    brand_add = brand.add_parser("add", help="create a brand")
    brand_add.add_argument("code", help="short code: lower-case letters, digits, '-'")
    brand_add.add_argument("--name", required=True, help="display name")
    brand.add_parser("list", help="list brands as JSON lines")
    for action, helped in (
        ("archive", "its venues take no new feedback (their data stays)"),
        ("unarchive", "undo archive"),
    ):
        brand.add_parser(action, help=helped).add_argument("code")
    brand_deadline = brand.add_parser("set-deadline", help="hours the brand gives itself to answer a feedback")
    brand_deadline.add_argument("code")
    brand_deadline.add_argument("--hours", type=float, required=True, help="default 24")
    brand_chain = brand.add_parser(
        "escalation", help="who is reminded of unanswered tickets, in turn (shows it without options)"
    )
    brand_chain.add_argument("code")
    brand_chain.add_argument(
        "--chain",
        help="steps in order, '+' joins audiences: room,admins,operators (default room,admins+operators)",
    )
    brand_chain.add_argument("--reminders", type=int, help="reminders to each step before the next (default 1)")
    brand_chain.add_argument("--reset", action="store_true", help="back to the default chain")

    venue = sub.add_parser("venue", help="venues").add_subparsers(dest="action", required=True, metavar="ACTION")
    venue_add = venue.add_parser("add", help="create a venue and write its QR codes")
    venue_add.add_argument("--brand", required=True)
    venue_add.add_argument("--name", required=True)
    venue_add.add_argument("--city")
    venue_add.add_argument("--lat", type=float)
    venue_add.add_argument("--lon", type=float)
    venue_add.add_argument("--language", default="fr", help="of its poster (default fr; a language of the templates)")
    venue_add.add_argument("--force", action="store_true", help="even if the brand has a venue of that name")
    venue_add.add_argument("--qr-dir", type=Path, help="where to write the QR codes (default DATA_DIR/qr)")
    venue_edit = venue.add_parser("edit", help="change a venue's name, city, coordinates or language")
    venue_edit.add_argument("code", metavar="VENUE", help="the venue's code (it does not change)")
    venue_edit.add_argument("--brand", required=True)
    venue_edit.add_argument("--name")
    venue_edit.add_argument("--city")
    venue_edit.add_argument("--lat", type=float)
    venue_edit.add_argument("--lon", type=float)
    venue_edit.add_argument("--no-location", action="store_true", help="forget its coordinates")
    venue_edit.add_argument("--language")
    hours = venue.add_parser("hours", help="a venue's opening hours (deadlines count open hours only)")
    hours.add_argument("code", metavar="VENUE", help="the venue's code")
    hours.add_argument("--brand", required=True)
    hours.add_argument("--weekly", help="'mon-fri 09:00-12:00,14:00-19:00; sat 10:00-18:00' (days not named: closed)")
    hours.add_argument("--closed", action="append", default=[], metavar="DAY", help="closed that day (YYYY-MM-DD)")
    hours.add_argument("--day", action="append", default=[], metavar="DAY=RANGES", help="2026-12-24=09:00-13:00")
    hours.add_argument("--time-zone", help="the venue's time zone (default Europe/Paris)")
    hours.add_argument("--clear", action="store_true", help="forget its hours: always open")
    poster = venue.add_parser("poster", help="write a venue's printable poster (SVG and PNG)")
    poster.add_argument("code", metavar="VENUE", help="the venue's code")
    poster.add_argument("--brand", help="the venue's brand (needed when several brands have a venue of that code)")
    poster.add_argument("--out", type=Path, help="where to write it (default DATA_DIR/posters)")
    posters = venue.add_parser("posters", help="write the poster of every venue of a brand")
    posters.add_argument("--brand", required=True)
    posters.add_argument("--out", type=Path, help="where to write them (default DATA_DIR/posters)")
    for printing in (poster, posters):
        printing.add_argument("--logo", type=Path, help="the brand's logo, PNG or JPEG, printed at the top")
        printing.add_argument("--colour", "--color", help="the brand's colour, #RRGGBB (its name and the short code)")
    for action, helped in (
        ("archive", "out of the location search, no new feedback on any channel (its data and links stay)"),
        ("unarchive", "undo archive"),
    ):
        archive = venue.add_parser(action, help=helped)
        archive.add_argument("code", metavar="VENUE", help="the venue's code")
        archive.add_argument("--brand", required=True)
    venue_list = venue.add_parser("list", help="list venues as JSON lines")
    venue_list.add_argument("--brand")

    export = sub.add_parser("export", help="every feedback with its analysis and replies")
    export.add_argument("--brand")
    export.add_argument("--venue")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument(
        "--separator", choices=(";", ","), default=";",
        help="between CSV cells: ';' (default) for a French spreadsheet, ',' for one set to English",
    )  # fmt: skip
    export.add_argument("--output", "-o", type=Path, help="file to write (default standard output)")
    export.add_argument("--since", help="feedback from this day (YYYY-MM-DD, UTC) or time (ISO 8601) on")
    export.add_argument("--until", help="feedback before this day (YYYY-MM-DD, UTC) or time (ISO 8601)")
    add_worker_parser(sub)

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

    news = sub.add_parser("news", help='"you said, we did": messages to the customers who opted in to a venue\'s news')
    news_sub = news.add_subparsers(dest="action", required=True, metavar="ACTION")
    news_send = news_sub.add_parser("send", help="send one message to them, within Telegram's limits, with progress")
    news_count = news_sub.add_parser("count", help="how many would get it")
    for news_parser in (news_send, news_count):
        news_parser.add_argument("--brand", required=True)
        news_parser.add_argument("--venue", required=True)
        news_parser.add_argument("--since", help="customers who opted in from this day (YYYY-MM-DD, UTC) on")
        news_parser.add_argument("--until", help="customers who opted in before this day (YYYY-MM-DD, UTC)")
    news_send.add_argument("--text", help="the message (plain text)")
    news_send.add_argument("--file", type=Path, help="read the message from this file ('-' for standard input)")

    inbox = sub.add_parser("inbox", help="the web admin's inbox index").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    reindex = inbox.add_parser("reindex", help="index feedback stored before the index (resumable: run it again)")
    reindex.add_argument("--brand", help="one brand (default: every brand)")
    mail = sub.add_parser("mail", help="brand admins' e-mail alerts and daily digests (with PAROLE_SMTP_HOST set)")
    mail_sub = mail.add_subparsers(dest="action", required=True, metavar="ACTION")
    mail_add = mail_sub.add_parser("add", help="an admin's address (again: changes what they get)")
    mail_add.add_argument("--email", required=True)
    mail_add.add_argument("--name", default="", help="how the e-mails greet them")
    mail_add.add_argument("--no-alerts", action="store_true", help="no alert for a low rating or a complaint")
    mail_add.add_argument("--no-digest", action="store_true", help="no daily digest per venue")
    mail_remove = mail_sub.add_parser("remove", help="stop e-mailing an address")
    mail_remove.add_argument("--email", required=True)
    for mail_parser in (mail_add, mail_remove, mail_sub.add_parser("list", help="the brand's addresses (JSON lines)")):
        mail_parser.add_argument("--brand", required=True)
    policy = sub.add_parser("policy", help="which feedback opens a ticket (needs an answer), per brand or venue")
    policy_sub = policy.add_subparsers(dest="action", required=True, metavar="ACTION")
    policy_parsers = (
        policy_sub.add_parser("show", help="the policy in force and where it comes from (JSON)"),
        policy_sub.add_parser("set", help="change some of its rules (the others stay)"),
        policy_sub.add_parser("reset", help="forget the venue's (the brand's applies) or the brand's (the default)"),
    )
    for policy_parser in policy_parsers:
        policy_parser.add_argument("--brand", required=True)
        policy_parser.add_argument("--venue", help="one venue's policy, which wins over the brand's")
    policy_set = policy_parsers[1]
    policy_set.add_argument("--max-rating", type=int, help="ratings up to this one open a ticket (0: none)")
    policy_set.add_argument("--kinds", help="kinds that open one, comma-separated ('' for none): complaint,critique,…")
    policy_set.add_argument("--suggestion", choices=("yes", "no"), help="a suggestion opens one")
    policy_set.add_argument("--contact", choices=("yes", "no"), help="a customer asking to be contacted opens one")

    stats = sub.add_parser("stats", help="feedback volume, ratings, response rate and time per venue")
    stats.add_argument("--brand")
    stats.add_argument("--venue", help="one venue (needs --brand)")
    stats.add_argument("--since", help="from this day (YYYY-MM-DD, UTC) or time (ISO 8601) on")
    stats.add_argument("--until", help="before this day (YYYY-MM-DD, UTC) or time (ISO 8601)")
    stats.add_argument("--json", action="store_true", help="one JSON object a line instead of tables")

    nlp = sub.add_parser("nlp", help="the analysis, from the terminal").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    analyze = nlp.add_parser("analyze", help="print the analysis of each text as a JSON line")
    analyze.add_argument("texts", nargs="*", metavar="TEXT")
    analyze.add_argument("--file", type=Path, help="analyse each line of this file ('-' for standard input)")
    analyze.add_argument("--brand", help="use this brand's vocabulary")
    analyze.add_argument("--rating", type=int, choices=range(1, 6), help="the rating given with the text")
    add_web_parser(sub)
    add_admin_parsers(sub)
    return parser


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.channel == "whatsapp":
        from bot.cli.demo_whatsapp import run_whatsapp_demo

        return await run_whatsapp_demo(settings, out=sys.stdout)
    from bot.cli.demo import run_demo

    return await run_demo(settings, out=sys.stdout)


async def _shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.shell import run_shell

    return await run_shell(settings, analysis=not args.no_analysis, out=sys.stdout, lines=sys.stdin)


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.serve import Listen, serve

    settings.require_token()
    here = Listen(args.host, args.port)
    await serve(settings, listen=here if args.webhook else None, web_listen=None if args.webhook else here)
    return 0


async def _redis(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.embedded import SharedRedis, shutdown

    if settings.redis_url is not None:
        raise InvalidInput(
            problem("cli_redis_url_set", "PAROLE_REDIS_URL is set: parole uses that Redis, not an embedded one")
        )
    embedded = SharedRedis(settings.data_dir / "redis")
    if args.action == "status":
        _print_json(embedded.status())
        return 0
    if embedded.in_use() and not args.force:
        raise InvalidInput(
            problem(
                "cli_redis_in_use",
                "parole processes use the embedded Redis now: stop them (the last one stops it), or --force",
            )
        )
    stopped = shutdown(embedded.server)
    _print_json({"directory": str(embedded.server.directory), "stopped": stopped})
    return 0


async def _brand(args: argparse.Namespace, settings: Settings) -> int:
    async with open_redis(settings) as redis:
        store = Store(redis)
        if args.action == "add":
            _print_json((await store.add_brand(args.code, args.name)).to_json())
        elif args.action in ("archive", "unarchive"):
            _print_json((await store.archive_brand(args.code, archived=args.action == "archive")).to_json())
        elif args.action == "set-deadline":
            _print_json({"brand": args.code, "deadline_hours": await store.set_deadline(args.code, args.hours)})
        elif args.action == "escalation":
            _print_json({"brand": args.code, "escalation": (await _escalation(store, args)).to_json()})
        else:
            for brand in await store.list_brands():
                _print_json(brand.to_json())
    return 0


async def _escalation(store: Store, args: argparse.Namespace) -> EscalationChain:
    """Show, set or reset a brand's escalation chain (checked before anything is saved)."""
    await store.get_brand(args.code)
    chains = EscalationStore(store.redis)
    if args.reset:
        return await chains.set(args.code, None)
    current = await chains.get(args.code)
    if args.chain is None and args.reminders is None:
        return current
    reminders = current.reminders if args.reminders is None else args.reminders
    chain = parse_chain(args.chain, reminders) if args.chain is not None else EscalationChain(current.steps, reminders)
    return await chains.set(args.code, chain)


async def _venue(args: argparse.Namespace, settings: Settings) -> int:
    async with open_redis(settings) as redis:
        store = Store(redis)
        if args.action == "list":
            username = settings.bot_username
            for item in await store.list_venues(args.brand):
                record = item.to_json()
                if username:
                    record["deep_link"] = deep_link(username, item.token)
                if settings.public_url:
                    record.update(web_links(settings.public_url, item.token, item.short_code))
                _print_json({**record, **_whatsapp_link(settings, item)})
            return 0
        if args.action == "hours":
            _print_json(await _venue_hours(args, store))
            return 0
        if args.action in ("poster", "posters"):
            return await _posters(args, settings, store)
        if args.action in ("archive", "unarchive"):
            archived = await store.archive_venue(args.brand, args.code, archived=args.action == "archive")
            _print_json(archived.to_json())
            return 0
        if args.action == "edit":
            edited = await store.edit_venue(
                args.brand, args.code, name=args.name, city=args.city, lat=args.lat, lon=args.lon,
                forget_location=args.no_location, language=args.language,
            )  # fmt: skip
            _print_json(edited.to_json())
            return 0
        username = await bot_username(settings)
        venue = await store.add_venue(
            args.brand, args.name, city=args.city, lat=args.lat, lon=args.lon, language=args.language, force=args.force
        )
        link = deep_link(username, venue.token)
        web = web_links(settings.public_url, venue.token, venue.short_code) if settings.public_url else {}
        qr_dir = args.qr_dir or settings.data_dir / "qr"
        # With the web channel on, the QR code opens the landing page, which offers every channel.
        png, svg = write_qr(web.get("web_link", link), qr_dir, f"{venue.brand}-{venue.code}")
        record = {**venue.to_json(), "deep_link": link, **web, "qr_png": str(png), "qr_svg": str(svg)}
        _print_json({**record, **_whatsapp_link(settings, venue)})
    return 0


async def _venue_hours(args: argparse.Namespace, store: Store) -> dict[str, Any]:
    """Show, change or clear a venue's opening hours; the hours in force, as JSON."""
    from bot.staff.hours import HoursStore, OpeningHours, parse_weekly

    await store.get_venue(args.brand, args.code)
    hours_store = HoursStore(store.redis)
    hours = await hours_store.get(args.brand, args.code)
    if args.clear:
        await hours_store.set(args.brand, args.code, None)
        return {"brand": args.brand, "venue": args.code, "hours": None}
    if args.weekly is not None or args.closed or args.day or args.time_zone:
        base = hours or OpeningHours()
        exceptions = dict(base.exceptions)
        exceptions.update({day: () for day in args.closed})
        for item in args.day:
            day, sep, ranges = item.partition("=")
            if not sep:
                raise InvalidInput(
                    problem("cli_day_format", "--day {item!r}: write DAY=HH:MM-HH:MM[,HH:MM-HH:MM]", item=item)
                )
            exceptions[day] = parse_weekly(f"mon {ranges}")["mon"]
        hours = OpeningHours(
            time_zone=args.time_zone or base.time_zone,
            weekly=parse_weekly(args.weekly) if args.weekly is not None else base.weekly,
            exceptions=exceptions,
        )
        await hours_store.set(args.brand, args.code, hours)
    return {"brand": args.brand, "venue": args.code, "hours": hours.to_json() if hours else None}


def _whatsapp_link(settings: Settings, venue: Venue) -> dict[str, str]:
    """`whatsapp_link`, when WhatsApp is on."""
    if settings.whatsapp is None:
        return {}
    return {"whatsapp_link": whatsapp_link(settings.whatsapp.number, venue.short_code)}


async def _posters(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from bot.cli.posters import ACCENT, PosterStyle, load_logo, parse_colour, poster_content, write_poster
    from bot.cli.progress import Progress
    from dialogs.render import MessageRenderer, TemplateCatalog, default_templates_dir

    # Checked before anything is read or written: a bad logo or colour changes nothing.
    style = PosterStyle(
        colour=parse_colour(args.colour) if args.colour is not None else ACCENT,
        logo=load_logo(args.logo) if args.logo is not None else None,
    )
    if args.action == "poster":
        venues = [await _find_venue(store, args.code, args.brand)]
    else:
        venues = await store.list_venues(args.brand)
    username = await bot_username(settings)
    renderer = MessageRenderer(TemplateCatalog(default_templates_dir()))
    directory = args.out or settings.data_dir / "posters"
    progress = Progress(len(venues), "poster") if args.action == "posters" else None
    brand_names: dict[str, str] = {}
    for venue in venues:
        if venue.brand not in brand_names:
            brand_names[venue.brand] = (await store.get_brand(venue.brand)).name
        link = deep_link(username, venue.token)
        if settings.public_url:  # the landing page, which offers every channel
            link = web_links(settings.public_url, venue.token, venue.short_code)["web_link"]
        content = poster_content(
            renderer, brand_name=brand_names[venue.brand], venue_name=venue.name, short_code=venue.short_code,
            deep_link=link, bot_username=username, language=venue.language,
        )  # fmt: skip
        stem = f"{venue.brand}-{venue.code}-poster"
        svg, png = await asyncio.to_thread(write_poster, content, directory, stem, style)
        if progress is not None:
            progress.advance()
        _print_json({"brand": venue.brand, "venue": venue.code, "deep_link": link, "svg": str(svg), "png": str(png)})
    if progress is not None:
        progress.close()
    return 0


async def _find_venue(store: Store, code: str, brand: str | None) -> Venue:
    """The venue of that code in that brand, or in the one brand that has it."""
    if brand is not None:
        return await store.get_venue(brand, code)
    found = [v for v in await store.list_venues() if v.code == code]
    if not found:
        raise NotFound("venue", code)
    if len(found) > 1:
        raise InvalidInput(
            problem(
                "cli_venue_ambiguous",
                "several brands have a venue {code!r}: give --brand ({brands})",
                code=code,
                brands=tuple(v.brand for v in found),
            )
        )
    return found[0]


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.progress import Progress

    since, until = _period(args)
    async with open_redis(settings) as redis:
        store = Store(redis)
        brands = await _brand_codes(store, args.brand)
        if args.venue and args.brand:  # without --brand: that venue code in any brand
            await store.get_venue(args.brand, args.venue)
        # The bar counts the brands' feedback: with --venue it ends short of its total, at what was exported.
        progress = None
        if sys.stderr.isatty():
            progress = Progress(await store.count_feedback(brands, since=since, until=until), "retours")
        export = functools.partial(
            write_export, store, fmt=args.format, brand=args.brand, venue=args.venue, since=since, until=until,
            on_feedback=progress.advance if progress else None, separator=args.separator,
        )  # fmt: skip
        if args.output is None:
            count = await export(sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = await export(out)
        if progress is not None:
            progress.close()
        print(Formats().count(count, "retour exporté", "retours exportés"), file=sys.stderr)
    return 0


async def _reanalyze(args: argparse.Namespace, settings: Settings) -> int:
    require_analysis("parole reanalyze")
    from bot.analysis.worker import reanalyze
    from bot.cli.progress import Progress
    from nlp import Analyzer

    async with open_redis(settings) as redis:
        store = Store(redis)
        brands = await _brand_codes(store, args.brand)
        total = await store.count_feedback(brands)
        notice(problem("cli_loading_model", "loading the French model…"))
        analyzer = await asyncio.to_thread(Analyzer)
        progress = Progress(total, "feedback")
        stored = await reanalyze(redis, analyzer, brands, on_batch=progress.advance)
        progress.close()
        notice(problem("cli_reanalysed", "reanalysed {count:feedback|feedbacks}", count=stored))
    return 0


async def _vocab(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.vocabulary import VocabularyStore

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
    require_analysis("parole nlp analyze")
    from nlp import Analyzer
    from nlp.types import Vocabulary

    texts = list(args.texts)
    if args.file is not None:
        texts += [line for line in _read_text(args.file).splitlines() if line.strip()]
    if not texts:
        raise InvalidInput(problem("cli_nlp_nothing", "give texts to analyse, or --file F"))
    vocabulary: Vocabulary | None = None
    if args.brand:
        from bot.storage.vocabulary import VocabularyStore

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

    from bot.staff.rooms import RoomStore

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
    from bot.insights.stats import MAX_PERIOD_DAYS, venue_stats
    from bot.insights.tables import format_details, format_table

    if args.venue and not args.brand:
        raise InvalidInput(problem("cli_venue_needs_brand", "--venue needs --brand"))
    since, until = _period(args, longest_days=MAX_PERIOD_DAYS)
    async with open_redis(settings) as redis:
        store = Store(redis)
        rows = await venue_stats(store, args.brand, args.venue, since=since, until=until)
        names = {brand.code: brand.name for brand in await store.list_brands()}
    if args.json:  # the codes and numbers as they are, for programs: its keys are stable (README)
        for row in rows:
            _print_json(row.to_json())
        return 0
    print(format_table(rows, names))
    for row in rows:
        if row.venue is None or args.venue:  # the details of each brand, or of the one venue asked for
            print("\n" + format_details(row, names))
    return 0


def _period(args: argparse.Namespace, *, longest_days: int | None = None) -> tuple[float | None, float | None]:
    """`--since`/`--until` as Unix times, checked."""
    from bot.insights.stats import parse_period

    return parse_period(args.since, args.until, ("--since", "--until"), longest_days=longest_days)


async def _brand_codes(store: Store, brand: str | None) -> list[str]:
    """The brand given (checked), or every brand."""
    return [(await store.get_brand(brand)).code] if brand else [b.code for b in await store.list_brands()]


async def _news(args: argparse.Namespace, settings: Settings) -> int:
    from telegram import Bot

    from bot.app import customer_channels, outbound
    from bot.botapi.http import AiohttpRequest
    from bot.cli.progress import Progress
    from bot.customers.broadcasts import BroadcastReport
    from bot.customers.news import NewsSender, NewsStore, SendBudget
    from dialogs.render import MessageRenderer, TemplateCatalog, default_templates_dir

    since, until = _period(args)
    if args.action == "count":
        async with open_redis(settings) as redis:
            venue = await Store(redis).get_venue(args.brand, args.venue)
            chats = await NewsStore(redis).subscribers(venue.brand, venue.code, since=since, until=until)
        _print_json({"brand": venue.brand, "venue": venue.code, "customers": len(chats)})
        return 0
    if (args.text is None) == (args.file is None):
        raise InvalidInput(problem("cli_news_text", "give the message with --text or --file, one of them"))
    text = _read_text(args.file).strip() if args.file is not None else args.text
    token = settings.require_token().reveal()
    async with open_redis(settings) as redis:
        store = Store(redis)
        renderer = MessageRenderer(TemplateCatalog(default_templates_dir()))
        request = AiohttpRequest(outbound=outbound(settings, redis))  # the bot's one budget, with its processes
        bot = Bot(token, base_url=settings.telegram_api_url, request=request)
        channels = customer_channels(bot, settings.bot_username, web=redis if settings.web_chat else None)
        sender = NewsSender(store, NewsStore(redis), renderer, channels, SendBudget(redis))
        venue, chats = await sender.prepare(args.brand, args.venue, text, since=since, until=until)
        progress = Progress(len(chats), "customer")

        async def advance(report: BroadcastReport) -> None:
            progress.advance(report.handled - progress.done)

        async with bot:
            report = await sender.send(venue, chats, text, progress=advance, every=1)
        progress.close()
        _print_json(report.to_json())
    return 0


def _read_text(path: Path) -> str:
    """A file's text, or standard input's for `-`."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            problem("cli_unreadable", "cannot read {path}: {error}", path=str(path), error=exc.strerror or str(exc))
        ) from None


async def _inbox(args: argparse.Namespace, settings: Settings) -> int:
    """`parole inbox reindex`: the feedback the index lacks, brand by brand, with a progress bar."""
    from bot.cli.progress import Progress
    from bot.storage import keys
    from bot.storage.index import FeedbackIndex

    async with open_redis(settings) as redis:
        store = Store(redis)
        wanted = [await store.get_brand(args.brand)] if args.brand else await store.list_brands()
        brands = [brand.code for brand in wanted]
        index = FeedbackIndex(redis)
        for brand in brands:
            progress = Progress(int(await redis.zcard(keys.feedbacks(brand))), f"{brand} feedback")
            shown = [0]

            def advance(done: int, _indexed: int, progress: Progress = progress, shown: list[int] = shown) -> None:
                progress.advance(done - shown[0])
                shown[0] = done

            seen, indexed = await index.index_missing(brand, on_batch=advance)
            progress.close()
            _print_json({"brand": brand, "feedback": seen, "indexed": indexed})
    return 0


async def _mail(args: argparse.Namespace, settings: Settings) -> int:
    from bot.staff.mail import Recipient, RecipientStore

    async with open_redis(settings) as redis:
        await Store(redis).get_brand(args.brand)
        recipients = RecipientStore(redis)
        if args.action == "add":
            wanted = Recipient(args.email, args.name, alerts=not args.no_alerts, digest=not args.no_digest)
            _print_json({"brand": args.brand, **(await recipients.add(args.brand, wanted)).to_json()})
        elif args.action == "remove":
            if not await recipients.remove(args.brand, args.email):
                raise NotFound("e-mail address", args.email)
            _print_json({"brand": args.brand, "removed": args.email})
        else:
            for recipient in await recipients.list(args.brand):
                _print_json({"brand": args.brand, **recipient.to_json()})
    if settings.smtp is None:
        print("parole: PAROLE_SMTP_HOST is not set: no e-mail goes out until it is", file=sys.stderr)
    return 0


async def _policy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.staff.policy import PolicyStore

    async with open_redis(settings) as redis:
        store, policies = Store(redis), PolicyStore(redis)
        if args.action == "show":
            _print_json(await policies.show(store, args.brand, args.venue))
        elif args.action == "reset":
            _print_json(await policies.reset(store, args.brand, args.venue))
        else:
            changes = {
                "max_rating": args.max_rating,
                "kinds": [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds is not None else None,
                "suggestion": None if args.suggestion is None else args.suggestion == "yes",
                "contact": None if args.contact is None else args.contact == "yes",
            }
            if all(value is None for value in changes.values()):
                raise InvalidInput(
                    problem(
                        "cli_policy_nothing", "nothing to change: give --max-rating, --kinds, --suggestion or --contact"
                    )
                )
            _print_json(await policies.set(store, args.brand, args.venue, changes))
    return 0


def _print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, ensure_ascii=False))


HANDLERS: dict[str, Handler] = {
    "demo": _demo,
    "shell": _shell,
    "serve": _serve,
    "redis": _redis,
    "brand": _brand,
    "venue": _venue,
    "export": _export,
    "worker": run_worker,
    "reanalyze": _reanalyze,
    "vocab": _vocab,
    "nlp": _nlp,
    "staff": _staff,
    "stats": _stats,
    "policy": _policy,
    "mail": _mail,
    "inbox": _inbox,
    "news": _news,
    "templates": run_templates,
    "flows": run_flows,
    "web": run_web,
}


#: The commands whose messages are in French (the figures and exports, read by the brands' French staff).
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        if args.command in ("demo", "shell") and "PAROLE_LOG_LEVEL" not in os.environ:
            logging.getLogger().setLevel(logging.WARNING)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(HANDLERS[args.command](args, settings))
    except ParoleError as exc:
        print(f"parole : erreur : {refusal_text(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`parole stats --json | head`): what it read is all it wanted. Python would report the
        # pipe again when it flushes stdout at exit, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
