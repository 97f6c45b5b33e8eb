"""The composition root: builds Redis, the store, the dialog engine and the Telegram application."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

from bot.botapi.http import AiohttpRequest
from bot.botapi.outbound import Limits, Outbound, Priority
from bot.botapi.sending import call_telegram
from bot.channels.telegram.admin_chat import AdminChat
from bot.channels.telegram.customer import PrivateChats, TelegramCustomers
from bot.channels.telegram.dispatch import ChatLanes, SlowDown
from bot.channels.telegram.routing import add_handlers
from bot.channels.telegram.staff_room import StaffRoomChat
from bot.channels.web.channel import WebCustomers
from bot.channels.web.pages import LiveHub, WebChat
from bot.channels.web.transcript import Transcript
from bot.channels.whatsapp import limits as whatsapp_limits
from bot.channels.whatsapp.cloud_api import PAIR_BURST, PAIR_PER_SECOND, WHATSAPP_OUTBOUND, CloudApi
from bot.channels.whatsapp.customer import Template, WhatsAppCustomers
from bot.channels.whatsapp.links import whatsapp_link
from bot.channels.whatsapp.webhook import WhatsAppWebhook
from bot.channels.whatsapp.window import ServiceWindow
from bot.config import Settings
from bot.conversations.chat import CustomerChat
from bot.customers.news import NewsSender, NewsStore, SendBudget
from bot.customers.privacy import CustomerData
from bot.editing.editor import Editor
from bot.editing.in_force import EngineSettings, LiveDialogs, ScopeKit
from bot.editing.logins import WebLogins
from bot.editing.overrides import OverrideStore
from bot.errors import ConfigError, RedisUnavailable, problem
from bot.ops import Metrics
from bot.seam.outgoing import Channels
from bot.staff.auth import StaffAuth
from bot.staff.cards import Cards
from bot.staff.mail import MailAlerts, Mailer
from bot.staff.notifier import ANALYSIS_WAIT, StaffNotifier
from bot.staff.pseudonyms import Pseudonyms
from bot.staff.relay import RELAY_WINDOW, Relay
from bot.staff.rooms import RoomStore
from bot.staff.tickets import TicketStore
from bot.storage.cluster import REDIS_UNAVAILABLE, cluster_client, raise_if_cancelled
from bot.storage.embedded import SharedRedis
from bot.storage.identity import KIOSK, WEB
from bot.storage.store import Store
from bot.storage.version import require_redis_7
from dialogs.engine import DialogEngine
from dialogs.flow import default_flow_path, load_flow
from dialogs.render import MessageRenderer, TemplateCatalog, default_templates_dir
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

REDIS_POOL_SIZE = 200  # connections a process opens at most to Redis (a standalone server)
REDIS_POOL_WAIT = 10.0  # seconds a command waits for one of them before failing


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    """Connect to `PAROLE_REDIS_URL` (a Redis Cluster for `redis+cluster://`), or start the embedded server
    under the data directory (or join the parole processes already using it: the last one out stops it)."""
    embedded: SharedRedis | None = None
    url = settings.redis_url
    if url is None:
        embedded = SharedRedis(settings.data_dir / "redis")
        await asyncio.to_thread(embedded.acquire)
        url = embedded.url
    if settings.redis_cluster:
        client = cluster_client(url, decode_responses=True, health_check_interval=30)
    else:
        # A pooled connection left over from before a Redis restart fails once when next used: reconnect and
        # send the command again (the server never saw it: the old one is gone).
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(RedisConnectionError,))
        # A burst of concurrent requests (a thousand live pages opening at once, a webhook burst) waits for a
        # pooled connection rather than failing: redis-py 8's default pool raises beyond 100 connections.
        pool = BlockingConnectionPool.from_url(
            url, decode_responses=True, health_check_interval=30, retry=retry,
            max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT,
        )  # fmt: skip
        client = Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool
    try:
        try:
            await client.ping()
        except (RedisConnectionError, RedisClusterException, OSError) as exc:
            raise RedisUnavailable(
                problem("redis_unreachable", "cannot reach Redis at {url}: {error}", url=_safe_url(url), error=str(exc))
            ) from exc
        except RedisError as exc:
            raise RedisUnavailable(
                problem("redis_refused", "Redis at {url} refused: {error}", url=_safe_url(url), error=str(exc))
            ) from exc
        await require_redis_7(client, where=problem("redis_at", "Redis at {url}", url=_safe_url(url)))
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.release)


def _safe_url(url: str) -> str:
    """The Redis URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


