"""The Graph API's WhatsApp messaging endpoint, one call at a time, its errors read by their meaning.

A refusal is an outcome, not an exception: the caller decides what the customer, the staff room or the
log is told. Sends keep the number's throughput and each customer's pair rate, shared by every process
through the same limiter as Telegram's (`bot.botapi.outbound`, with WhatsApp's own keys). Throughput and
pair rate limits, and a service that says it is unavailable, are still retried after a pause (the message
was not taken; a throughput refusal pauses every process); a timeout or another server error is not (it
may have gone). A refused token is shared too: every process's `/healthz` fails until a send succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.botapi.outbound import Outbound, OutboundKeys

log = logging.getLogger(__name__)

OUTSIDE_WINDOW_CODES: Final = frozenset({131047})
UNDELIVERABLE_CODES: Final = frozenset({131026, 131021, 131030})  # undeliverable, own number, not allowed
RATE_LIMIT_CODES: Final = frozenset({4, 80007, 130429, 131048, 131056})
TOKEN_CODES: Final = frozenset({190})
UNAVAILABLE_CODES: Final = frozenset({131016, 2})  # the service said it is unavailable: nothing was taken
PAIR_RATE_CODES: Final = frozenset({131056})  # one customer: the pause is theirs, not the number's
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
    SENT = "sent"
    OUTSIDE_WINDOW = "outside_window"  # only a template reaches the customer now
    UNDELIVERABLE = "undeliverable"  # blocked us, or not on WhatsApp
    RATE_LIMITED = "rate_limited"  # still, after the retries
    TOKEN = "token"  # the access token expired or was revoked: nothing goes out until it is replaced
    REFUSED = "refused"  # a bad request (a bug: logged with the API's words)
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, the network


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
    """Posts to `<api_url>/<phone_number_id>/messages` with the access token."""

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
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
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
        attempts = 0
        to = payload.get("to")
        while True:
            if self.outbound is not None and isinstance(to, str):  # marks as read are not messages
                await self.outbound.pace("private", to)
            reply = await self._once(payload)
            retry = reply.result is Result.RATE_LIMITED or (
                reply.result is Result.UNAVAILABLE and reply.code in (*UNAVAILABLE_CODES, -1)
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
        return reply

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

    async def _once(self, payload: dict[str, Any]) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        self.calls += 1
        try:
            async with self._session.post(self.url, data=json.dumps(payload), headers=self._headers) as response:
                status = response.status
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError:
                    body = None
        except aiohttp.ClientConnectorError:
            return Reply(Result.UNAVAILABLE, -1)  # never connected: nothing was sent, retry
        except (TimeoutError, aiohttp.ClientError):
            return Reply(Result.UNAVAILABLE)  # it may have gone: not retried
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), int) else None
        result = meaning(status, code)
        message_id = None
        if result is Result.SENT and isinstance(body, dict):
            messages = body.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                message_id = str(messages[0].get("id"))
        return Reply(result, code, message_id)
