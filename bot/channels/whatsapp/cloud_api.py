"""The Graph API's WhatsApp messaging endpoint, and its media (what customers send), one call at a time, its
errors read by their meaning.

A refusal is an outcome, not an exception: the caller decides what the customer, the staff room or the
log is told. Sends keep the number's throughput and each customer's pair rate, shared by every process
through the same limiter as Telegram's (`bot.botapi.outbound`, with WhatsApp's own keys). Throughput and
pair rate limits, and a service that says it is unavailable, are still retried after a pause (the message
was not taken; a throughput refusal pauses every process); a timeout or another server error is not (it
may have gone). A refused token is shared too: every process's `/healthz` fails until a send succeeds.
A media is looked up by its id, then downloaded from the URL Meta gives, with the token, within a byte limit,
its SHA-256 checked; those calls send nothing and are not paced, and any failure of the network is retried.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError
from yarl import URL

from bot.botapi.outbound import Outbound, OutboundKeys

log = logging.getLogger(__name__)

OUTSIDE_WINDOW_CODES: Final = frozenset({131047})
UNDELIVERABLE_CODES: Final = frozenset({131026, 131021, 131030})  # undeliverable, own number, not allowed
RATE_LIMIT_CODES: Final = frozenset({4, 80007, 130429, 131048, 131056})
TOKEN_CODES: Final = frozenset({190})
UNAVAILABLE_CODES: Final = frozenset({131016, 2})  # the service said it is unavailable: nothing was taken
PAIR_RATE_CODES: Final = frozenset({131056})  # one customer: the pause is theirs, not the number's
UNKNOWN_OBJECT_SUBCODE: Final = 33  # with code 100: "Object with ID ... does not exist" (a media id)
#: Meta's domains, where its media URLs are (`lookaside.fbsbx.com`): the token goes to no other host but the API's.
META_DOMAINS: Final = ("fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net")
RETRY_PAUSES: Final = (0.2, 1.0, 3.0)
# Meta's pair rate: about one message every 6 seconds to one customer, bursts allowed (a whole answer to
# what they just did); the throughput (`PAROLE_WHATSAPP_THROUGHPUT`) is the number's, across processes.
PAIR_PER_SECOND: Final = 1 / 6
PAIR_BURST: Final = 10
TOKEN_REFUSED_KEY: Final = "parole:whatsapp:token_refused"


def _outbound_key(name: str) -> str:
    return f"parole:{{whatsapp-outbound}}:{name}"


WHATSAPP_OUTBOUND: Final = OutboundKeys(
    bucket=_outbound_key("slots"), senders=_outbound_key("senders"), blocked=_outbound_key("blocked"),
    chat=lambda to: _outbound_key(f"chat:{to}"), group=lambda to: _outbound_key(f"group:{to}"),
)  # fmt: skip
TIMEOUT: Final = aiohttp.ClientTimeout(total=15, connect=5)


class Result(StrEnum):
    SENT = "sent"  # or, for a media lookup or download, got
    OUTSIDE_WINDOW = "outside_window"  # only a template reaches the customer now
    UNDELIVERABLE = "undeliverable"  # blocked us, or not on WhatsApp
    RATE_LIMITED = "rate_limited"  # still, after the retries
    TOKEN = "token"  # the access token expired or was revoked: nothing goes out until it is replaced
    REFUSED = "refused"  # a bad request (a bug: logged with the API's words)
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, the network
    GONE = "gone"  # a media id Meta does not know (any more), or a media URL that expired
    TOO_LARGE = "too_large"  # a media download longer than the caller takes


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What `GET /<media-id>` answers: where to download the media (for 5 minutes), its type, size and hash."""

    url: str
    mime_type: str
    file_size: int | None
    sha256: str | None

    @classmethod
    def read(cls, body: object) -> MediaInfo | None:
        """The answer's fields, None for a shape Meta does not answer with (`file_size` may come as text)."""
        if not isinstance(body, dict):
            return None
        url, mime_type, size, sha256 = body.get("url"), body.get("mime_type"), body.get("file_size"), body.get("sha256")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")) or not isinstance(mime_type, str):
            return None
        if isinstance(size, str) and size.isdigit():
            size = int(size)
        known_size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
        return cls(url, mime_type, known_size, sha256 if isinstance(sha256, str) and sha256 else None)


@dataclass(frozen=True, slots=True)
class Reply:
    """What the API answered: the outcome, the error code if any, and the sent message's id."""

    result: Result
    code: int | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is Result.SENT


