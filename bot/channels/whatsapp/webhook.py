"""The WhatsApp webhook on `parole serve` (aiohttp): Meta's verification handshake (GET), then every post
checked against `X-Hub-Signature-256` before anything is read, each message handled once, in the
customer's order, and 200 only once their effects are stored (503 when Redis is unavailable: Meta
delivers the post again, and what was already handled is not handled twice)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from aiohttp import web

from bot.channels.whatsapp.cloud_api import CloudApi
from bot.channels.whatsapp.deliveries import STATUSES, StaffAnswers
from bot.channels.whatsapp.keywords import command_for
from bot.channels.whatsapp.links import code_in
from bot.channels.whatsapp.updates import Incoming, Status, read_payload
from bot.channels.whatsapp.window import KEEP_SECONDS, ServiceWindow, handled_key, seen_key
from bot.conversations.chat import CustomerChat
from bot.errors import BusyElsewhere
from bot.seam.inbound import Inbound
from bot.storage.cluster import REDIS_UNAVAILABLE
from bot.storage.identity import CustomerId
from bot.storage.store import Store

log = logging.getLogger(__name__)

PATH: Final = "/whatsapp"
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
MAX_BODY: Final = 1 << 20
HANDLED_SECONDS: Final = 7 * 24 * 3600  # Meta redelivers a post for up to 7 days
UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (*REDIS_UNAVAILABLE, BusyElsewhere)


class AnswerStatus(Protocol):
    """What the staff side does with a staff answer's status (`Relay.answer_status`)."""

    async def __call__(self, customer: CustomerId, message: str, status: str, *, latest: bool) -> None: ...


class WhatsAppWebhook:
    """Reads Meta's posts into the conversation core."""

    def __init__(
        self,
        chat: CustomerChat,
        store: Store,
        api: CloudApi,
        window: ServiceWindow,
        *,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        on_answer_status: AnswerStatus | None = None,
    ) -> None:
        self.chat = chat
        self.answers = StaffAnswers(store.redis)
        self.on_answer_status = on_answer_status
        self.store = store
        self.api = api
        self.window = window
        self.phone_number_id = phone_number_id
        self._secret = app_secret.encode()
        self._verify_token = verify_token.encode()

    def mount(self, app: web.Application, path: str = PATH) -> None:
        """Add the webhook's routes to the server, and make `/healthz` fail while the token is refused."""
        app.router.add_get(path, self.verify)
        app.router.add_post(path, self.receive)
        app.middlewares.append(self._health)

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's handshake: echo `hub.challenge` when the mode and the verify token are right."""
        query = request.query
        given = query.get("hub.verify_token", "").encode()
        challenge = query.get("hub.challenge", "")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, self._verify_token):
            log.warning("WhatsApp verification refused (wrong mode or verify token) from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        if not challenge or len(challenge) > 256:
            return web.Response(status=400, text="hub.challenge missing")
        return web.Response(text=challenge)

    async def receive(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"ok": False, "description": "payload too large"}, status=413)
        body = await request.read()
        expected = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            log.warning(
                "WhatsApp post %s from %s: refused", "unsigned" if not given else "badly signed", request.remote
            )
            return web.json_response({"ok": False, "description": "bad signature"}, status=403)
        try:
            data = json.loads(body)
        except ValueError:
            return web.json_response({"ok": False, "description": "not JSON"}, status=400)
        batch = read_payload(data, self.phone_number_id)
        if batch.unreadable:
            log.warning("WhatsApp post: %d item(s) of an unknown shape skipped", batch.unreadable)
        for incoming in batch.messages:
            try:
                await self._handle(incoming)
            except UNAVAILABLE as exc:
                log.error("storage unavailable for WhatsApp message %s: %s", incoming.inbound.update_id, exc)
                return web.json_response({"ok": False, "description": "storage unavailable"}, status=503)
            except Exception:  # a bug with one message: the others still count, and Meta does not retry forever
                log.exception("WhatsApp message %s failed", incoming.inbound.update_id)
        for status in batch.statuses:
            try:
                await self._status(status)
            except UNAVAILABLE as exc:
                log.error("storage unavailable for WhatsApp status of %s: %s", status.wamid, exc)
                return web.json_response({"ok": False, "description": "storage unavailable"}, status=503)
            except Exception:
                log.exception("WhatsApp status of %s failed", status.wamid)
        return web.json_response({"ok": True})

    async def _status(self, status: Status) -> None:
        """A staff answer's status goes to the staff side; the others' failures are logged."""
        if status.status == "failed":
            log.warning("WhatsApp message %s failed to reach its customer (code %s)", status.wamid, status.error_code)
        if status.status not in STATUSES or self.on_answer_status is None:
            return
        found = await self.answers.find(status.wamid)
        if found is None:
            return
        customer, latest = found
        await self.on_answer_status(customer, status.wamid, status.status, latest=latest)

    async def _handle(self, incoming: Incoming) -> None:
        inbound = incoming.inbound
        async with self.store.redis.pipeline(transaction=False) as pipe:
            pipe.set(seen_key(inbound.customer), repr(self.window.clock()), ex=KEEP_SECONDS, get=True)
            pipe.exists(handled_key(incoming.wamid))
            previous, done = await pipe.execute()
        if done:
            log.info("WhatsApp message %s delivered again: already handled", inbound.update_id)
            return
        await self.chat.handle(await self._meaning(inbound, first=previous is None))
        await self.store.redis.set(handled_key(incoming.wamid), "1", ex=HANDLED_SECONDS)
        await self.api.post(
            {"messaging_product": "whatsapp", "status": "read", "message_id": incoming.wamid}, what="read receipt"
        )

    async def _meaning(self, inbound: Inbound, *, first: bool) -> Inbound:
        """What a text stands for: a command (typed, or a keyword), the venue of the `#CODE` it carries
        (`/start TOKEN`), or, as the first message of a customer the bot has never seen, `/start` (which
        asks the venue's code); otherwise the text itself."""
        text = inbound.text
        if text is None or text.startswith("/"):
            return inbound
        command = command_for(text)
        if command is not None:
            return dataclasses.replace(inbound, text=command)
        code = code_in(text)
        if code is not None:
            venue = await self.store.venue_by_short_code(code)
            token = (await self.store.get_venue(venue.brand, venue.code)).token if venue is not None else code
            return dataclasses.replace(inbound, text=f"/start {token}")
        if first and (await self.store.load_chat(inbound.customer)).conversation is None:
            return dataclasses.replace(inbound, text="/start")
        return inbound

    @web.middleware
    async def _health(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/healthz" and await self.api.token_refused():
            return web.json_response({"ok": False, "whatsapp": "the access token was refused"}, status=503)
        return await handler(request)
