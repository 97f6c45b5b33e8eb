"""The emulated Graph API server, its WhatsApp users, and the webhooks it delivers to the bot."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from whatsapp_emulator.checks import (
    ACCESS_TOKEN,
    INVALID_PARAMETER,
    OUTSIDE_WINDOW,
    UNDELIVERABLE,
    CloudApiError,
    check_interactive,
    check_template,
    check_text,
)
from whatsapp_emulator.media import (
    ATTACHMENTS,
    KINDS,
    MEDIA_ID_SECONDS,
    URL_SECONDS,
    StoredMedia,
    check_kind,
    download_url,
    expired,
    sample,
    unknown,
    url_hash,
)

DEFAULT_TOKEN = "EAAemulatedGraphApiAccessToken0123456789"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_NUMBER = "33180000000"
DEFAULT_APP_SECRET = "emulated0app0secret0123456789abcd"
WINDOW = 24 * 3600.0  # the customer service window: free-form messages only within it
API_VERSION = "v21.0"
JsonDict = dict[str, Any]


@dataclass
class WhatsAppUser:
    """A person on WhatsApp: their number (`wa_id`) and profile name."""

    wa_id: str
    name: str
    blocked: bool = False  # blocked the business, or left WhatsApp: sends are undeliverable


@dataclass
class SentMessage:
    """A message the emulator accepted from the bot."""

    id: str
    to: str
    type: str  # text, interactive or template
    payload: JsonDict
    text: str  # the text body, the interactive body, or the template's parameters joined
    choices: dict[str, str] = field(default_factory=dict)  # an interactive message's ids → titles
    template: str | None = None
    at: float = 0.0

    @property
    def titles(self) -> list[str]:
        return list(self.choices.values())


@dataclass
class ApiCall:
    """One request the bot made, with the emulator's answer."""

    path: str
    payload: object
    status: int
    response: JsonDict

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Delivery:
    """A webhook post: the bot's HTTP answer, and what the bot did with the API while handling it."""

    status: int
    body: str
    calls: list[ApiCall]

    @property
    def sent(self) -> list[JsonDict]:
        """The payloads of the messages the bot sent (accepted or not)."""
        return [c.payload for c in self.calls if isinstance(c.payload, dict) and "type" in c.payload]

    @property
    def failed(self) -> list[ApiCall]:
        return [c for c in self.calls if not c.ok]