def meaning(status: int, code: int | None) -> Result:
    """The outcome an HTTP status and Graph API error code stand for."""
    if status == 200:
        return Result.SENT
    if code in OUTSIDE_WINDOW_CODES:
        return Result.OUTSIDE_WINDOW
    if code in UNDELIVERABLE_CODES:
        return Result.UNDELIVERABLE
    if code in RATE_LIMIT_CODES or status == 429:
        return Result.RATE_LIMITED
    if code in TOKEN_CODES or status == 401:
        return Result.TOKEN
    if status >= 500 or code in UNAVAILABLE_CODES or code == 131000:
        return Result.UNAVAILABLE
    return Result.REFUSED


class CloudApi:
    """Posts to `<api_url>/<phone_number_id>/messages` with the access token, and fetches the media customers
    send (`<api_url>/<media-id>`, then its URL)."""

    def __init__(
        self,
        api_url: str,
        phone_number_id: str,
        token: str,
        *,
        pauses: tuple[float, ...] = RETRY_PAUSES,
        outbound: Outbound | None = None,
        redis: Redis | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """`outbound` paces the sends (none: unpaced); `redis` shares a refused token with other processes."""
        self._api_url = api_url.rstrip("/")
        self._phone_number_id = phone_number_id
        self.url = f"{self._api_url}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None
        self.pauses = pauses
        self.outbound = outbound
        self.redis = redis
        self.clock = clock
        self.token_expired = False  # set by a 190 until a call succeeds again (`/healthz` reports it)
        self.last_ok = 0.0  # when a call last succeeded in this process
        self.calls = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, payload: dict[str, Any], *, what: str) -> Reply:
        """One message (or a mark as read), retried while the API says it took nothing."""
        to = payload.get("to")
        pace = to if isinstance(to, str) else None  # marks as read are not messages
        reply, _ = await self._retried(functools.partial(self._once, payload), what=what, pace=pace)
        return reply

    async def media(self, media_id: str) -> tuple[Reply, MediaInfo | None]:
        """What Meta keeps of a media a customer sent (`GET /<media-id>`): its download URL (good for 5 minutes),
        type, size and hash. An id Meta does not know (never, or kept no longer: 7 days) is `Result.GONE`.
        Not paced: it sends nothing (the number's throughput counts messages)."""
        url = URL(f"{self._api_url}/{media_id}")
        reply, body = await self._retried(
            functools.partial(self._get, url, {"phone_number_id": self._phone_number_id}),
            what="media lookup",
            reading=True,
        )
        if not reply.ok:
            return reply, None
        info = MediaInfo.read(body)
        if info is None:
            log.warning("WhatsApp media %s: an answer of an unknown shape", media_id)
            return Reply(Result.REFUSED), None
        return reply, info

    async def download(self, info: MediaInfo, *, limit: int) -> tuple[Reply, bytes | None]:
        """The media's bytes, from its URL, with the access token (Meta's media URLs refuse a request without
        it): `Result.GONE` once the URL expired, `Result.TOO_LARGE` past `limit` bytes (not read further). The
        token only goes to Meta's hosts over HTTPS, or to the API's own host (the emulator's)."""
        if not may_carry_token(info.url, self._api_url):
            target = urlsplit(info.url)
            text = "WhatsApp media URL on %s://%s refused: the token goes only to Meta's hosts over HTTPS, or the API's"
            log.warning(text, target.scheme, target.netloc)
            return Reply(Result.REFUSED), None
        # As Meta wrote it: its signed query is not quoted again.
        download = functools.partial(self._get, URL(info.url, encoded=True), None, limit=limit)
        reply, content = await self._retried(download, what="media download", reading=True)
        if reply.ok and isinstance(content, bytes) and not _same_hash(content, info.sha256):
            log.warning("WhatsApp media: the bytes downloaded do not match their SHA-256")
            return Reply(Result.REFUSED), None
        return reply, content if reply.ok and isinstance(content, bytes) else None

    async def _retried(
        self,
        once: Callable[[], Awaitable[tuple[Reply, Any]]],
        *,
        what: str,
        pace: str | None = None,
        reading: bool = False,
    ) -> tuple[Reply, Any]:
        """A call, retried while the API says it took nothing (a GET, that changes nothing, while the service or
        the network fails); paced as a message to `pace` when given."""
        attempts = 0
        while True:
            if self.outbound is not None and pace is not None:
                await self.outbound.pace("private", pace)
            reply, body = await once()
            retry = reply.result is Result.RATE_LIMITED or (
                reply.result is Result.UNAVAILABLE and (reply.code in (*UNAVAILABLE_CODES, -1) or reading)
            )
            if not retry or attempts >= len(self.pauses):
                break
            pause = self.pauses[attempts]
            if reply.result is Result.RATE_LIMITED and reply.code not in PAIR_RATE_CODES and self.outbound:
                await self.outbound.block(pause)  # the number's throughput: every process waits
            await asyncio.sleep(pause)
            attempts += 1
        if reply.result is Result.TOKEN:
            await self._token_refused()
        elif reply.ok:
            await self._succeeded()
        elif reply.result is not Result.OUTSIDE_WINDOW:
            log.warning("WhatsApp refused the %s: %s (code %s)", what, reply.result, reply.code)
        return reply, body

    async def _token_refused(self) -> None:
        if not self.token_expired:
            log.error("WhatsApp: the access token was refused (expired or revoked): set a new PAROLE_WHATSAPP_TOKEN")
        self.token_expired = True
        if self.redis is not None:
            try:
                await self.redis.set(TOKEN_REFUSED_KEY, f"{self._fingerprint}:{self.clock()!r}")
            except RedisError as exc:
                log.warning("cannot tell the other processes the WhatsApp token was refused: %s", exc)

    async def _succeeded(self) -> None:
        self.last_ok = self.clock()
        if self.token_expired:
            self.token_expired = False
            if self.redis is not None:
                try:
                    await self.redis.delete(TOKEN_REFUSED_KEY)
                except RedisError as exc:
                    log.warning("cannot tell the other processes the WhatsApp token works again: %s", exc)

    @property
    def _fingerprint(self) -> str:
        """The token's, so that a refusal of an old token (processes restarted with a new one) does not count."""
        return hashlib.sha256(self._headers["Authorization"].encode()).hexdigest()[:16]

    async def token_refused(self) -> bool:
        """Whether this token was refused, here or by another process, since this process last sent anything."""
        if self.token_expired or self.redis is None:
            return self.token_expired
        try:
            shared = await self.redis.get(TOKEN_REFUSED_KEY)
        except RedisError:
            return False
        if shared is None:
            return False
        fingerprint, _, at = (shared.decode() if isinstance(shared, bytes) else str(shared)).partition(":")
        try:
            return fingerprint == self._fingerprint and float(at) > self.last_ok
        except ValueError:
            return False

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        self.calls += 1
        return self._session

    async def _once(self, payload: dict[str, Any]) -> tuple[Reply, Any]:
        try:
            post = self._session_now().post(self.url, data=json.dumps(payload), headers=self._headers)
            async with post as response:
                status = response.status
                body = await _json(response)
        except aiohttp.ClientConnectorError:
            return Reply(Result.UNAVAILABLE, -1), None  # never connected: nothing was sent, retry
        except (TimeoutError, aiohttp.ClientError):
            return Reply(Result.UNAVAILABLE), None  # it may have gone: not retried
        result, code = _outcome(status, body)
        message_id = None
        if result is Result.SENT and isinstance(body, dict):
            messages = body.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                message_id = str(messages[0].get("id"))
        return Reply(result, code, message_id), body

    async def _get(self, url: URL, query: dict[str, str] | None, *, limit: int | None = None) -> tuple[Reply, Any]:
        """A GET with the token: its JSON, or with `limit` its bytes (at most `limit`; more is `TOO_LARGE`)."""
        headers = {"Authorization": self._headers["Authorization"]}
        try:
            async with self._session_now().get(url, params=query, headers=headers) as response:
                status = response.status
                if limit is None or status != 200:
                    body = await _json(response)
                else:
                    body = await _read_at_most(response, limit)
                    if body is None:
                        return Reply(Result.TOO_LARGE), None
        except (TimeoutError, aiohttp.ClientError):
            return Reply(Result.UNAVAILABLE), None
        result, code = _outcome(status, body)
        if status == 404 or (code == 100 and _subcode(body) == UNKNOWN_OBJECT_SUBCODE):
            result = Result.GONE
        return Reply(result, code), body