@dataclass(frozen=True, slots=True)
class DialogKit:
    """The pure parts, loaded once: templates, flow, engine (the defaults, before any admin's override)."""

    catalog: TemplateCatalog
    renderer: MessageRenderer
    engine: DialogEngine
    flow_path: Path
    engine_settings: EngineSettings


def load_dialogs(settings: Settings, *, templates_dir: Path | None = None, flow_path: Path | None = None) -> DialogKit:
    catalog = TemplateCatalog(templates_dir or default_templates_dir())
    flow_path = flow_path or default_flow_path()
    flow = load_flow(flow_path, catalog)
    engine_settings = EngineSettings(
        max_text_length=settings.max_text_length,
        conversation_timeout=settings.conversation_timeout,
        duplicate_window_hours=settings.duplicate_window_hours,
    )
    engine = engine_settings.engine(flow)
    return DialogKit(catalog, MessageRenderer(catalog), engine, flow_path, engine_settings)


def editor(store: Store, kit: DialogKit, settings: Settings | None = None) -> Editor:
    """The template and flow editor over the store's Redis (terminal, Telegram and web admins share it);
    with WhatsApp on, a template must fit WhatsApp's limits too."""
    checks = {"WhatsApp": whatsapp_limits.template_problem} if settings is not None and settings.whatsapp else {}
    return Editor(OverrideStore(store.redis), store, kit.catalog, flow_path=kit.flow_path, channel_checks=checks)


def live_dialogs(store: Store, kit: DialogKit, settings: Settings | None = None) -> LiveDialogs:
    """Each venue's templates and flow as its admins saved them, reloaded on change."""
    return LiveDialogs(editor(store, kit, settings), ScopeKit(kit.renderer, kit.engine, ""), kit.engine_settings)


def outbound(settings: Settings, redis: Redis) -> Outbound:
    """This process's share of Telegram's outbound limits, kept with the other processes in Redis."""
    return Outbound(redis, Limits(per_second=settings.outbound_per_second))


def build_application(
    settings: Settings, *, webhook: bool, outbound: Outbound | None = None, lanes: ChatLanes | None = None
) -> Application:  # type: ignore[type-arg]
    """python-telegram-bot's `Application` on our aiohttp HTTP layer, pointed at the configured Bot API;
    its calls keep `outbound`'s limits; with `lanes`, updates are handled in per-chat lanes, chats at once."""
    token = settings.require_token().reveal()
    builder: ApplicationBuilder = (  # type: ignore[type-arg]
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_url)
        .request(AiohttpRequest(outbound=outbound))
        .get_updates_request(AiohttpRequest(connection_pool_size=2, read_timeout=40.0))
    )
    if lanes is not None:
        builder = builder.concurrent_updates(lanes)
    if webhook:
        builder = builder.updater(None)
    return builder.build()


def standalone_bot(settings: Settings, outbound: Outbound | None = None) -> Bot:
    """A Bot API client without an `Application`, for processes that only send (the worker's notifier)."""
    request = AiohttpRequest(outbound=outbound)
    return Bot(settings.require_token().reveal(), base_url=settings.telegram_api_url, request=request)


async def bot_username(settings: Settings, bot: Bot | None = None) -> str:
    """The bot's username: from configuration, else asked from Telegram with getMe."""
    if settings.bot_username:
        return settings.bot_username
    if bot is None:
        if settings.telegram_token is None:
            raise ConfigError(
                "PAROLE_BOT_USERNAME",
                problem("config_username_needed", "is needed for deep links when PAROLE_TELEGRAM_TOKEN is not set"),
            )
        async with standalone_bot(settings) as bot:
            return str((await bot.get_me()).username)
    return str((await bot.get_me()).username)


