"""`parole web`: the web admin's process (templates, flows, history, dashboard, inbox, tickets and e-mail
addresses, whose page sends its test e-mails through `PAROLE_SMTP_*`), and `parole web
login-link`. With a Telegram token it handles tickets through the staff side's relay, as the staff rooms do."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app import bot_username, editor, load_dialogs, open_redis, outbound, staff, standalone_bot
from bot.config import Settings
from bot.editing.editor import Admin
from bot.errors import InvalidInput, problem
from bot.storage.store import Store


def add_parser(sub: Any) -> None:
    """Add `web` to the `parole` command line."""
    web = sub.add_parser(
        "web", help="l'admin web (modèles, parcours) ; « web login-link » affiche un lien de connexion"
    )
    web.add_argument("action", nargs="?", choices=("serve", "login-link"), default="serve")
    web.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (par défaut 127.0.0.1)")
    web.add_argument("--port", type=int, default=8081, help="port d'écoute (par défaut 8081)")
    web.add_argument(
        "--brand", help="login-link : pour un admin de cette marque (par défaut : un opérateur, toutes les marques)"
    )
    web.add_argument(
        "--user", default="terminal", help="login-link : le nom enregistré avec les modifications de l'admin"
    )


async def run_web(args: argparse.Namespace, settings: Settings) -> int:
    from bot.editing.logins import WebLogins
    from bot.web.admin import serve_web

    async with open_redis(settings) as redis:
        store = Store(redis)
        logins = WebLogins(redis, settings.web_url)
        if args.action == "login-link":
            if args.brand:
                await store.get_brand(args.brand)
            print(await logins.link(Admin(" ".join(args.user.split())[:80] or "terminal", args.brand)))
            return 0
        if not 0 < args.port < 65536:
            raise InvalidInput(problem("cli_port", "--port must be 1-65535, not {port}", port=args.port))
        secure = settings.web_secure_cookies
        kit = load_dialogs(settings)
        if settings.telegram_token is None:  # tickets shown, not handled: their relay needs the bot
            await serve_web(
                editor(store, kit, settings), logins, host=args.host, port=args.port, secure_cookies=secure,
                smtp=settings.smtp,
            )  # fmt: skip
            return 0
        async with standalone_bot(settings, outbound(settings, redis)) as bot:
            relay = staff(settings, store, kit, bot, await bot_username(settings, bot)).relay
            await serve_web(
                editor(store, kit, settings), logins, host=args.host, port=args.port, secure_cookies=secure,
                relay=relay, smtp=settings.smtp,
            )  # fmt: skip
    return 0