def may_carry_token(url: str, api_url: str) -> bool:
    """Whether a media URL may get the access token: on the API's own host, or over HTTPS on a host of Meta's
    (`META_DOMAINS`, or under one)."""
    target = urlsplit(url)
    if target.netloc == urlsplit(api_url).netloc:
        return True
    host = (target.hostname or "").rstrip(".")
    return target.scheme == "https" and any(host == domain or host.endswith(f".{domain}") for domain in META_DOMAINS)


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than `limit` bytes (the rest is never read)."""
    if response.content_length is not None and response.content_length > limit:
        return None
    chunks = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        chunks += chunk
        if len(chunks) > limit:
            return None
    return bytes(chunks)


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _outcome(status: int, body: Any) -> tuple[Result, int | None]:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), int) else None
    return meaning(status, code), code


def _same_hash(content: bytes, sha256: str | None) -> bool:
    """Whether the bytes have the SHA-256 Meta gave (in hexadecimal, or in base64 as its webhooks write it)."""
    if sha256 is None:
        return True
    digest = hashlib.sha256(content).digest()
    return sha256.lower() == digest.hex() or sha256 == base64.b64encode(digest).decode()


def _subcode(body: Any) -> int | None:
    error = body.get("error") if isinstance(body, dict) else None
    subcode = error.get("error_subcode") if isinstance(error, dict) else None
    return subcode if isinstance(subcode, int) else None