@dataclass(frozen=True, slots=True)
class Staff:
    """The staff side: rooms, tickets, cards, the relay, the notifier, the room adapter, customers' data."""

    rooms: RoomStore
    tickets: TicketStore
    cards: Cards
    relay: Relay
    notifier: StaffNotifier
    room_chat: StaffRoomChat
    privacy: CustomerData
    news: NewsSender
    admin_chat: AdminChat
    live: LiveDialogs
    channels: Channels  # the customers' channels, through which the relay, news and privacy reach them


def staff_notifier(
    settings: Settings,
    store: Store,
    kit: DialogKit,
    bot: Bot,
    *,
    clock: Callable[[], float] = time.time,
    analysis_wait: float = ANALYSIS_WAIT,
    live: LiveDialogs | None = None,
) -> StaffNotifier:
    """The staff notifier and what it needs (rooms, tickets, cards): all `parole worker` builds of the staff side."""
    rooms = RoomStore(store.redis)
    tickets = TicketStore(store.redis)
    cards = Cards(store, rooms, tickets, kit.renderer, bot, renderers=live or live_dialogs(store, kit))
    mail = None
    if settings.smtp is not None:
        mail = MailAlerts(Mailer(settings.smtp, store.redis), store, kit.renderer, web_url=settings.web_url)
    return StaffNotifier(
        store, rooms, tickets, cards, kit.renderer, bot,
        admin_ids=settings.admin_ids, analysis_wait=analysis_wait, clock=clock, mail=mail,
    )  # fmt: skip


def customer_channels(bot: Bot, username: str | None, *, web: Redis | None = None) -> Channels:
    """The channels customers reach this bot on: Telegram's private chats, and with `web` (the Redis of
    their transcripts, when `PAROLE_PUBLIC_URL` is set) the web chat and the kiosks."""
    channels = Channels({TelegramCustomers.name: TelegramCustomers(bot, username)})
    if web is not None:
        transcript = Transcript(web)
        channels.add(WebCustomers(web, transcript, name=WEB))
        channels.add(WebCustomers(web, transcript, name=KIOSK))
    return channels


