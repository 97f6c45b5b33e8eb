"""Telegram's outbound limits, shared in Redis by every process of one bot.

What is limited (Telegram documents its limits loosely, so these are the safe reading; see README):

- the bot: at most `per_second` (30) messages in any second (1.1 s of Redis's clock, for the jitter), sends
  and edits, all processes together;
- a private chat: one message a second after a burst of `chat_burst` (5), so the answers to a customer who
  types quickly (two messages to one update, a whole feedback) go at once while a flood is spread out;
- a group: at most `group_per_minute` (20) messages in any 60 seconds.

Edits count for the bot, not for the chat: they bring no new message. Callback answers and reads are free.

One budget: every message of every process (answers, staff cards and relays, news) takes a *slot* in one
log in Redis, the times at which the bot's messages go (`parole:{outbound}:bucket`, a sorted set of the last
second's and the coming slots). A slot is the earliest time at which the log holds fewer than `per_second`
messages in the second before it, so no second ever holds more than `per_second`, at start as later; a
message takes its slot and waits for it (a sleep: nothing is held meanwhile, nothing asks Redis again).

Who goes first: `ANSWER` (a customer's private chat, answering what they just did) and `CARD` (staff rooms,
relays) take the next slot in turn; `BROADCAST` (news, reminders, escalations) goes only while no slot is
queued and the last second holds at most `broadcast_share` of the budget. Answers do not ask Redis one by one:
each process reserves slots for them in advance, as many as it answered in the last second (at most its
share: the budget over the processes that reserved in the last few seconds), one round trip for all of them.
While the log has room these are *spans*, usable at any time in the next second and counted meanwhile in every
second they may fall in, so a process answering steadily asks Redis about once a second; the next reservation
logs the spans used at the time they were used and gives back the others. Else they are points: one left unused
a moment after its time is dropped, never used late. An answer first waits for its chat's pace, then takes a
slot. A 429's `retry_after` blocks every process: no slot is given before it ends.

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
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage import keys

log = logging.getLogger(__name__)

SENDER_TTL = 5.0  # a process that has not reserved for this long no longer counts for the shares
# Seconds: the bot's budget is `per_second` messages in any window this long, of Redis's clock. A tenth of a
# second more than Telegram's second: a burst reaches Telegram a few milliseconds early or late (each process's
# event loop, the network), and slots exactly a second apart could then meet in one of its seconds.
WINDOW = 1.1
GROUP_WINDOW = 60.0
SLOT_GRACE = 0.05  # seconds after its time that a reserved slot may still be used (then it is dropped)
# Seconds: how long a slot reserved for answers may wait for one while the log is at most a quarter full (a span,
# counted in every window it may fall in), so that a process answering at any pace reserves about once a second.
SPAN = 1.0
SPANS = ":spans"  # after the log's key: the ends of the spans given, beside the log (same hash tag)
MAX_RESERVED = 200  # slots reserved for answers in one round trip, at most
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


# The bot's log is a sorted set of slot times in microseconds of Redis's clock (every process agrees on now).
# Numbers go back to Redis through string.format('%d'): Lua's tostring would round them to 14 digits.
# A slot is either a point (the message goes at its time, or a moment after: `SLOT_GRACE`), in the log, or, for
# answers while the log and the spans are at most a quarter of the budget (so that broadcasts still find room),
# a span (the message goes at any time in it), in a sorted set of their ends beside the log: a span counts in
# every window it may fall in. A point is given at the earliest time no window holding it can then hold more
# than `per_second`: at once while the last window and everything after it hold fewer, else after the last
# point, when the points of the window before it and the spans that may fall in it are fewer.
# KEYS: log, blocked-until, chat bucket (private) or chat log (group) or the log again (none), senders, spans.
# ARGV: 1 window (us), 2 messages per window, 3 how many slots, 4 kind (private, group, none), 5 chat interval
# (us), 6 chat burst, 7 group count, 8 group window (us), 9 a unique member prefix, 10 broadcast share (0: not
# a broadcast), 11 sender ('': do not count as one), 12 sender ttl (us), 13 a span's length (us; 0: points only),
# 14 how many of the slots to give as points when spans cannot be given (the rest is not given), then pairs: a
# span this process used and when (us from now: the past; not before the span's start), logged as a point in its
# stead, or dropped ('x').
# Returns {0, live senders, then for each slot given its start and its end from now (us)...}, or {1, us}: nothing
# given, ask again after that long (a chat's or a group's limit, or a broadcast behind other messages).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window, per = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window))
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', string.format('%d', now - window))
for j = 15, #ARGV, 2 do
  local ends = redis.call('ZSCORE', KEYS[5], ARGV[j])
  if ends then
    redis.call('ZREM', KEYS[5], ARGV[j])
    if ARGV[j + 1] ~= 'x' then
      local at = math.max(now + tonumber(ARGV[j + 1]), tonumber(ends) - tonumber(ARGV[13]))
      redis.call('ZADD', KEYS[1], string.format('%d', at), ARGV[j])
    end
  end
end
local base = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
local function spans_from(s)
  return redis.call('ZCOUNT', KEYS[5], string.format('(%d', s - window), '+inf')
end
local function around(s)
  return redis.call('ZCOUNT', KEYS[1], string.format('(%d', s - window), '+inf') + spans_from(s)
end
local function slot_after(earliest)
  if around(earliest) < per then return earliest end
  local s = earliest
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then s = math.max(s, tonumber(last[2])) end
  while true do
    local room = per - spans_from(s)
    if room > 0 then
      local nth = redis.call('ZRANGE', KEYS[1], -room, -room, 'WITHSCORES')
      if not nth[2] or redis.call('ZCARD', KEYS[1]) < room or tonumber(nth[2]) <= s - window then return s end
      s = tonumber(nth[2]) + window
    else
      local from = string.format('(%d', s - window)
      local span = redis.call('ZRANGEBYSCORE', KEYS[5], from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      s = tonumber(span[2]) + window
    end
  end
end
local first = slot_after(base)
local share = tonumber(ARGV[10])
if share > 0 then
  local recent = around(now)
  if first > now or recent >= share * per then return {1, math.max(first - now, math.floor(window / per))} end
end
local kind = ARGV[4]
if kind == 'private' then
  local step = tonumber(ARGV[5])
  local chat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), first) + step
  local wait = chat - tonumber(ARGV[6]) * step - first
  if wait > 0 then return {1, first + wait - now} end
  redis.call('SET', KEYS[3], string.format('%d', chat), 'PX', math.ceil((chat - now) / 1000) + 1)
elseif kind == 'group' then
  local gwindow = tonumber(ARGV[8])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', first - gwindow))
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then
    local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
    return {1, math.max(tonumber(oldest[2]) + gwindow - now, 1)}
  end
  redis.call('ZADD', KEYS[3], string.format('%d', first), ARGV[9])
  redis.call('PEXPIRE', KEYS[3], math.ceil((first - now + gwindow) / 1000))
end
local given = {0, 1}
local span = tonumber(ARGV[13])
local s, latest, spans = first, first, 0
for i = 1, tonumber(ARGV[3]) do
  if i > 1 then s = slot_after(base) end
  if span > 0 and s == base and around(base) < per / 4 then
    redis.call('ZADD', KEYS[5], string.format('%d', base + span), ARGV[9] .. ':' .. i)
    spans = base + span
    given[#given + 1] = s - now
    given[#given + 1] = spans - now
  elseif i > tonumber(ARGV[14]) then
    break
  else
    redis.call('ZADD', KEYS[1], string.format('%d', s), ARGV[9] .. ':' .. i)
    latest = math.max(latest, s)
    given[#given + 1] = s - now
    given[#given + 1] = s - now
  end
end
redis.call('PEXPIRE', KEYS[1], math.ceil((latest - now + window) / 1000) + 1000)
if spans > 0 then redis.call('PEXPIRE', KEYS[5], math.ceil((spans - now + window) / 1000) + 1000) end
if ARGV[11] ~= '' then
  local ttl = tonumber(ARGV[12])
  redis.call('ZADD', KEYS[4], string.format('%d', now), ARGV[11])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', string.format('%d', now - ttl))
  redis.call('PEXPIRE', KEYS[4], math.ceil(ttl / 1000))
  given[2] = redis.call('ZCARD', KEYS[4])
end
return given
"""

