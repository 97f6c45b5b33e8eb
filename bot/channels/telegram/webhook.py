"""The webhook endpoint (aiohttp): checks Telegram's secret header (`bot.channels.webhooks`), then processes
the update in full before answering, so a 200 means its effects are stored."""

from __future__ import annotations

import json
import logging
import math
import time

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext

from bot.channels.telegram.dispatch import ChatLanes, sender_of_json
from bot.channels.telegram.updates import customer_update
from bot.channels.webhooks import authenticated, secret_header
from bot.errors import BusyElsewhere, UpdateClaimed
from bot.ops import UPDATE_ID, Metrics, stream_state
from bot.seam.inbound import Inbound
from bot.storage.cluster import REDIS_UNAVAILABLE
from bot.storage.store import Store

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1 << 20
#: How deeply an update's JSON may nest: Telegram's are a dozen levels deep at most.
MAX_UPDATE_DEPTH = 32
APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)  # type: ignore[type-arg]
STORE: web.AppKey[Store] = web.AppKey("store", Store)
FAILURES: web.AppKey[dict[int, BaseException]] = web.AppKey("failures", dict)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
# What makes the webhook answer 503 (Telegram delivers the update again later): Redis unreachable, the
# update's chat held by another process for longer than a turn can take, or the update itself in hand there.
UNAVAILABLE = (*REDIS_UNAVAILABLE, BusyElsewhere)


def record_failures(application: Application) -> dict[int, BaseException]:  # type: ignore[type-arg]
    """Keep the error each update ended with, so the webhook can answer 503 when storage failed."""
    failures: dict[int, BaseException] = {}

    async def on_error(update: object, context: CallbackContext) -> None:  # type: ignore[type-arg]
        if isinstance(update, Update | Inbound) and context.error is not None:
            failures[update.update_id] = context.error
            if isinstance(context.error, UpdateClaimed):  # in hand elsewhere: none of its handlers is to run
                log.info("update %s: %s; Telegram delivers it again", update.update_id, context.error)
                raise ApplicationHandlerStop
            if not isinstance(context.error, UNAVAILABLE):
                log.error("update %s failed", update.update_id, exc_info=context.error)
            else:
                log.error("storage unavailable for update %s: %s", update.update_id, context.error)

    application.add_error_handler(on_error)
    return failures


