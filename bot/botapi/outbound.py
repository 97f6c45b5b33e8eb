"""Telegram's outbound limits, shared in Redis by every process of one bot.

What is limited (Telegram documents its limits loosely, so these are the safe reading; see README):

- the bot: about `per_second` (30) messages a second, sends and edits, all processes together;
- a private chat: one message a second after a burst of `chat_burst` (5), so the answers to a customer who
  types quickly (two messages to one update, a whole feedback) go at once while a flood is spread out;
- a group: at most `group_per_minute` (20) messages in any 60 seconds.

Edits count for the bot, not for the chat: they bring no new message. Callback answers and reads are free.

Who goes first: `ANSWER` (a customer's private chat, answering what they just did) before `CARD` (staff
rooms, relays) before `BROADCAST` (reminders, escalations). Answers never wait for Redis: each process
spends its share of the bot's budget (the budget over the processes that sent in the last few seconds)
from a local bucket, and once a second reports what it spent and reads the shared state back (one round
trip a second, not one per message). Everything else asks Redis once per message (one script): it passes
while the bot's shared bucket, answers included, has room — broadcasts only while it is at most half full —
and while the chat or group has room. A 429's `retry_after` blocks every process: the one that saw it at
once, the others at their next refresh (within a second) or at their next staff message.

If Redis cannot be reached the limiter lets messages through (and says so in the log): Telegram's own 429,
honoured, is the backstop; a Redis failure must not cost a customer their answer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage import keys

log = logging.getLogger(__name__)

REFRESH_EVERY = 1.0  # seconds between two reports of a process's answers (and reads of the shared state)
SENDER_TTL = 5.0  # a process that has not refreshed for this long no longer counts for the shares
GROUP_WINDOW = 60.0
_US = 1_000_000

SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendAnimation", "sendVoice",
    "sendVideoNote", "sendMediaGroup", "sendLocation", "sendVenue", "sendContact", "sendPoll", "sendDice",
    "sendSticker", "sendInvoice", "sendPaidMedia", "copyMessage", "copyMessages", "forwardMessage",
    "forwardMessages",
})  # fmt: skip
EDIT_METHODS = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup", "editMessageLiveLocation"}
)


class Priority(IntEnum):
    """Who goes first when the budget is short (lower first)."""

    ANSWER = 0  # a customer's private chat, answering their update
    CARD = 1  # staff rooms: cards, relays, replies to staff commands
    BROADCAST = 2  # reminders and escalations nobody is waiting for


# The priority of the Bot API call under way: set around each call by `bot.botapi.sending.call_telegram`,
# read by the HTTP layer, which sees every call but not who made it.
PRIORITY: ContextVar[Priority] = ContextVar("outbound_priority", default=Priority.ANSWER)


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: int = 5
    group_per_minute: int = 20
    broadcast_share: float = 0.5  # broadcasts go only while the bot's bucket is at most this full


# GCRA ("theoretical arrival time") buckets in microseconds of Redis's clock, so every process agrees on now.
# Numbers go back to Redis through string.format('%d'): Lua's tostring would round them to 14 digits.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# KEYS: bot bucket, senders, blocked-until. ARGV: sender, answers sent since the last report, interval (us),
# sender ttl (us). Returns {live senders, microseconds still blocked}.
_REFRESH = (
    _NOW
    + """
local spent = tonumber(ARGV[2])
if spent > 0 then
  local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + spent * tonumber(ARGV[3])
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], string.format('%d', now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now - ttl))
redis.call('PEXPIRE', KEYS[2], math.ceil(ttl / 1000))
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0') - now
return {redis.call('ZCARD', KEYS[2]), math.max(blocked, 0)}
"""
)

# KEYS: bot bucket, blocked-until, chat bucket (private) or log (group). ARGV: interval (us), tolerance (us),
# kind (private, group or none), chat interval (us), chat burst, group count, group window (us), a unique
# member. Returns 0 when the message may go (and counts it), else the microseconds to wait first.
_ACQUIRE = (
    _NOW
    + """
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return blocked - now end
local interval = tonumber(ARGV[1])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + interval
local wait = tat - tonumber(ARGV[2]) - now
if wait > 0 then return wait end
local kind = ARGV[3]
if kind == 'private' then
  local step = tonumber(ARGV[4])
  local chat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now) + step
  wait = chat - tonumber(ARGV[5]) * step - now
  if wait > 0 then return wait end
  redis.call('SET', KEYS[3], string.format('%d', chat), 'PX', math.ceil((chat - now) / 1000) + 1)
elseif kind == 'group' then
  local window = tonumber(ARGV[7])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now - window))
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return math.max(tonumber(oldest[2]) + window - now, 1)
  end
  redis.call('ZADD', KEYS[3], string.format('%d', now), ARGV[8])
  redis.call('PEXPIRE', KEYS[3], math.ceil(window / 1000))
end
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return 0
"""
)

# KEYS: blocked-until. ARGV: microseconds. Never shortens a block another process set.
_BLOCK = (
    _NOW
    + """
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1)
end
return 0
"""
)


def chat_kind(chat_id: str | None) -> str:
    """`private` for a user's chat (a positive id), `group` for a group or channel, `none` without a chat."""
    if not chat_id:
        return "none"
    return "private" if chat_id.isdigit() else "group"


@dataclass(frozen=True, slots=True)
class OutboundKeys:
    """Where a sender's shared limits live in Redis: Telegram's bot by default, another channel's sender
    (WhatsApp's business number) with its own."""

    bucket: str = keys.OUTBOUND_BUCKET
    senders: str = keys.OUTBOUND_SENDERS
    blocked: str = keys.OUTBOUND_BLOCKED
    chat: Callable[[str], str] = keys.outbound_chat
    group: Callable[[str], str] = keys.outbound_group


