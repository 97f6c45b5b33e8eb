"""The webhook endpoint (aiohttp): checks Telegram's secret header, then processes the update in full
before answering, so a 200 means its effects are stored."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from redis.exceptions import RedisError
from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.store import Store

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1 << 20
APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)  # type: ignore[type-arg]
SECRET: web.AppKey[str | None] = web.AppKey("secret", str)
STORE: web.AppKey[Store] = web.AppKey("store", Store)
FAILURES: web.AppKey[dict[int, BaseException]] = web.AppKey("failures", dict)


def record_failures(application: Application) -> dict[int, BaseException]:  # type: ignore[type-arg]
    """Keep the error each update ended with, so the webhook can answer 503 when storage failed."""
    failures: dict[int, BaseException] = {}

    async def on_error(update: object, context: CallbackContext) -> None:  # type: ignore[type-arg]
        if isinstance(update, Update) and context.error is not None:
            failures[update.update_id] = context.error
            if not isinstance(context.error, (RedisError, OSError)):
                log.error("update %s failed", update.update_id, exc_info=context.error)
            else:
                log.error("storage unavailable for update %s: %s", update.update_id, context.error)

    application.add_error_handler(on_error)
    return failures


async def receive_update(request: web.Request) -> web.Response:
    secret = request.app[SECRET]
    given = request.headers.get(SECRET_HEADER, "")
    if secret is not None and not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("webhook call without the right secret from %s", request.remote)
        return web.json_response({"ok": False, "description": "forbidden"}, status=403)
    if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
        return web.json_response({"ok": False, "description": "update too large"}, status=413)
    body = await request.read()
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update object")
    except ValueError as exc:
        return web.json_response({"ok": False, "description": f"bad update: {exc}"}, status=400)
    application = request.app[APPLICATION]
    try:
        update = Update.de_json(data, application.bot)
    except Exception:  # any malformed shape: never let Telegram retry it forever
        log.exception("update %s could not be read; dropped", data.get("update_id"))
        return web.json_response({"ok": True})
    if not _has_valid_ids(update):  # python-telegram-bot reads such a shape but fails on it later
        log.warning("update %s has a chat or a user without a numeric id; dropped", update.update_id)
        return web.json_response({"ok": True})
    await application.process_update(update)
    error = request.app[FAILURES].pop(update.update_id, None)
    if isinstance(error, (RedisError, OSError)):
        # Telegram redelivers: the update is processed again once Redis is back.
        return web.json_response({"ok": False, "description": "storage unavailable"}, status=503)
    return web.json_response({"ok": True})


def _has_valid_ids(update: Update) -> bool:
    """Tell whether the update's chat and user, when it has them, have the integer ids Telegram gives."""
    chat, user = update.effective_chat, update.effective_user
    return all(
        isinstance(who.id, int) and not isinstance(who.id, bool) for who in (chat, user) if who is not None
    )


async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].redis.ping()
    except (RedisError, OSError) as exc:
        return web.json_response({"ok": False, "redis": str(exc)}, status=503)
    return web.json_response({"ok": True, "redis": "up"})


def webhook_app(application: Application, store: Store, *, path: str, secret: str | None) -> web.Application:  # type: ignore[type-arg]
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app[APPLICATION] = application
    app[SECRET] = secret
    app[STORE] = store
    app[FAILURES] = record_failures(application)
    app.router.add_post(path, receive_update)
    app.router.add_get("/healthz", healthz)
    return app
