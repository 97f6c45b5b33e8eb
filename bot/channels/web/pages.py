"""The web chat's pages on `parole serve` (aiohttp): a venue's landing page, the chat, the kiosk, the live
connection, the customer's data file.

- `GET /v/{token or short code}`: the landing page (every channel that is on, in the browser's language).
- `GET /c/{token}`, `POST /c/{token}`: the chat. Each answer is a form post (then a redirect: it works with
  JavaScript off); with JavaScript on, `static/chat.js` posts the same forms and keeps the page live.
- `GET /k/{token}`, `POST /k/{token}`: the kiosk, for a tablet at the counter: a new customer for each
  person, back to the start after the thanks or when left alone.
- `GET /live`: server-sent events of the customer's transcript, from whichever process wrote them.
- `GET /file/{token}`: a file the bot sent the customer (their data), to them only.

A web customer is an anonymous id: a random value in an HttpOnly, SameSite cookie (Secure over https),
and the customer is a hash of it, so nothing stored or logged can be turned back into the cookie. Every
form carries a CSRF token (an HMAC of the customer); posts are limited per client address and per
customer; the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import jinja2
import yaml
from aiohttp import web
from redis.asyncio import Redis

from bot.channels.web.transcript import Transcript, event
from bot.conversations.chat import CustomerChat
from bot.errors import BusyElsewhere
from bot.ops import Metrics
from bot.seam.inbound import Inbound
from bot.storage import keys
from bot.storage.cluster import REDIS_UNAVAILABLE
from bot.storage.identity import KIOSK, WEB, CustomerId
from bot.storage.store import Store
from bot.storage.venues import deep_link
from dialogs.catalog import default_templates_dir
from dialogs.types import Conversation, VenueRef

log = logging.getLogger(__name__)

CUSTOMER_COOKIE: Final = "parole_customer"
KIOSK_COOKIE: Final = "parole_kiosk_person"  # the person at the kiosk now: a session cookie, renewed per person
DEVICE_COOKIE: Final = "parole_kiosk"  # the kiosk itself (its gap between two feedbacks)
COOKIE_DAYS: Final = 365
MAX_FORM_BYTES: Final = 16 * 1024
MAX_TURN: Final = 2**53  # a form's turn number (the update id of what it posts)
POSTS_PER_ADDRESS: Final = (120, 60)  # at most 120 posts a minute from one client address
POSTS_PER_CUSTOMER: Final = (20, 10)  # at most 20 posts in 10 seconds from one customer
PAGES_PER_ADDRESS: Final = (300, 60)
KEEP_ALIVE: Final = 15.0  # seconds between two comments on a quiet live connection
POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_UNAVAILABLE, BusyElsewhere)  # the turn was not stored: try again
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SHORT = re.compile(r"[A-Za-z0-9]{4,12}")
LANGUAGES: Final = ("fr", "en")
STATIC: Final = default_templates_dir() / "web" / "chat" / "static"


@dataclass
class WebChat:
    """What the web chat's pages need, built by the composition root."""

    store: Store
    chat: CustomerChat
    transcript: Transcript
    public_url: str
    bot_username: str | None
    kiosk_gap: float
    kiosk_idle: float
    metrics: Metrics
    hub: LiveHub
    secret: bytes = b""
    pages: jinja2.Environment | None = None
    words: dict[str, dict[str, str]] | None = None
    whatsapp_link: Callable[[str], str] | None = None  # a venue's wa.me link from its short code, when WhatsApp is on

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")


WEB_CHAT: Final = web.AppKey("web_chat", WebChat)