class Outbound:
    """This process's side of the bot's outbound limits (one per process, shared by its Bot API clients)."""

    def __init__(
        self,
        redis: Redis,
        limits: Limits | None = None,
        *,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        where: OutboundKeys | None = None,
    ) -> None:
        """`clock` and `sleep` pace this process's answers; the shared limits run on Redis's clock, at
        `where` (Telegram's keys by default)."""
        self.redis = redis
        self.keys = where or OutboundKeys()
        self.limits = limits or Limits()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.clock = clock
        self.sleep = sleep
        self.senders = 1  # processes sharing the budget, as last read
        self.waited = 0.0  # seconds this process's messages spent waiting for the limits (for logs and tests)
        self._refresh_at = 0.0
        self._answered = 0
        self._tat = 0.0  # this process's bucket for answers (monotonic seconds)
        self._chats: dict[str, float] = {}  # a bucket per private chat, for answers
        self._blocked_until = 0.0
        self._members = 0
        self._refresh_script = redis.register_script(_REFRESH)
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._block_script = redis.register_script(_BLOCK)

    async def acquire(self, method: str, chat_id: str | None) -> float:
        """Wait until a call of `method` to `chat_id` (its JSON form) may go; the seconds waited (reads: 0)."""
        is_send = method in SEND_METHODS
        if not is_send and method not in EDIT_METHODS:
            return 0.0
        return await self.pace(chat_kind(chat_id) if is_send else "none", chat_id)

    async def pace(self, kind: str, chat_id: str | None) -> float:
        """Wait until a message of `kind` (`private`, `group`, or `none`: counted for the sender only) to
        `chat_id` may go, at the priority of the call under way; the seconds waited."""
        priority = PRIORITY.get()
        if priority is Priority.ANSWER and kind != "group":
            wait = await self._answer(chat_id if kind == "private" else None)
        else:
            wait = await self._shared(priority, kind, chat_id)
        self.waited += wait
        return wait

    async def block(self, seconds: float) -> None:
        """Telegram answered 429: no process sends anything for `seconds`."""
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)
        try:
            await self._block_script(keys=[self.keys.blocked], args=[int(seconds * _US)])
        except RedisError as exc:
            log.warning("cannot share Telegram's 429 with the other processes: %s", exc)

    async def _answer(self, chat_id: str | None) -> float:
        """Take a place in this process's bucket (and the chat's), without Redis; the seconds waited."""
        now = self.clock()
        if now >= self._refresh_at:
            await self._refresh(now)
        limits = self.limits
        interval = self.senders / limits.per_second
        burst = max(1.0, limits.per_second / self.senders)  # a second's worth of the share
        self._tat = max(self._tat, now) + interval
        wait = max(self._blocked_until - now, self._tat - burst * interval - now)
        if chat_id is not None:
            step = 1.0 / limits.chat_per_second
            chat = self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), now) + step
            wait = max(wait, chat - limits.chat_burst * step - now)
        self._answered += 1
        if wait > 1e-6:  # not a rounding error
            await self.sleep(wait)
            return wait
        return 0.0

    async def _refresh(self, now: float) -> None:
        """Report the answers sent since the last time; read how many processes share and any block."""
        self._refresh_at = now + REFRESH_EVERY  # before the await: one refresh at a time
        spent, self._answered = self._answered, 0
        self._chats = {chat: tat for chat, tat in self._chats.items() if tat > now}
        args: list[Any] = [self.name, spent, int(_US / self.limits.per_second), int(SENDER_TTL * _US)]
        try:
            senders, blocked = await self._refresh_script(
                keys=[self.keys.bucket, self.keys.senders, self.keys.blocked], args=args
            )
        except RedisError as exc:
            self._answered += spent
            log.warning("outbound limits not shared (answers limited by this process alone): %s", exc)
            return
        self.senders = max(1, int(senders))
        if int(blocked) > 0:
            self._blocked_until = max(self._blocked_until, now + int(blocked) / _US)

    async def _shared(self, priority: Priority, kind: str, chat_id: str | None) -> float:
        """Ask Redis for a place in the bot's bucket and the chat's, waiting as long as it says."""
        limits = self.limits
        interval = _US / limits.per_second
        share = limits.broadcast_share if priority is Priority.BROADCAST else 1.0
        tolerance = max(interval, share * limits.per_second * interval)
        chat_key = (
            self.keys.chat(chat_id) if kind == "private" and chat_id else
            self.keys.group(chat_id) if kind == "group" and chat_id else
            self.keys.bucket
        )  # fmt: skip
        waited = 0.0
        while True:
            self._members += 1
            args: list[Any] = [
                int(interval), int(tolerance), kind, int(_US / limits.chat_per_second), limits.chat_burst,
                limits.group_per_minute, int(GROUP_WINDOW * _US), f"{self.name}:{self._members}",
            ]  # fmt: skip
            try:
                wait_us = int(
                    await self._acquire_script(keys=[self.keys.bucket, self.keys.blocked, chat_key], args=args)
                )
            except RedisError as exc:
                log.warning("outbound limits unavailable, message sent without them: %s", exc)
                return waited
            if wait_us <= 0:
                return waited
            wait = wait_us / _US
            if priority is not Priority.ANSWER and wait > 1:
                log.info("outbound %s to %s waits %.1f s for Telegram's limits", priority.name.lower(), chat_id, wait)
            await self.sleep(wait)
            waited += wait