class CloudApiEmulator:
    """The Graph API's WhatsApp messaging endpoints on 127.0.0.1, strict as Meta's, and the webhook's sender.

    `templates` are the approved message templates: name → language → number of body parameters.
    `clock` is the time the 24-hour window is counted in (a test moves it with the bot's).
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
        number: str = DEFAULT_NUMBER,
        app_secret: str = DEFAULT_APP_SECRET,
        templates: dict[str, dict[str, int]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.number = number
        self.app_secret = app_secret
        self.templates = templates if templates is not None else {}
        self.clock = clock
        self.users: dict[str, WhatsAppUser] = {}
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.read: list[str] = []  # ids of the users' messages the bot marked read
        self.webhook_url: str | None = None
        self._received: dict[str, str] = {}  # the users' message ids → their wa_id
        self._last_inbound: dict[str, float] = {}
        self._faults: list[tuple[int, str]] = []  # (error code, "send" | "read" | "media" | "download") next
        self.media: dict[str, StoredMedia] = {}  # what the users sent, by media id
        self.url_seconds = URL_SECONDS  # how long a media URL downloads (Meta's 5 minutes)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_get(ATTACHMENTS, self._download)
        app.router.add_get("/{version}/{media_id}", self._retrieve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> CloudApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The Graph API base URL with its version, as `PAROLE_WHATSAPP_API_URL`."""
        return f"http://127.0.0.1:{self.port}/{API_VERSION}"

    # --- the world -----------------------------------------------------------------------------------
    def add_user(self, name: str = "Camille", wa_id: str | None = None) -> WhatsAppUser:
        wa_id = wa_id or f"336{len(self.users) + 10000000:08d}"
        user = WhatsAppUser(wa_id, name)
        self.users[wa_id] = user
        return user

    def fail_next(self, code: int, *, times: int = 1, call: str = "send") -> None:
        """Answer the next `times` sends with the Graph API error `code` (`call="read"`: marks read; `"media"`:
        media lookups; `"download"`: media downloads)."""
        self._faults.extend([(code, call)] * times)

    def store_media(self, content: bytes, mime_type: str, *, kind: str = "image") -> str:
        """Keep a media a user sends in a message of `kind`, as Meta does; its media id. Refused (AssertionError)
        when such a message could not carry it (`whatsapp_emulator.media.KINDS`)."""
        check_kind(kind, content, mime_type)
        media_id = str(10**15 + next(self._ids))
        self.media[media_id] = StoredMedia(media_id, content, mime_type, kind, self.clock())
        return media_id

    def messages_to(self, user: WhatsAppUser) -> list[SentMessage]:
        return [m for m in self.sent if m.to == user.wa_id]

    def in_window(self, user: WhatsAppUser) -> bool:
        last = self._last_inbound.get(user.wa_id)
        return last is not None and self.clock() - last < WINDOW

    # --- webhooks ------------------------------------------------------------------------------------
    async def subscribe(self, url: str, verify_token: str) -> str:
        """Meta's verification handshake: GET the callback URL with a challenge, which it must echo.
        Returns the answer's body; raises AssertionError when the bot does not verify."""
        assert self._session is not None
        challenge = str(secrets.randbelow(10**9))
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        async with self._session.get(url, params=params) as response:
            body = await response.text()
            if response.status != 200 or body != challenge:
                raise AssertionError(f"verification failed: {response.status} {body[:200]!r}")
        self.webhook_url = url
        return body

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    async def post(self, body: bytes, *, signature: str | None = "sign") -> Delivery:
        """POST raw bytes to the webhook, signed with the app secret (or with `signature` as given; None:
        unsigned)."""
        assert self._session is not None and self.webhook_url is not None, "subscribe() first"
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = self.signature(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        first = len(self.calls)
        async with self._session.post(self.webhook_url, data=body, headers=headers) as response:
            text = await response.text()
            return Delivery(response.status, text, self.calls[first:])

    async def deliver(self, *values: JsonDict, entries: int = 1) -> Delivery:
        """Deliver change values (each a `value` of the `messages` field) in one signed post, spread over
        `entries` entries."""
        changes = [{"value": value, "field": "messages"} for value in values]
        per_entry = max(1, -(-len(changes) // entries))
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": changes[n : n + per_entry]}
                for n in range(0, len(changes), per_entry)
            ],
        }
        return await self.post(json.dumps(payload).encode())

    def value(self, user: WhatsAppUser, *messages: JsonDict) -> JsonDict:
        """A change value carrying `messages` from `user` (their inbound window opens now)."""
        for message in messages:
            self._received[message["id"]] = user.wa_id
        self._last_inbound[user.wa_id] = self.clock()
        return {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": self.number, "phone_number_id": self.phone_number_id},
            "contacts": [{"profile": {"name": user.name}, "wa_id": user.wa_id}],
            "messages": list(messages),
        }

    def status_value(self, message: SentMessage, status: str, *, error: int | None = None) -> JsonDict:
        """A change value saying what became of a message the bot sent."""
        item: JsonDict = {
            "id": message.id, "status": status, "timestamp": str(int(self.clock())), "recipient_id": message.to,
        }  # fmt: skip
        if error is not None:
            item["errors"] = [{"code": error, "title": CloudApiError(error, "").body()["error"]["message"]}]
        return {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": self.number, "phone_number_id": self.phone_number_id},
            "statuses": [item],
        }

    def message(self, user: WhatsAppUser, kind: str, content: JsonDict, **extra: Any) -> JsonDict:
        """One inbound message of `kind` (text, interactive, location, image, sticker, reaction...)."""
        return {
            "from": user.wa_id, "id": self._wamid(), "timestamp": str(int(self.clock())), "type": kind,
            kind: content, **extra,
        }  # fmt: skip

    async def send_text(self, user: WhatsAppUser, text: str) -> Delivery:
        return await self.deliver(self.value(user, self.message(user, "text", {"body": text})))

    async def choose(self, user: WhatsAppUser, message: SentMessage, title_or_id: str) -> Delivery:
        """The user taps a reply button, or picks a row of a list, of a message the bot sent them."""
        if message.to != user.wa_id or not message.choices:
            raise AssertionError(f"message {message.id} has no choices for {user.name}")
        chosen = next((i for i, t in message.choices.items() if title_or_id in (i, t)), None)
        if chosen is None:
            raise AssertionError(f"no choice {title_or_id!r} in {message.choices}")
        kind = "list_reply" if message.payload["interactive"]["type"] == "list" else "button_reply"
        reply = {"type": kind, kind: {"id": chosen, "title": message.choices[chosen]}}
        context = {"from": self.number, "id": message.id}
        return await self.deliver(self.value(user, self.message(user, "interactive", reply, context=context)))

    async def send_location(self, user: WhatsAppUser, latitude: float, longitude: float) -> Delivery:
        where = {"latitude": latitude, "longitude": longitude}
        return await self.deliver(self.value(user, self.message(user, "location", where)))

    async def send_media(
        self, user: WhatsAppUser, kind: str, *, caption: str | None = None, content: bytes | None = None,
        mime_type: str | None = None, media_id: str | None = None, filename: str | None = None,
    ) -> Delivery:  # fmt: skip
        """A message without text: image, audio, video, document, sticker, reaction, contacts, unsupported; an
        image, video or document may carry a caption, as on WhatsApp. A media's bytes (`content` of type
        `mime_type`, plausible ones by default) are kept for the bot to download; `media_id` sends one it gave
        (`store_media`), or one Meta does not keep (never, or more than 7 days ago)."""
        if caption is not None and kind not in ("image", "video", "document"):
            raise AssertionError(f"a WhatsApp {kind} message has no caption")
        if (content is not None or mime_type is not None or media_id is not None) and kind not in KINDS:
            raise AssertionError(f"a WhatsApp {kind} message carries no media")
        if kind not in KINDS:
            return await self._without_media(user, kind)
        if media_id is None:
            default_content, default_type = sample(kind)
            given = content if content is not None else default_content
            media_id = self.store_media(given, mime_type or default_type, kind=kind)
        stored = self.media.get(media_id)
        item: JsonDict = {"id": media_id, "mime_type": stored.mime_type if stored else mime_type or sample(kind)[1]}
        if stored is not None:
            item["sha256"] = stored.sha256_base64
        if kind == "document":
            item["filename"] = filename or "document.pdf"
        if caption is not None:
            item["caption"] = caption
        return await self.deliver(self.value(user, self.message(user, kind, item)))

    async def _without_media(self, user: WhatsAppUser, kind: str) -> Delivery:
        if kind == "reaction":
            last = self.messages_to(user)
            content: JsonDict = {"message_id": last[-1].id if last else self._wamid(), "emoji": "👍"}
        elif kind == "contacts":
            return await self._contacts(user)
        elif kind == "unsupported":
            message = self.message(user, "unsupported", {})
            del message["unsupported"]
            message["errors"] = [{"code": 131051, "title": "Message type unknown"}]
            return await self.deliver(self.value(user, message))
        else:
            raise AssertionError(f"no WhatsApp message of kind {kind!r}")
        return await self.deliver(self.value(user, self.message(user, kind, content)))

    async def _contacts(self, user: WhatsAppUser) -> Delivery:
        message = self.message(user, "contacts", {})
        del message["contacts"]
        message["contacts"] = [{"name": {"formatted_name": "Alex", "first_name": "Alex"}}]
        return await self.deliver(self.value(user, message))

    def _wamid(self) -> str:
        return "wamid.HBgL" + secrets.token_hex(12).upper()

    # --- the Graph API: media ------------------------------------------------------------------------
    async def _retrieve(self, request: web.Request) -> web.Response:
        """`GET /<version>/<media-id>`: where to download a media a user sent, for `url_seconds`."""
        try:
            status, response = 200, self._lookup(request)
        except CloudApiError as error:
            status, response = error.status, error.body()
        self.calls.append(ApiCall(request.path, dict(request.query), status, response))
        return web.json_response(response, status=status)

    def _lookup(self, request: web.Request) -> JsonDict:
        self._authorized(request)
        if request.match_info["version"] != API_VERSION:
            raise CloudApiError(INVALID_PARAMETER, f"unknown version {request.match_info['version']!r}")
        media_id = request.match_info["media_id"]
        number = request.query.get("phone_number_id")
        if number is not None and number != self.phone_number_id:  # "only if the media belongs to" that number
            raise CloudApiError(INVALID_PARAMETER, f"media {media_id} does not belong to phone number {number}")
        self._fault("media")
        media = self.media.get(media_id)
        if media is None or self.clock() - media.at > MEDIA_ID_SECONDS:
            raise unknown(media_id)
        expires = int(self.clock() + self.url_seconds)
        base = f"http://127.0.0.1:{self.port}"
        return {
            "messaging_product": "whatsapp", "url": download_url(base, self.app_secret, media.id, expires),
            "mime_type": media.mime_type, "sha256": media.sha256, "file_size": len(media.content), "id": media.id,
        }  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        """A media URL: the bytes, with the access token only, until the URL expires (then 404)."""
        try:
            self._authorized(request)
            self._fault("download")
            query = request.query
            media_id, expires, signed = query.get("mid", ""), query.get("ext", ""), query.get("hash", "")
            media = self.media.get(media_id)
            if media is None or not hmac.compare_digest(signed, url_hash(self.app_secret, media_id, _int(expires))):
                raise CloudApiError(INVALID_PARAMETER, "URL signature mismatch", status=404)
            if expired(expires, self.clock()):
                raise CloudApiError(INVALID_PARAMETER, "this media URL expired: retrieve the media again", status=404)
        except CloudApiError as error:
            self.calls.append(ApiCall(request.path, dict(request.query), error.status, error.body()))
            return web.json_response(error.body(), status=error.status)
        self.calls.append(ApiCall(request.path, dict(request.query), 200, {"bytes": len(media.content)}))
        return web.Response(body=media.content, headers={"Content-Type": media.mime_type})

    def _authorized(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise CloudApiError(ACCESS_TOKEN, "Error validating access token")

    # --- the Graph API: messages ----------------------------------------------------------------------
    async def _messages(self, request: web.Request) -> web.Response:
        try:
            payload: object = await request.json()
        except ValueError:
            payload = None
        try:
            status, response = 200, self._handle(request, payload)
        except CloudApiError as error:
            status, response = error.status, error.body()
        self.calls.append(ApiCall(request.path, payload, status, response))
        return web.json_response(response, status=status)

    def _handle(self, request: web.Request, payload: object) -> JsonDict:
        self._authorized(request)
        if request.match_info["phone_number_id"] != self.phone_number_id:
            number_id = request.match_info["phone_number_id"]
            raise CloudApiError(INVALID_PARAMETER, f"Object with ID '{number_id}' does not exist")
        if request.match_info["version"] != API_VERSION:
            raise CloudApiError(INVALID_PARAMETER, f"unknown version {request.match_info['version']!r}")
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            raise CloudApiError(INVALID_PARAMETER, "messaging_product must be whatsapp")
        if "status" in payload:
            return self._mark_read(payload)
        self._fault("send")
        return self._send(payload)

    def _fault(self, call: str) -> None:
        for n, (code, kind) in enumerate(self._faults):
            if kind == call:
                del self._faults[n]
                raise CloudApiError(code, "emulated error")

    def _mark_read(self, payload: JsonDict) -> JsonDict:
        unknown = payload.keys() - {"messaging_product", "status", "message_id", "typing_indicator"}
        if unknown or payload["status"] != "read":
            raise CloudApiError(INVALID_PARAMETER, f"a status update takes status=read and message_id: {payload}")
        if payload.get("message_id") not in self._received:
            raise CloudApiError(INVALID_PARAMETER, f"no message {payload.get('message_id')!r} received")
        self._fault("read")
        self.read.append(payload["message_id"])
        return {"success": True}

    def _send(self, payload: JsonDict) -> JsonDict:
        allowed = {"messaging_product", "recipient_type", "to", "type", "context", "text", "interactive", "template"}
        unknown = payload.keys() - allowed
        if unknown:
            raise CloudApiError(INVALID_PARAMETER, f"unexpected key {sorted(unknown)[0]!r}")
        if payload.get("recipient_type", "individual") != "individual":
            raise CloudApiError(INVALID_PARAMETER, "recipient_type must be individual")
        to, kind = payload.get("to"), payload.get("type", "text")
        if not isinstance(to, str) or not to.isdigit():
            raise CloudApiError(INVALID_PARAMETER, "to must be a phone number (digits)")
        if kind not in ("text", "interactive", "template") or kind not in payload:
            raise CloudApiError(INVALID_PARAMETER, f"type {kind!r} needs its object")
        if len([k for k in ("text", "interactive", "template") if k in payload]) != 1:
            raise CloudApiError(INVALID_PARAMETER, "one message object per send")
        choices: dict[str, str] = {}
        template = None
        if kind == "text":
            text = check_text(payload["text"])
        elif kind == "interactive":
            text, choices = check_interactive(payload["interactive"])
        else:
            template, parameters = check_template(payload["template"], self.templates)
            text = " | ".join(parameters)
        user = self.users.get(to)
        if user is None or user.blocked:
            raise CloudApiError(UNDELIVERABLE, "Message failed to send because of an unknown error")
        if kind != "template" and not self.in_window(user):
            raise CloudApiError(OUTSIDE_WINDOW, "more than 24 hours have passed since the customer last replied")
        message = SentMessage(self._wamid(), to, kind, payload, text, choices, template, self.clock())
        self.sent.append(message)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": message.id}],
        }


def _int(value: str) -> int:
    return int(value) if value.isdigit() else -1