async def receive_update(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
        return web.json_response({"ok": False, "description": "update too large"}, status=413)
    started = time.perf_counter()
    metrics = request.app[METRICS]
    body = await request.read()
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not _is_id(data.get("update_id")):
            raise ValueError("not an update object")
        if _too_deep(data):
            raise ValueError(f"nested more than {MAX_UPDATE_DEPTH} levels deep")
    except RecursionError:
        metrics.updates.labels("bad").inc()
        return web.json_response({"ok": False, "description": "bad update: nested too deeply"}, status=400)
    except ValueError as exc:
        metrics.updates.labels("bad").inc()
        return web.json_response({"ok": False, "description": f"bad update: {exc}"}, status=400)
    application = request.app[APPLICATION]
    lanes = application.update_processor if isinstance(application.update_processor, ChatLanes) else None
    sender = sender_of_json(data)
    if lanes is not None and sender is not None and not lanes.admit(sender):
        # Refused before anything more is read of it (its chat floods the bot): it costs the flood no more.
        metrics.updates.labels("refused").inc()
        metrics.latency.observe(time.perf_counter() - started)
        return web.json_response({"ok": True})
    context = UPDATE_ID.set(data["update_id"])
    try:
        # A customer's message or button is read straight into an `Inbound`; the rest as an `Update`.
        update: Update | Inbound | None = customer_update(data)
        if update is None:
            try:
                update = Update.de_json(data, application.bot)
            except Exception:  # any malformed shape: never let Telegram retry it forever
                log.exception("update %s could not be read; dropped", data.get("update_id"))
                metrics.updates.labels("unreadable").inc()
                return web.json_response({"ok": True})
            if not _has_valid_ids(update):  # python-telegram-bot reads such a shape but fails on it later
                log.warning("update %s has a chat or a user without a numeric id; dropped", update.update_id)
                metrics.updates.labels("unreadable").inc()
                return web.json_response({"ok": True})
            if not _has_valid_texts(update):  # read as it came (a list for a text), the handlers would fail on it
                log.warning(
                    "update %s has a text, a caption or button data that is not a string; dropped", update.update_id
                )
                metrics.updates.labels("unreadable").inc()
                return web.json_response({"ok": True})
        # In the update's chat lane (`bot.channels.telegram.dispatch`), admitted above in this same step of
        # the event loop: behind that chat's earlier updates only.
        if lanes is not None:
            await lanes.run(sender, application.process_update(update))
        else:
            await application.process_update(update)
        error = request.app[FAILURES].pop(update.update_id, None)
    finally:
        UPDATE_ID.reset(context)
    metrics.latency.observe(time.perf_counter() - started)
    if error is not None:
        metrics.errors.labels(type(error).__name__).inc()
    if isinstance(error, UNAVAILABLE):
        # Telegram redelivers: the update is processed again once Redis is back.
        metrics.updates.labels("unavailable").inc()
        if not isinstance(error, BusyElsewhere):
            return web.json_response({"ok": False, "description": "storage unavailable"}, status=503)
        headers = {"Retry-After": str(max(1, math.ceil(error.retry_after)))} if error.retry_after is not None else None
        return web.json_response({"ok": False, "description": str(error)}, status=503, headers=headers)
    metrics.updates.labels("handled").inc()
    return web.json_response({"ok": True})


def _is_id(value: object) -> bool:
    """Tell whether JSON gave an integer (`true` and `false` read as Python's int too)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _too_deep(data: object) -> bool:
    """Tell whether JSON nests deeper than `MAX_UPDATE_DEPTH` (walked without recursion)."""
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_UPDATE_DEPTH:
            return True
        if isinstance(value, dict):
            pending.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
    return False


def _has_valid_ids(update: Update) -> bool:
    """Tell whether the update's chat and user, when it has them, have the integer ids Telegram gives."""
    chat, user = update.effective_chat, update.effective_user
    return all(isinstance(who.id, int) and not isinstance(who.id, bool) for who in (chat, user) if who is not None)


def _has_valid_texts(update: Update) -> bool:
    """Tell whether the update's message, when it has one, has a string for its text and caption (if any), and
    its button press a string for its data."""
    message = update.effective_message
    texts = (message.text, message.caption) if message is not None else ()
    query = update.callback_query
    data = (query.data,) if query is not None else ()
    return all(value is None or isinstance(value, str) for value in (*texts, *data))


async def healthz(request: web.Request) -> web.Response:
    """Redis reachable (else 503), and how far behind the analysis and the notifier are."""
    redis = request.app[STORE].redis
    try:
        await redis.ping()
        streams = await stream_state(redis)
    except REDIS_UNAVAILABLE as exc:
        return web.json_response({"ok": False, "redis": str(exc)}, status=503)
    lag = {s.group: {"lag": s.lag, "pending": s.pending} for s in streams}
    return web.json_response({"ok": True, "redis": "up", "stream": lag})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format: this process's counters and the figures read from Redis now."""
    figures = request.app[METRICS]
    try:
        await figures.refresh(request.app[STORE].redis)
    except REDIS_UNAVAILABLE as exc:
        log.warning("metrics: Redis figures unavailable: %s", exc)
    return web.Response(body=figures.exposition(), content_type="text/plain", charset="utf-8")


def webhook_app(application: Application, store: Store, *, path: str | None, secret: str | None) -> web.Application:  # type: ignore[type-arg]
    """The server of a bot process: the webhook at `path` (none in long polling), only for requests that carry
    `secret` (403 otherwise), with /healthz and /metrics."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app[APPLICATION] = application
    app[STORE] = store
    app[FAILURES] = record_failures(application)
    if path is not None:
        if secret is None:
            raise ValueError("a webhook needs its secret")
        app.router.add_post(
            path, authenticated(receive_update, secret_header(SECRET_HEADER, secret), channel="telegram")
        )
    app[METRICS] = Metrics()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