async def web_chat(
    settings: Settings, store: Store, chat: CustomerChat, metrics: Metrics, username: str | None
) -> WebChat:
    """The web chat's pages (`PAROLE_PUBLIC_URL` set), answering through the conversation core."""
    assert settings.public_url is not None
    return WebChat(
        store, chat, Transcript(store.redis), settings.public_url, username, settings.kiosk_gap, settings.kiosk_idle,
        metrics, LiveHub(store.redis), secret=await Pseudonyms(store.redis).secret(),
        whatsapp_link=functools.partial(whatsapp_link, settings.whatsapp.number) if settings.whatsapp else None,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class WhatsApp:
    """The WhatsApp channel of a process: its customers' adapter, its Graph API client and window."""

    customers: WhatsAppCustomers
    api: CloudApi
    window: ServiceWindow


def whatsapp(settings: Settings, store: Store, *, clock: Callable[[], float] = time.time) -> WhatsApp | None:
    """The WhatsApp channel, when it is on (`PAROLE_WHATSAPP_TOKEN` and `..._PHONE_NUMBER_ID`)."""
    config = settings.whatsapp
    if config is None:
        return None
    pacing = Outbound(
        store.redis,
        Limits(per_second=config.throughput, chat_per_second=PAIR_PER_SECOND, chat_burst=PAIR_BURST),
        where=WHATSAPP_OUTBOUND,
    )
    api = CloudApi(config.api_url, config.phone_number_id, config.token.reveal(), outbound=pacing, redis=store.redis)
    window = ServiceWindow(store.redis, clock)
    template = Template(config.reply_template, config.template_language) if config.reply_template else None
    return WhatsApp(WhatsAppCustomers(api, window, template), api, window)


def whatsapp_webhook(
    settings: Settings, side: WhatsApp, chat: CustomerChat, store: Store, relay: Relay | None = None
) -> WhatsAppWebhook:
    """The `/whatsapp` webhook, reading Meta's posts into `chat`; staff answers' statuses go to `relay`."""
    config = settings.whatsapp
    assert config is not None
    return WhatsAppWebhook(
        chat, store, side.api, side.window, phone_number_id=config.phone_number_id,
        app_secret=config.app_secret.reveal(), verify_token=config.verify_token.reveal(),
        on_answer_status=relay.answer_status if relay is not None else None,
    )  # fmt: skip


def staff(
    settings: Settings,
    store: Store,
    kit: DialogKit,
    bot: Bot,
    username: str,
    *,
    clock: Callable[[], float] = time.time,
    analysis_wait: float = ANALYSIS_WAIT,
    relay_window: float = RELAY_WINDOW,
) -> Staff:
    channels = customer_channels(bot, username, web=store.redis if settings.web_chat else None)
    live = live_dialogs(store, kit, settings)
    notifier = staff_notifier(settings, store, kit, bot, clock=clock, analysis_wait=analysis_wait, live=live)
    rooms, tickets, cards = notifier.rooms, notifier.tickets, notifier.cards
    relay = Relay(store, rooms, tickets, cards, kit.renderer, bot, channels, window=relay_window, clock=clock)
    news = NewsSender(store, NewsStore(store.redis), kit.renderer, channels, SendBudget(store.redis))
    auth = StaffAuth(bot, settings.admin_ids)
    room_chat = StaffRoomChat(
        rooms, tickets, cards, relay, auth, kit.renderer,
        bot_username=username, language_for=kit.engine.language_for, clock=clock, news=news,
    )  # fmt: skip
    news.report_to_room = room_chat.news_report
    privacy = CustomerData(store, tickets, kit.renderer, channels, clock=clock)
    admin_chat = AdminChat(
        live.editor, WebLogins(store.redis, settings.web_url), rooms, auth, cards,
        bot_username=username, language_for=kit.engine.language_for,
    )  # fmt: skip
    return Staff(rooms, tickets, cards, relay, notifier, room_chat, privacy, news, admin_chat, live, channels)


def customer_chat(
    settings: Settings,
    store: Store,
    kit: DialogKit,
    staff: Staff,
    clock: Callable[[], float] = time.time,
) -> CustomerChat:
    """The conversation core, answering on the staff side's customer channels."""
    return CustomerChat(
        store,
        kit.engine,
        kit.renderer,
        channels=staff.channels,
        duplicate_window=settings.duplicate_window_hours * 3600,
        conversation_timeout=settings.conversation_timeout,
        clock=clock,
        relay=staff.relay,
        privacy=staff.privacy,
        news=staff.news.news,
        live=staff.live,
    )


def slow_down(bot: Bot, kit: DialogKit) -> SlowDown:
    """What tells a chat that floods the bot to slow down (`slow_down`, in the sender's language)."""

    async def say(chat_id: int, language: str | None) -> None:
        text = kit.renderer.render(MessagePart("slow_down"), kit.engine.language_for(language))
        await call_telegram(
            functools.partial(bot.send_message, chat_id, text, parse_mode="HTML"),
            idempotent=False,
            what="slow down",
            priority=Priority.ANSWER if chat_id > 0 else Priority.CARD,
        )

    return say


def route(application: Application, chat: CustomerChat, staff: Staff) -> None:  # type: ignore[type-arg]
    """Every Telegram handler of the bot, in one call (`bot.channels.telegram.routing`)."""
    add_handlers(
        application,
        customers=PrivateChats(chat),
        staff_rooms=staff.room_chat,
        operators=staff.admin_chat,
        handled=chat.handled,
    )


async def sweep_abandoned(store: Store, *, every: float, clock: Callable[[], float] = time.time) -> None:
    """Forever: mark conversations that timed out as abandoned and stream their feedback."""
    while True:
        try:
            done = await store.abandon_expired(clock())
            if done:
                log.info("abandoned %d feedback(s) after the conversation timeout", len(done))
        except REDIS_UNAVAILABLE as exc:
            log.warning("abandon sweep failed: %s", exc)
        raise_if_cancelled()
        await asyncio.sleep(every)