# KEYS: blocked-until. ARGV: microseconds. Never shortens a block another process set.
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1)
end
return 0
"""


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
        """`clock` and `sleep` pace this process's messages (slots come as offsets from Redis's now); the
        shared limits live at `where` (Telegram's keys by default)."""
        self.redis = redis
        self.keys = where or OutboundKeys()
        self.limits = limits or Limits()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.clock = clock
        self.sleep = sleep
        self.senders = 1  # processes sharing the budget, as last read
        self.waited = 0.0  # seconds this process's messages spent waiting for the limits (for logs and tests)
        self.reservations = 0  # round trips that reserved slots for answers (for benchmarks and tests)
        self.dropped = 0  # slots reserved for answers and left unused (for benchmarks and tests)
        # Slots reserved for answers, in this process's clock: (from, until, the span's member or ''), earliest first.
        self._slots: list[tuple[float, float, str]] = []
        # Spans this process used (when, in its clock) or dropped (None), to tell Redis at the next reservation.
        self._spent: list[tuple[str, float | None]] = []
        self._answered: deque[float] = deque()  # when this process's last answers took their slot (last second)
        self._chats: dict[str, float] = {}  # a bucket per private chat, for answers
        self._reserving = asyncio.Lock()
        self._wanting = 0  # answers waiting for a slot
        self._members = 0
        self._take_script = redis.register_script(_TAKE)
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
        self._spent += [(member, None) for _, _, member in self._slots if member]
        self._slots.clear()  # reserved before the block: no longer valid
        try:
            await self._block_script(keys=[self.keys.blocked], args=[int(seconds * _US)])
        except RedisError as exc:
            log.warning("cannot share Telegram's 429 with the other processes: %s", exc)
            until = self.clock() + seconds
            self._slots.append((until, until + SLOT_GRACE, ""))  # this process at least waits it out

    async def _answer(self, chat_id: str | None) -> float:
        """Wait for the chat's pace (kept by this process, without Redis), then for a slot of the bot's budget
        reserved in advance; the seconds waited."""
        waited = 0.0
        if chat_id is not None:
            limits, now = self.limits, self.clock()
            step = 1.0 / limits.chat_per_second
            chat = self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), now) + step
            if len(self._chats) > 10_000:
                self._chats = {c: tat for c, tat in self._chats.items() if tat > now}
            pause = chat - limits.chat_burst * step - now
            if pause > 1e-6:  # not a rounding error
                await self.sleep(pause)
                waited += pause
        slot = await self._answer_slot()
        pause = slot - self.clock()
        if pause > 1e-6:
            await self.sleep(pause)
            waited += pause
        return waited

    async def _answer_slot(self) -> float:
        """The next slot reserved for answers (reserving more when none is left); its time in this clock."""
        self._wanting += 1
        try:
            while True:
                now = self.clock()
                while self._slots and self._slots[0][1] < now:
                    _, _, member = self._slots.pop(0)  # left unused: dropped, never used late
                    self.dropped += 1
                    if member:
                        self._spent.append((member, None))
                if self._slots:
                    self._answered.append(now)
                    start, _, member = self._slots.pop(0)
                    if member:
                        self._spent.append((member, max(start, now)))
                    return start
                seen = self.reservations
                async with self._reserving:
                    if self.reservations == seen:  # nobody reserved while this one waited for the lock
                        await self._reserve()
        finally:
            self._wanting -= 1

    async def _reserve(self) -> None:
        """Reserve slots for the answers waiting for one, and the last second's answers ahead (spans while the
        log has room: about one round trip a second under load; unused, they are dropped), within this
        process's share."""
        self.reservations += 1
        now = self.clock()
        while self._answered and self._answered[0] < now - WINDOW:
            self._answered.popleft()
        share = max(1, int(self.limits.per_second / self.senders))
        count = max(1, min(share, self._wanting + len(self._answered), MAX_RESERVED))
        points = max(1, min(count, self._wanting + len(self._answered) // 4))
        spent = [(member, None if at is None else at - now) for member, at in self._spent]
        self._spent.clear()  # told now, or left to expire with their spans if Redis cannot be reached
        try:
            given = await self._take(
                count, "none", None, broadcast=False, sender=True, span=SPAN, points=points, spent=spent
            )
        except RedisError as exc:
            log.warning("outbound limits not shared (answers limited by their chats alone): %s", exc)
            now = self.clock()
            self._slots.append((now, now + SLOT_GRACE, ""))
            return
        now = self.clock()
        self._slots = sorted([*self._slots, *((now + start, now + end, member) for start, end, member in given)])

    async def _take(
        self,
        count: int,
        kind: str,
        chat_id: str | None,
        *,
        broadcast: bool,
        sender: bool,
        span: float = 0.0,
        points: int = 1,
        spent: Sequence[tuple[str, float | None]] = (),
    ) -> list[tuple[float, float, str]]:
        """Up to `count` slots from the bot's log, each as its start and its end in seconds from now (a point
        ends `SLOT_GRACE` after its start) and a span's member: spans of `span` while the log has room, else at
        most `points` points; or raise `_Later` with the seconds to wait first. `spent`: the spans this process
        used (seconds from now, in the past) or dropped (None), logged as points or given back."""
        limits = self.limits
        chat_key = (
            self.keys.chat(chat_id) if kind == "private" and chat_id else
            self.keys.group(chat_id) if kind == "group" and chat_id else
            self.keys.bucket
        )  # fmt: skip
        self._members += 1
        prefix = f"{self.name}:{self._members}"
        args: list[Any] = [
            int(WINDOW * _US), max(1, int(limits.per_second)), count, kind, int(_US / limits.chat_per_second),
            limits.chat_burst, limits.group_per_minute, int(GROUP_WINDOW * _US), prefix,
            limits.broadcast_share if broadcast else 0, self.name if sender else "", int(SENDER_TTL * _US),
            int(span * _US), points,
        ]  # fmt: skip
        for member, at in spent:
            args += [member, "x" if at is None else int(at * _US)]
        answer = await self._take_script(
            keys=[self.keys.bucket, self.keys.blocked, chat_key, self.keys.senders, self.keys.bucket + SPANS],
            args=args,
        )
        if int(answer[0]) == 1:
            raise _Later(int(answer[1]) / _US)
        if sender:
            self.senders = max(1, int(answer[1]))
        offsets = [int(offset) / _US for offset in answer[2:]]
        return [
            (start, end, f"{prefix}:{number}") if end > start else (start, start + SLOT_GRACE, "")
            for number, (start, end) in enumerate(zip(offsets[::2], offsets[1::2], strict=True), start=1)
        ]

    async def _shared(self, priority: Priority, kind: str, chat_id: str | None) -> float:
        """Take one slot of the bot's log (and the chat's) from Redis and wait for it."""
        waited = 0.0
        while True:
            try:
                [(wait, _, _)] = await self._take(
                    1, kind, chat_id, broadcast=priority is Priority.BROADCAST, sender=False
                )
            except _Later as later:
                wait = later.seconds
            except RedisError as exc:
                log.warning("outbound limits unavailable, message sent without them: %s", exc)
                return waited
            else:
                if wait > 1e-6:
                    await self.sleep(wait)
                    waited += wait
                return waited
            if priority is not Priority.ANSWER and wait > 1:
                log.info("outbound %s to %s waits %.1f s for Telegram's limits", priority.name.lower(), chat_id, wait)
            await self.sleep(wait)
            waited += wait


class _Later(Exception):
    """No slot now: ask again in `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"ask again in {seconds:.3f} s")
        self.seconds = seconds
