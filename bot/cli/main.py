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
from bot.cli.argparse_fr import FrenchParser
from bot.cli.argparse_fr import install as install_french_argparse
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
    install_french_argparse()
    parser = FrenchParser(prog="parole", description="Les avis des clients sur place, par Telegram.")
    parser.add_argument(
        "--version", action="version", version=f"parole {_version()}", help="affiche la version de parole et quitte"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")

    demo = sub.add_parser("demo", help="joue tout un parcours client hors ligne (sans jeton ni réseau)")
    demo.add_argument("--channel", choices=("telegram", "whatsapp"), default="telegram", help="le canal du client")
    shell = sub.add_parser("shell", help="parle au bot comme un client, dans le terminal, hors ligne (/staff répond)")
    shell.add_argument(
        "--no-analysis", action="store_true", help="sans worker d'analyse (les fiches partent tout de suite)"
    )

    serve = sub.add_parser("serve", help="lance le bot (long polling, ou webhook avec --webhook)")
    serve.add_argument("--webhook", action="store_true", help="reçoit les mises à jour à PAROLE_WEBHOOK_URL")
    serve.add_argument(
        "--host", default="127.0.0.1", help="adresse d'écoute du webhook et du chat web (par défaut 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="port d'écoute du webhook et du chat web (par défaut 8080)"
    )

    redis_cmd = sub.add_parser("redis", help="le Redis intégré du dossier de données (sans PAROLE_REDIS_URL)")
    redis_cmd.add_argument("action", choices=("status", "stop"), help="status : son état en JSON ; stop : l'arrête")
    redis_cmd.add_argument("--force", action="store_true", help="stop : même si des processus parole s'en servent")

    brand = sub.add_parser("brand", help="marques").add_subparsers(dest="action", required=True, metavar="ACTION")
    brand_add = brand.add_parser("add", help="crée une marque")
    brand_add.add_argument("code", help="code court : minuscules, chiffres, « - »")
    brand_add.add_argument("--name", required=True, help="nom affiché")
    brand.add_parser("list", help="liste les marques, une ligne JSON chacune")
    for action, helped in (
        ("archive", "ses lieux ne prennent plus d'avis (leurs données restent)"),
        ("unarchive", "annule archive"),
    ):
        brand.add_parser(action, help=helped).add_argument("code")
    brand_deadline = brand.add_parser("set-deadline", help="heures que la marque se donne pour répondre à un avis")
    brand_deadline.add_argument("code")
    brand_deadline.add_argument("--hours", type=float, required=True, help="par défaut 24")
    brand_chain = brand.add_parser(
        "escalation", help="qui reçoit, à tour de rôle, les rappels des tickets sans réponse (sans option : l'affiche)"
    )
    brand_chain.add_argument("code")
    brand_chain.add_argument(
        "--chain",
        help=(
            "étapes dans l'ordre, « + » réunit des destinataires : room,admins,operators "
            "(par défaut room,admins+operators)"
        ),
    )
    brand_chain.add_argument("--reminders", type=int, help="rappels à chaque étape avant la suivante (par défaut 1)")
    brand_chain.add_argument("--reset", action="store_true", help="revient à la chaîne par défaut")

    venue = sub.add_parser("venue", help="lieux").add_subparsers(dest="action", required=True, metavar="ACTION")
    venue_add = venue.add_parser("add", help="crée un lieu et écrit ses QR codes")
    venue_add.add_argument("--brand", required=True, help="la marque du lieu")
    venue_add.add_argument("--name", required=True, help="le nom du lieu")
    venue_add.add_argument("--city", help="sa ville")
    venue_add.add_argument("--lat", type=float, help="sa latitude (pour la recherche par position)")
    venue_add.add_argument("--lon", type=float, help="sa longitude")
    venue_add.add_argument(
        "--language", default="fr", help="langue de son affiche (par défaut fr ; une langue des modèles)"
    )
    venue_add.add_argument("--force", action="store_true", help="même si la marque a déjà un lieu de ce nom")
    venue_add.add_argument("--qr-dir", type=Path, help="où écrire les QR codes (par défaut DATA_DIR/qr)")
    venue_edit = venue.add_parser("edit", help="change le nom, la ville, les coordonnées ou la langue d'un lieu")
    venue_edit.add_argument("code", metavar="LIEU", help="le code du lieu (il ne change pas)")
    venue_edit.add_argument("--brand", required=True)
    venue_edit.add_argument("--name")
    venue_edit.add_argument("--city")
    venue_edit.add_argument("--lat", type=float)
    venue_edit.add_argument("--lon", type=float)
    venue_edit.add_argument("--no-location", action="store_true", help="oublie ses coordonnées")
    venue_edit.add_argument("--language")
    venue_edit.add_argument("--force", action="store_true", help="même si un autre lieu de la marque a ce nom")
    hours = venue.add_parser("hours", help="les horaires d'un lieu (les délais ne comptent que les heures d'ouverture)")
    hours.add_argument("code", metavar="LIEU", help="le code du lieu")
    hours.add_argument("--brand", required=True)
    hours.add_argument(
        "--weekly", help="« mon-fri 09:00-12:00,14:00-19:00; sat 10:00-18:00 » (jours non cités : fermé)"
    )
    hours.add_argument("--closed", action="append", default=[], metavar="JOUR", help="fermé ce jour-là (AAAA-MM-JJ)")
    hours.add_argument("--day", action="append", default=[], metavar="JOUR=PLAGES", help="2026-12-24=09:00-13:00")
    hours.add_argument("--time-zone", help="le fuseau horaire du lieu (par défaut Europe/Paris)")
    hours.add_argument("--clear", action="store_true", help="oublie ses horaires : toujours ouvert")
    poster = venue.add_parser("poster", help="écrit l'affiche imprimable d'un lieu (SVG et PNG)")
    poster.add_argument("code", metavar="LIEU", help="le code du lieu")
    poster.add_argument("--brand", help="la marque du lieu (nécessaire quand plusieurs marques ont un lieu de ce code)")
    poster.add_argument("--out", type=Path, help="où l'écrire (par défaut DATA_DIR/posters)")
    posters = venue.add_parser("posters", help="écrit l'affiche de chaque lieu d'une marque")
    posters.add_argument("--brand", required=True)
    posters.add_argument("--out", type=Path, help="où les écrire (par défaut DATA_DIR/posters)")
    for printing in (poster, posters):
        printing.add_argument("--logo", type=Path, help="le logo de la marque, PNG ou JPEG, imprimé en haut")
        printing.add_argument("--colour", "--color", help="la couleur de la marque, #RRVVBB (son nom et le code court)")
    for action, helped in (
        (
            "archive",
            "hors de la recherche par position, plus d'avis sur aucun canal (ses données et ses liens restent)",
        ),
        ("unarchive", "annule archive"),
    ):
        archive = venue.add_parser(action, help=helped)
        archive.add_argument("code", metavar="LIEU", help="le code du lieu")
        archive.add_argument("--brand", required=True)
    venue_list = venue.add_parser("list", help="liste les lieux, une ligne JSON chacun")
    venue_list.add_argument("--brand")

    export = sub.add_parser("export", help="chaque avis avec son analyse et ses réponses")
    export.add_argument("--brand")
    export.add_argument("--venue")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument(
        "--separator", choices=(";", ","), default=";",
        help="entre les cellules CSV : « ; » (par défaut) pour un tableur en français, « , » pour un en anglais",
    )  # fmt: skip
    export.add_argument("--output", "-o", type=Path, help="fichier à écrire (par défaut la sortie standard)")
    export.add_argument("--since", help="les avis à partir de ce jour (AAAA-MM-JJ, UTC) ou de cet instant (ISO 8601)")
    export.add_argument("--until", help="les avis d'avant ce jour (AAAA-MM-JJ, UTC) ou cet instant (ISO 8601)")
    add_worker_parser(sub)

    reanalyze = sub.add_parser("reanalyze", help="analyse de nouveau chaque avis enregistré, avec la progression")
    reanalyze.add_argument("--brand")

    vocab = sub.add_parser("vocab", help="le vocabulaire d'une marque : les noms que l'analyse doit connaître")
    vocab_sub = vocab.add_subparsers(dest="action", required=True, metavar="ACTION")
    vocab_add = vocab_sub.add_parser("add", help="ajoute un terme")
    vocab_add.add_argument("--brand", required=True)
    vocab_add.add_argument("--label", required=True, help="PER, ORG, LOC, PRODUCT ou MISC")
    vocab_add.add_argument("--id", help="identifiant commun à plusieurs graphies (par défaut : tiré du texte)")
    vocab_add.add_argument("text")
    vocab_list = vocab_sub.add_parser("list", help="liste les termes, une ligne JSON chacun")
    vocab_list.add_argument("--brand", required=True)
    vocab_remove = vocab_sub.add_parser("remove", help="retire un terme")
    vocab_remove.add_argument("--brand", required=True)
    vocab_remove.add_argument("--label", help="seulement sous cette étiquette")
    vocab_remove.add_argument("text")

    staff = sub.add_parser("staff", help="salons d'équipe (les groupes Telegram où la marque répond)")
    staff_sub = staff.add_subparsers(dest="action", required=True, metavar="ACTION")
    invite = staff_sub.add_parser(
        "invite", help="un code à usage unique : « /link CODE » dans un groupe en fait un salon d'équipe"
    )
    invite.add_argument("--brand", required=True)
    invite.add_argument(
        "--venue", help="un salon pour les avis de ce lieu seulement (par défaut : le salon de la marque)"
    )
    invite.add_argument("--hours", type=float, default=24.0, help="durée de validité du code en heures (par défaut 24)")
    staff_rooms = staff_sub.add_parser("rooms", help="liste les salons d'équipe reliés, une ligne JSON chacun")
    staff_rooms.add_argument("--brand")

    news = sub.add_parser(
        "news", help="« vous l'avez dit, nous l'avons fait » : messages aux clients abonnés aux nouvelles d'un lieu"
    )
    news_sub = news.add_subparsers(dest="action", required=True, metavar="ACTION")
    news_send = news_sub.add_parser(
        "send", help="leur envoie un message, dans les limites de Telegram, avec la progression"
    )
    news_count = news_sub.add_parser("count", help="combien le recevraient")
    for news_parser in (news_send, news_count):
        news_parser.add_argument("--brand", required=True)
        news_parser.add_argument("--venue", required=True)
        news_parser.add_argument("--since", help="les clients abonnés à partir de ce jour (AAAA-MM-JJ, UTC)")
        news_parser.add_argument("--until", help="les clients abonnés avant ce jour (AAAA-MM-JJ, UTC)")
    news_send.add_argument("--text", help="le message (texte brut)")
    news_send.add_argument("--file", type=Path, help="lit le message dans ce fichier (« - » pour l'entrée standard)")

    inbox = sub.add_parser("inbox", help="l'index de la boîte de réception de l'admin web").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    reindex = inbox.add_parser(
        "reindex", help="indexe les avis enregistrés avant l'index (reprend où il s'est arrêté : relancez-le)"
    )
    reindex.add_argument("--brand", help="une marque (par défaut : toutes)")
    mail = sub.add_parser(
        "mail", help="alertes et résumés quotidiens par e-mail des admins de marque (avec PAROLE_SMTP_HOST)"
    )
    mail_sub = mail.add_subparsers(dest="action", required=True, metavar="ACTION")
    mail_add = mail_sub.add_parser("add", help="l'adresse d'un admin (de nouveau : change ce qu'il reçoit)")
    mail_add.add_argument("--email", required=True)
    mail_add.add_argument("--name", default="", help="le nom par lequel les e-mails le saluent")
    mail_add.add_argument(
        "--no-alerts", action="store_true", help="pas d'alerte pour une note basse ou une réclamation"
    )
    mail_add.add_argument("--no-digest", action="store_true", help="pas de résumé quotidien par lieu")
    mail_add.add_argument(
        "--venue", action="append", default=[], help="les e-mails de ce lieu seulement (répétable ; par défaut : tous)"
    )
    mail_remove = mail_sub.add_parser("remove", help="n'écrit plus à une adresse")
    mail_remove.add_argument("--email", required=True)
    for mail_parser in (
        mail_add,
        mail_remove,
        mail_sub.add_parser("list", help="les adresses de la marque (lignes JSON)"),
    ):
        mail_parser.add_argument("--brand", required=True)
    policy = sub.add_parser(
        "policy", help="quels avis ouvrent un ticket (demandent une réponse), par marque ou par lieu"
    )
    policy_sub = policy.add_subparsers(dest="action", required=True, metavar="ACTION")
    policy_parsers = (
        policy_sub.add_parser("show", help="la règle en vigueur et d'où elle vient (JSON)"),
        policy_sub.add_parser("set", help="change certaines de ses règles (les autres restent)"),
        policy_sub.add_parser(
            "reset",
            help="oublie celle du lieu (celle de la marque s'applique) ou de la marque (celle par défaut s'applique)",
        ),
    )
    for policy_parser in policy_parsers:
        policy_parser.add_argument("--brand", required=True)
        policy_parser.add_argument("--venue", help="la règle d'un lieu, qui l'emporte sur celle de la marque")
    policy_set = policy_parsers[1]
    policy_set.add_argument("--max-rating", type=int, help="les notes jusqu'à celle-ci ouvrent un ticket (0 : aucune)")
    policy_set.add_argument(
        "--kinds",
        help="les types qui en ouvrent un, séparés par des virgules (« '' » pour aucun) : complaint,critique,…",
    )
    policy_set.add_argument("--suggestion", choices=("yes", "no"), help="une suggestion en ouvre un")
    policy_set.add_argument(
        "--contact", choices=("yes", "no"), help="un client qui demande à être recontacté en ouvre un"
    )

    stats = sub.add_parser("stats", help="volume d'avis, notes, taux et délai de réponse par lieu")
    stats.add_argument("--brand")
    stats.add_argument("--venue", help="un lieu (avec --brand)")
    stats.add_argument("--since", help="à partir de ce jour (AAAA-MM-JJ, UTC) ou de cet instant (ISO 8601)")
    stats.add_argument("--until", help="avant ce jour (AAAA-MM-JJ, UTC) ou cet instant (ISO 8601)")
    stats.add_argument("--json", action="store_true", help="un objet JSON par ligne au lieu des tableaux")

    nlp = sub.add_parser("nlp", help="l'analyse, depuis le terminal").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    analyze = nlp.add_parser("analyze", help="affiche l'analyse de chaque texte, une ligne JSON chacun")
    analyze.add_argument("texts", nargs="*", metavar="TEXTE")
    analyze.add_argument("--file", type=Path, help="analyse chaque ligne de ce fichier (« - » pour l'entrée standard)")
    analyze.add_argument("--brand", help="avec le vocabulaire de cette marque")
    analyze.add_argument("--rating", type=int, choices=range(1, 6), help="la note donnée avec le texte")
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
                forget_location=args.no_location, language=args.language, force=args.force,
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
    progress = Progress(len(venues), "affiches") if args.action == "posters" else None
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
        progress = Progress(total, "retours")
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
        progress = Progress(len(chats), "clients")

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
            progress = Progress(int(await redis.zcard(keys.feedbacks(brand))), f"retours de {brand}")
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
            wanted = Recipient(
                args.email, args.name, alerts=not args.no_alerts, digest=not args.no_digest, venues=tuple(args.venue)
            )
            _print_json({"brand": args.brand, **(await recipients.add(args.brand, wanted)).to_json()})
        elif args.action == "remove":
            if not await recipients.remove(args.brand, args.email):
                raise NotFound("e-mail address", args.email)
            _print_json({"brand": args.brand, "removed": args.email})
        else:
            for recipient in await recipients.list(args.brand):
                _print_json({"brand": args.brand, **recipient.to_json()})
    if settings.smtp is None:
        notice(problem("mail_no_smtp", "PAROLE_SMTP_HOST is not set: no e-mail goes out until it is"))
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