def add_web_chat(app: web.Application, chat: WebChat) -> None:
    """Serve the web chat on `app` (the webhook's, or the one `parole serve` starts for it)."""
    chat.pages = jinja2.Environment(
        loader=jinja2.FileSystemLoader(default_templates_dir() / "web" / "chat"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    chat.words = yaml.safe_load((default_templates_dir() / "web" / "chat" / "words.yaml").read_text(encoding="utf-8"))
    app[WEB_CHAT] = chat
    app.middlewares.append(_headers)
    app.router.add_get("/v/{code}", landing)
    app.router.add_get("/c/{token}", chat_page)
    app.router.add_post("/c/{token}", chat_post)
    app.router.add_get("/k/{token}", kiosk_page)
    app.router.add_post("/k/{token}", kiosk_post)
    app.router.add_get("/live", live)
    app.router.add_get("/file/{token}", download)
    app.router.add_static("/static/", STATIC, append_version=True)
    app.on_shutdown.append(_end_pages)
    app.cleanup_ctx.append(_hub_context)


async def _end_pages(app: web.Application) -> None:
    app[WEB_CHAT].hub.end_pages()


async def _hub_context(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[WEB_CHAT].hub.close()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if WEB_CHAT in request.app:
        response.headers.setdefault("Content-Security-Policy", POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


# --- who is asking ----------------------------------------------------------------------------------


def language_of(request: web.Request) -> str:
    """The first of the browser's languages (`Accept-Language`) that parole speaks; French otherwise."""
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("Accept-Language", "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            with contextlib.suppress(ValueError):
                quality = float(params.strip()[2:])
        ranked.append((quality, tag.strip().lower()[:2]))
    for _, language in sorted(ranked, key=lambda item: -item[0]):
        if language in LANGUAGES:
            return language
    return "fr"


def _customer_of(value: str, channel: str) -> CustomerId:
    """The customer a cookie names: a hash of it (the cookie is the only proof of who they are)."""
    return CustomerId(channel, hashlib.sha256(value.encode()).hexdigest()[:32])


def _cookie(request: web.Request, name: str) -> str | None:
    value = request.cookies.get(name)
    return value if value is not None and _COOKIE_VALUE.fullmatch(value) else None


def _new_cookie() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


def _set_cookie(response: web.StreamResponse, chat: WebChat, name: str, value: str, *, days: int | None) -> None:
    response.set_cookie(
        name, value, max_age=days * 86400 if days else None, httponly=True, samesite="Lax", secure=chat.secure, path="/"
    )


def _csrf(chat: WebChat, customer: CustomerId) -> str:
    return hmac.new(chat.secret, f"csrf\n{customer.key}".encode(), hashlib.sha256).hexdigest()[:32]


def log_name(chat: WebChat, customer: CustomerId | None) -> str:
    """Who a log line is about: a pseudonym of the customer (never the cookie, nor the stored id)."""
    if customer is None:
        return "-"
    return "W" + hmac.new(chat.secret, f"log\n{customer.key}".encode(), hashlib.sha256).hexdigest()[:8].upper()


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


async def _within_limits(chat: WebChat, limits: list[tuple[str, tuple[int, int]]]) -> bool:
    """Count this request against each (who, (at most, per seconds)) window; False when one is over."""
    now = time.time()
    async with chat.store.redis.pipeline(transaction=False) as pipe:
        for who, (_, per) in limits:
            key = keys.web_rate(who, int(now // per))
            pipe.incr(key)
            pipe.expire(key, per * 2)
        counts = (await pipe.execute())[::2]
    return all(int(count) <= most for count, (_, (most, _)) in zip(counts, limits, strict=True))


# --- pages ------------------------------------------------------------------------------------------


def _words(chat: WebChat, language: str) -> dict[str, str]:
    assert chat.words is not None
    return chat.words[language]


def _page(chat: WebChat, name: str, status: int = 200, **context: Any) -> web.Response:
    assert chat.pages is not None
    body = chat.pages.get_template(name).render(**context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _notice(chat: WebChat, language: str, title: str, text: str, status: int, **extra: Any) -> web.Response:
    words = _words(chat, language)
    return _page(chat, "notice.html", status, lang=language, w=words, title=words[title], text=words[text], **extra)


async def _venue(chat: WebChat, code: str) -> tuple[VenueRef, str] | None:
    """The venue a landing page or a chat names, and its token: by deep-link token, or by short code."""
    if _TOKEN.fullmatch(code):
        venue = await chat.store.venue_by_token(code)
        if venue is not None:
            return venue, code
    if _SHORT.fullmatch(code):
        by_code = await chat.store.venue_by_short_code(code.upper())
        if by_code is not None:
            full = await chat.store.get_venue(by_code.brand, by_code.code)
            return by_code, full.token
    return None


async def landing(request: web.Request) -> web.StreamResponse:
    chat = request.app[WEB_CHAT]
    language = language_of(request)
    if not await _within_limits(chat, [(f"page:{_address(request)}", PAGES_PER_ADDRESS)]):
        return _notice(chat, language, "slow_down_title", "slow_down", 429)
    found = await _venue(chat, request.match_info["code"])
    if found is None:
        chat.metrics.web_requests.labels("landing", "unknown venue").inc()
        return _notice(chat, language, "unknown_venue_title", "unknown_venue", 404)
    venue, token = found
    if venue.archived:  # its QR code still hangs somewhere: say why it takes no feedback
        chat.metrics.web_requests.labels("landing", "archived venue").inc()
        return _notice(chat, language, "venue_archived_title", "venue_archived", 410)
    telegram = deep_link(chat.bot_username, token) if chat.bot_username else None
    whatsapp = None
    if chat.whatsapp_link is not None:
        whatsapp = chat.whatsapp_link((await chat.store.get_venue(venue.brand, venue.code)).short_code)
    chat.metrics.web_requests.labels("landing", "ok").inc()
    return _page(
        chat, "landing.html", lang=language, w=_words(chat, language), venue=venue,
        chat_url=f"/c/{token}", telegram_url=telegram, whatsapp_url=whatsapp,
    )  # fmt: skip


async def chat_page(request: web.Request) -> web.StreamResponse:
    return await _show(request, kiosk=False)


async def kiosk_page(request: web.Request) -> web.StreamResponse:
    return await _show(request, kiosk=True)


async def chat_post(request: web.Request) -> web.StreamResponse:
    return await _post(request, kiosk=False)


async def kiosk_post(request: web.Request) -> web.StreamResponse:
    return await _post(request, kiosk=True)


async def _show(request: web.Request, *, kiosk: bool) -> web.StreamResponse:
    """The chat page; a customer new to this venue is greeted first (as a scan of its QR code)."""
    chat = request.app[WEB_CHAT]
    started = time.perf_counter()
    page = "kiosk" if kiosk else "chat"
    language = language_of(request)
    if not await _within_limits(chat, [(f"page:{_address(request)}", PAGES_PER_ADDRESS)]):
        return _notice(chat, language, "slow_down_title", "slow_down", 429)
    found = await _venue(chat, request.match_info["token"])
    if found is None:
        chat.metrics.web_requests.labels(page, "unknown venue").inc()
        return _notice(chat, language, "unknown_venue_title", "unknown_venue", 404)
    venue, token = found
    if venue.archived:
        chat.metrics.web_requests.labels(page, "archived venue").inc()
        return _notice(chat, language, "venue_archived_title", "venue_archived", 410)
    cookie_name = KIOSK_COOKIE if kiosk else CUSTOMER_COOKIE
    value = _cookie(request, cookie_name)
    device = _cookie(request, DEVICE_COOKIE) if kiosk else None
    new_device = None
    if kiosk and device is None:
        device = new_device = _new_cookie()
    if kiosk and request.query.get("next") == "1":
        value = None  # the next person
    new_value = None
    if value is None:
        if kiosk and device is not None:
            wait = await chat.store.redis.pttl(keys.kiosk_last(device))
            if wait > 0:
                response = _notice(
                    chat, language, "kiosk_wait_title", "kiosk_wait", 200, refresh=max(1, round(wait / 1000))
                )
                _keep_device(response, chat, new_device)
                return response
        value = new_value = _new_cookie()
    customer = _customer_of(value, KIOSK if kiosk else WEB)
    conversation = (await chat.store.load_chat(customer)).conversation
    try:
        if conversation is None or conversation.venue is None or conversation.venue.code != venue.code:
            log.info("web %s: customer %s starts at %s", page, log_name(chat, customer), venue.code)
            await _turn(chat, customer, language, text=f"/start {token}")
            conversation = (await chat.store.load_chat(customer)).conversation
    except UNAVAILABLE:
        return _notice(chat, language, "busy_title", "busy", 503)
    messages, last = await chat.transcript.messages(customer)
    done = kiosk and _finished(conversation)
    response = _page(
        chat, "chat.html", lang=language, w=_words(chat, language), venue=venue, messages=messages, last=last,
        action=f"/{'k' if kiosk else 'c'}/{token}", csrf=_csrf(chat, customer), turn=secrets.randbelow(MAX_TURN),
        kiosk=kiosk, done=done, idle=round(chat.kiosk_idle), mode=KIOSK if kiosk else WEB,
    )  # fmt: skip
    if new_value is not None:
        _set_cookie(response, chat, cookie_name, new_value, days=None if kiosk else COOKIE_DAYS)
    _keep_device(response, chat, new_device)
    response.headers["Cache-Control"] = "no-store"
    chat.metrics.web_requests.labels(page, "ok").inc()
    chat.metrics.web_latency.labels(page).observe(time.perf_counter() - started)
    return response


def _keep_device(response: web.StreamResponse, chat: WebChat, device: str | None) -> None:
    if device is not None:
        _set_cookie(response, chat, DEVICE_COOKIE, device, days=COOKIE_DAYS)


async def _turn(
    chat: WebChat,
    customer: CustomerId,
    language: str,
    *,
    text: str | None = None,
    button: str | None = None,
    clicked: int | None = None,
    turn: int | None = None,
) -> None:
    update = turn if turn is not None else secrets.randbelow(MAX_TURN)
    if button is not None:
        inbound = Inbound(update, customer, language, button_data=button, clicked_message_id=clicked)
    else:
        inbound = Inbound(update, customer, language, message_id=update, text=text)
    await chat.chat.handle(inbound)


async def _post(request: web.Request, *, kiosk: bool) -> web.StreamResponse:
    """One answer of the customer: a text typed or a button clicked."""
    chat = request.app[WEB_CHAT]
    started = time.perf_counter()
    page = "kiosk" if kiosk else "chat"
    language = language_of(request)
    wants_json = "application/json" in request.headers.get("Accept", "")
    customer: CustomerId | None = None

    def refuse(outcome: str, title: str, text: str, status: int) -> web.StreamResponse:
        chat.metrics.web_requests.labels(f"{page} post", outcome).inc()
        log.info("web %s post refused (%s, %d): customer %s", page, outcome, status, log_name(chat, customer))
        if wants_json:
            return web.json_response({"ok": False, "error": _words(chat, language)[text]}, status=status)
        return _notice(chat, language, title, text, status)

    if request.content_length is None or request.content_length > MAX_FORM_BYTES:
        return refuse("too large", "bad_request_title", "too_large", 413)
    value = _cookie(request, KIOSK_COOKIE if kiosk else CUSTOMER_COOKIE)
    if value is None:
        return refuse("no cookie", "bad_request_title", "no_cookie", 403)
    customer = _customer_of(value, KIOSK if kiosk else WEB)
    address = _address(request)
    if not await _within_limits(chat, [(f"post:{address}", POSTS_PER_ADDRESS), (customer.key, POSTS_PER_CUSTOMER)]):
        return refuse("rate limited", "slow_down_title", "slow_down", 429)
    found = await _venue(chat, request.match_info["token"])
    if found is None:
        return refuse("unknown venue", "unknown_venue_title", "unknown_venue", 404)
    if found[0].archived:
        return refuse("archived venue", "venue_archived_title", "venue_archived", 410)
    form = await request.post()
    if not hmac.compare_digest(str(form.get("csrf", "")), _csrf(chat, customer)):
        return refuse("csrf", "bad_request_title", "bad_form", 403)
    try:
        turn = int(str(form.get("turn", "")))
        after = int(str(form.get("after", "0")))
        clicked = int(str(form.get("message", "0"))) or None
    except ValueError:
        return refuse("bad form", "bad_request_title", "bad_form", 400)
    if not 0 <= turn < MAX_TURN:
        return refuse("bad form", "bad_request_title", "bad_form", 400)
    button, text = form.get("button"), form.get("text")
    try:
        if isinstance(button, str) and button:
            await _turn(chat, customer, language, button=button[:64], clicked=clicked, turn=turn)
        elif isinstance(text, str) and text.strip():
            await chat.transcript.append(customer, [event("add", "customer", text.strip())], mark=f"echo:{turn}")
            await _turn(chat, customer, language, text=text, turn=turn)
        else:
            return refuse("empty", "bad_request_title", "empty", 400)
    except UNAVAILABLE:
        return refuse("busy", "busy_title", "busy", 503)
    if kiosk:
        await _kiosk_after_turn(request, chat, customer)
    chat.metrics.web_requests.labels(f"{page} post", "ok").inc()
    elapsed = time.perf_counter() - started
    chat.metrics.web_latency.labels(f"{page} post").observe(elapsed)
    log.info("web %s post: customer %s at %s, %.0f ms", page, log_name(chat, customer), found[0].code, elapsed * 1000)
    if wants_json:
        events = await chat.transcript.events(customer, after=after)
        return web.json_response({"ok": True, "events": events, "turn": secrets.randbelow(MAX_TURN)})
    raise web.HTTPSeeOther(f"{request.path}#last")


def _finished(conversation: Conversation | None) -> bool:
    """A feedback was given (or given up) and nothing is under way."""
    return conversation is not None and conversation.step is None and conversation.feedback_id is not None


async def _kiosk_after_turn(request: web.Request, chat: WebChat, customer: CustomerId) -> None:
    """A kiosk's feedback that just ended starts the kiosk's gap before the next person's."""
    device = _cookie(request, DEVICE_COOKIE)
    conversation = (await chat.store.load_chat(customer)).conversation
    if device is not None and _finished(conversation):
        await chat.store.redis.set(keys.kiosk_last(device), 1, px=max(1, round(chat.kiosk_gap * 1000)), nx=True)


# --- live pages and files ---------------------------------------------------------------------------


#: What a live page's queue gets when the process stops: its connection ends at once (the browser reconnects,
#: to another process), instead of holding the process's shutdown until the next keep-alive.
_BYE: Final[dict[str, Any]] = {}


class LiveHub:
    """One pattern subscription per process; each open page gets its customer's new events."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._pages: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def subscribe(self, customer: CustomerId) -> asyncio.Queue[dict[str, Any]]:
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._listen())
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._pages.setdefault(keys.web_live(customer), set()).add(queue)
        await asyncio.wait_for(self._ready.wait(), 10)
        return queue

    def unsubscribe(self, customer: CustomerId, queue: asyncio.Queue[dict[str, Any]]) -> None:
        pages = self._pages.get(keys.web_live(customer))
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[keys.web_live(customer)]

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.psubscribe(keys.WEB_LIVE_PATTERN)
            self._ready.set()
            async for message in pubsub.listen():
                if message.get("type") != "pmessage":
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                for queue in list(self._pages.get(channel, ())):
                    with contextlib.suppress(asyncio.QueueFull):  # a page that reads nothing loses events
                        queue.put_nowait(json.loads(message["data"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8

    def end_pages(self) -> None:
        """End every open page's connection (the process is stopping)."""
        for pages in list(self._pages.values()):
            for queue in list(pages):
                while queue.full():
                    queue.get_nowait()
                queue.put_nowait(_BYE)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the events after `after`, then each new one as it is written."""
    chat = request.app[WEB_CHAT]
    kiosk = request.query.get("mode") == KIOSK
    value = _cookie(request, KIOSK_COOKIE if kiosk else CUSTOMER_COOKIE)
    if value is None:
        raise web.HTTPForbidden(text="no customer")
    try:
        after = int(request.query.get("after", "0"))
        # A browser that reconnects by itself keeps the URL and says what it got last.
        after = max(after, int(request.headers.get("Last-Event-ID", "0")))
    except ValueError:
        raise web.HTTPBadRequest(text="after and Last-Event-ID must be numbers") from None
    customer = _customer_of(value, KIOSK if kiosk else WEB)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue = await chat.hub.subscribe(customer)
    chat.metrics.web_live.inc()
    try:
        for item in await chat.transcript.events(customer, after=after):
            await _send_event(response, item)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEP_ALIVE)
            except TimeoutError:
                await response.write(b": still here\n\n")
                continue
            if item is _BYE:
                break
            await _send_event(response, item)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        chat.hub.unsubscribe(customer, queue)
        chat.metrics.web_live.dec()
    return response


async def _send_event(response: web.StreamResponse, item: dict[str, Any]) -> None:
    await response.write(f"id: {item['n']}\ndata: {json.dumps(item, ensure_ascii=False)}\n\n".encode())


async def download(request: web.Request) -> web.StreamResponse:
    """A file the bot sent the customer, to that customer only."""
    chat = request.app[WEB_CHAT]
    token = request.match_info["token"]
    raw = await chat.store.redis.get(keys.web_document(token)) if _TOKEN.fullmatch(token) else None
    stored = json.loads(raw) if raw else None
    owners = [_customer_of(v, c).key for v, c in ((_cookie(request, CUSTOMER_COOKIE), WEB),
                                                   (_cookie(request, KIOSK_COOKIE), KIOSK)) if v]  # fmt: skip
    if stored is None or stored["customer"] not in owners:
        return _notice(chat, language_of(request), "unknown_file_title", "unknown_file", 404)
    filename = re.sub(r"[^A-Za-z0-9_.-]", "_", stored["filename"])
    return web.Response(
        body=stored["content"].encode(), content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )  # fmt: skip


__all__ = ["WEB_CHAT", "LiveHub", "WebChat", "add_web_chat", "language_of"]
