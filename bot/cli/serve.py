"""`parole serve`: the bot, by long polling or behind a webhook, until it is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.app import (
    Staff,
    WhatsApp,
    build_application,
    customer_chat,
    load_dialogs,
    open_redis,
    outbound,
    route,
    slow_down,
    staff,
    sweep_abandoned,
    web_chat,
    whatsapp,
    whatsapp_webhook,
)
from bot.channels.telegram.dispatch import ChatLanes, park_claimed
from bot.channels.telegram.menus import register_menus
from bot.channels.telegram.webhook import METRICS, webhook_app
from bot.channels.web.pages import add_web_chat
from bot.channels.webhooks import require_secret
from bot.config import Settings
from bot.errors import ConfigError, problem
from bot.storage.durability import warn_about_durability
from bot.storage.lane import lane_for
from bot.storage.store import Store

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_member"]


@dataclass(frozen=True, slots=True)
class Listen:
    """Where the webhook server listens; `None` for long polling."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class RunningBot:
    """A started bot: its Telegram application, its store and its staff side (rooms, tickets, notifier)."""

    application: Application  # type: ignore[type-arg]
    store: Store
    staff: Staff
    whatsapp: WhatsApp | None = None


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    listen: Listen | None,
    web_listen: Listen | None = None,
    sweep_every: float = 30.0,
    notify_every: float | None = None,
    analysis_wait: float | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[RunningBot]:
    """Start the whole bot (Redis, Telegram application, webhook server or poller) and stop it on exit.

    The staff notifier runs in `parole worker`, not here (None, the default); a test that wants it in this
    process gives `notify_every`, how long it waits for new feedback in each round, or calls
    `staff.notifier.tick()` itself; `analysis_wait` how long a card waits for the analysis before it goes
    out without it.
    """
    webhook_url = settings.webhook_url
    secret = None
    if listen is not None:
        if webhook_url is None:
            raise ConfigError("PAROLE_WEBHOOK_URL", problem("config_webhook_url", "is required for --webhook"))
        secret = require_secret(settings.webhook_secret, "PAROLE_WEBHOOK_SECRET", mode="--webhook")
    if settings.whatsapp is not None and listen is None:
        raise ConfigError(
            "PAROLE_WHATSAPP_TOKEN",
            problem("config_whatsapp_webhook", "turns WhatsApp on, whose webhook needs `parole serve --webhook`"),
        )
    kit = load_dialogs(settings)
    async with open_redis(settings) as redis:
        await warn_about_durability(redis)
        lane = lane_for(redis)  # the hot path's lean connection (None on a cluster: redis-py's pipelines)
        store = Store(redis, lane=lane)
        lanes = ChatLanes()
        application = build_application(
            settings, webhook=listen is not None, outbound=outbound(settings, redis), lanes=lanes
        )
        await application.initialize()
        runner: web.AppRunner | None = None
        tasks: list[asyncio.Task[None]] = []
        wa = whatsapp(settings, store, clock=clock)
        staff_side: Staff | None = None
        try:
            username = settings.bot_username or application.bot.username
            waits = {"analysis_wait": analysis_wait} if analysis_wait is not None else {}
            staff_side = staff(settings, store, kit, application.bot, username, clock=clock, **waits)
            if wa is not None:
                staff_side.channels.add(wa.customers)
            chat = customer_chat(settings, store, kit, staff_side, clock)
            route(application, chat, staff_side)
            lanes.slow_down = slow_down(application.bot, kit)
            await application.start()
            await register_menus(application.bot, operators=settings.admin_ids)
            if listen is not None and webhook_url is not None and secret is not None:
                path = urlparse(webhook_url).path or "/"
                server = webhook_app(application, store, path=path, secret=secret)
                if settings.web_chat:
                    add_web_chat(server, await web_chat(settings, store, chat, server[METRICS], username))
                if wa is not None:
                    whatsapp_webhook(settings, wa, chat, store, staff_side.relay).mount(server)
                runner = web.AppRunner(server)
                await runner.setup()
                await web.TCPSite(runner, listen.host, listen.port).start()
                await application.bot.set_webhook(webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
                log.info("webhook server on %s:%s%s", listen.host, listen.port, path)
            else:
                application.add_error_handler(park_claimed(application.update_queue))  # first: it stops the others
                application.add_error_handler(_log_error)
                await application.bot.delete_webhook()
                assert application.updater is not None
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=30)
                log.info("long polling as @%s", username)
                if settings.web_chat and web_listen is not None:  # the web chat needs a server of its own
                    server = webhook_app(application, store, path=None, secret=None)
                    add_web_chat(server, await web_chat(settings, store, chat, server[METRICS], username))
                    runner = web.AppRunner(server)
                    await runner.setup()
                    await web.TCPSite(runner, web_listen.host, web_listen.port).start()
                    log.info("web chat on %s:%s", web_listen.host, web_listen.port)
            tasks.append(asyncio.create_task(sweep_abandoned(store, every=sweep_every, clock=clock)))
            tasks.append(asyncio.create_task(staff_side.news.keep_resuming()))  # broadcasts a stopped process left
            tasks.append(asyncio.create_task(staff_side.relay.pictures.keep_resuming()))  # customers' pictures, too
            if notify_every is not None:
                tasks.append(asyncio.create_task(staff_side.notifier.run(notify_every)))
            yield RunningBot(application, store, staff_side, wa)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if staff_side is not None:
                await staff_side.news.stop()  # leases given back: another bot process goes on
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if runner is not None:
                await runner.cleanup()  # finishes the requests in flight first
            if staff_side is not None:
                await staff_side.relay.pictures.stop()  # customers' pictures under way: given back, as broadcasts
            if application.running:
                await application.stop()
            await application.shutdown()
            with contextlib.suppress(Exception):  # Redis may be what is failing: the records are then lost, no more
                await store.flush_soon()  # the deferred records (`Store.write_soon`), before the connections go
            if lane is not None:
                await lane.aclose()
            if wa is not None:
                await wa.api.close()


async def _log_error(update: object, context: CallbackContext) -> None:  # type: ignore[type-arg]
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)


async def serve(settings: Settings, *, listen: Listen | None, web_listen: Listen | None = None) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_bot(settings, listen=listen, web_listen=web_listen):
        # What start-up built (templates, flow, python-telegram-bot's classes) lives as long as the
        # process: out of the collector's sight, the collections that updates trigger stay short.
        gc.freeze()
        await stop.wait()
        log.info("stopping")
