"""Telegram's outbound limits across processes, against the real Redis: each `Outbound` is one process.

Answers are paced on a clock the test moves (their sleeps move it too, so nothing really waits); staff
messages are paced on Redis's clock, so their tests stop at the first wait (`Waited`) and look at it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.botapi.outbound import PRIORITY, Limits, Outbound, Priority
from bot.storage import keys
from bot.storage.embedded import free_port


class Waited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"would wait {seconds:.3f} s")
        self.seconds = seconds


class MovingClock:
    """Monotonic time that moves only when told, or when a paced answer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def stop_at_first_wait(seconds: float) -> None:
    raise Waited(seconds)


def process(redis: Redis, clock: MovingClock, **limits: float) -> Outbound:
    return Outbound(redis, Limits(**limits), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def staff_process(redis: Redis, **limits: float) -> Outbound:
    return Outbound(redis, Limits(**limits), sleep=stop_at_first_wait)  # type: ignore[arg-type]


async def staff_wait(outbound: Outbound, priority: Priority, chat_id: str, method: str = "sendMessage") -> float:
    """What a staff message would wait (0: it went and was counted)."""
    token = PRIORITY.set(priority)
    try:
        await outbound.acquire(method, chat_id)
    except Waited as waited:
        return waited.seconds
    finally:
        PRIORITY.reset(token)
    return 0.0


async def test_a_private_chat_gets_a_burst_of_five_answers_then_one_a_second(redis_client: Redis) -> None:
    clock = MovingClock()
    outbound = process(redis_client, clock)
    waits = [await outbound.acquire("sendMessage", "42") for _ in range(7)]
    assert waits == [0.0] * 5 + [pytest.approx(1.0), pytest.approx(1.0)]
    assert await outbound.acquire("sendMessage", "43") == 0.0  # another chat is not held back
    # Edits bring no new message: they count for the bot, not for the chat.
    assert await outbound.acquire("editMessageText", "42") == 0.0
    assert await outbound.acquire("answerCallbackQuery", None) == 0.0


def most_in_a_second(times: list[float]) -> int:
    """The most of `times` that fall in any one second."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered)


async def test_the_bots_budget_is_shared_by_the_processes_that_send(redis_client: Redis) -> None:
    clock = MovingClock()
    first, second = process(redis_client, clock, per_second=10), process(redis_client, clock, per_second=10)
    await first.acquire("sendMessage", "1")
    await second.acquire("sendMessage", "2")
    assert (first.senders, second.senders) == (1, 2)
    clock.now += 1.5  # their slots left unused are dropped, not used late
    waits = [await first.acquire("sendMessage", str(chat)) for chat in range(100, 110)]
    # Two went in this second (Redis's): eight more at once, then the next second's.
    assert waits[:8] == [0.0] * 8
    assert 0.5 < waits[8] <= 1.1  # (a second and a tenth of Redis's clock: see `outbound.WINDOW`)
    assert first.reservations < 10  # answers reserve their slots a few at a time, not one round trip each


async def test_answers_at_a_steady_pace_reserve_their_slots_about_once_a_second(redis_client: Redis) -> None:
    """While the bot's log has room, answers reserve a second's worth of slots they may use at any time in that
    second: under load a process asks Redis about once a second, not once per burst of answers."""
    clock = MovingClock()
    outbound = process(redis_client, clock, per_second=10_000)
    for number in range(400):  # 100 answers a second, for 4 seconds
        assert await outbound.acquire("sendMessage", str(number)) == 0.0
        clock.now += 0.01
        if number == 199:
            settled = outbound.reservations  # the first seconds learn the pace
    assert outbound.reservations - settled <= 3, outbound.reservations  # the last two seconds
    assert outbound.dropped <= 40  # a tenth of them reserved and left unused, at most


async def card(staff: Outbound, number: int, went: list[float]) -> None:
    """A staff card to group `-100<number>` goes (when, into `went`)."""
    token = PRIORITY.set(Priority.CARD)
    try:
        await staff.acquire("sendMessage", f"-100{number}")
    finally:
        PRIORITY.reset(token)
    went.append(time.monotonic())


async def test_no_second_holds_more_than_the_budget_answers_and_cards_together(redis_client: Redis) -> None:
    """From the start (no burst of a second's worth on top of a full second), answers of one process and cards
    of another, all at once, in real time: never more than 10 in any second."""
    answers, staff = Outbound(redis_client, Limits(per_second=10)), Outbound(redis_client, Limits(per_second=10))
    went: list[float] = []

    async def answer(chat: int) -> None:
        await answers.acquire("sendMessage", str(chat))
        went.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(answer(chat) for chat in range(15)), *(card(staff, n, went) for n in range(10)))
    assert len(went) == 25 and most_in_a_second(went) <= 10
    # 25 at 10 a second: into the third second (alone, 15 answers reach the second, 10 cards go at once).
    assert time.monotonic() - started >= 2.0


async def test_spans_points_and_cards_of_three_processes_never_pass_the_budget(redis_client: Redis) -> None:
    """Two processes answering 50 a second each (spans while the log has room, then points) and a third
    sending 20 cards at once, in real time: never more than 40 in any second."""
    first, second, staff = (Outbound(redis_client, Limits(per_second=40)) for _ in range(3))
    went: list[float] = []

    async def answer(outbound: Outbound, number: int) -> None:
        await asyncio.sleep(number * 0.02)
        await outbound.acquire("sendMessage", str(1000 + number))
        went.append(time.monotonic())

    async def late_card(number: int) -> None:
        await asyncio.sleep(0.3)
        await card(staff, number, went)

    await asyncio.gather(
        *(answer(first, n) for n in range(50)),
        *(answer(second, n) for n in range(50)),
        *(late_card(n) for n in range(20)),
    )
    assert len(went) == 120 and most_in_a_second(went) <= 40
    assert first.reservations + second.reservations < 50  # spans: fewer reservations than answers, by far


async def test_the_spans_an_answering_process_holds_count_for_the_cards_of_another(redis_client: Redis) -> None:
    """Answers that took spans may have gone at any time in them: the cards of another process go at once only
    within what the spans leave of the second."""
    clock = MovingClock()
    answers, staff = process(redis_client, clock, per_second=40), staff_process(redis_client, per_second=40)
    for chat in range(10):
        assert await answers.acquire("sendMessage", str(chat)) == 0.0
    assert await redis_client.zcard(keys.OUTBOUND_BUCKET + ":spans") > 0  # some held, not used yet
    cards = 0
    while await staff_wait(staff, Priority.CARD, f"-100{cards}") == 0.0:
        cards += 1
    held = 0  # the answers that can still go at once, on the spans the process holds
    while await answers.acquire("sendMessage", str(100 + held)) == 0.0:
        held += 1
    assert cards > 0 and 10 + held + cards <= 40


async def test_a_process_that_stopped_sending_gives_its_share_back(redis_client: Redis) -> None:
    clock = MovingClock()
    first, second = process(redis_client, clock), process(redis_client, clock)
    await first.acquire("sendMessage", "1")
    await second.acquire("sendMessage", "2")
    await redis_client.zadd(keys.OUTBOUND_SENDERS, {second.name: 0})  # its last report, long ago
    clock.now += 1.5
    await first.acquire("sendMessage", "3")
    assert first.senders == 1


async def test_answers_go_before_cards_before_broadcasts(redis_client: Redis) -> None:
    clock = MovingClock()
    answers = process(redis_client, clock, per_second=30)
    staff = staff_process(redis_client, per_second=30)
    for chat in range(20):  # two thirds of the bot's second, spent on answers by another process
        await answers.acquire("sendMessage", str(1000 + chat))
    clock.now += 1.5
    await answers.acquire("sendMessage", "2000")  # its refresh reports the 20 answers
    assert await staff_wait(staff, Priority.CARD, "-100") == 0.0
    # A broadcast goes only while the bot's bucket is at most half full: it waits for the answers to drain.
    assert 0 < await staff_wait(staff, Priority.BROADCAST, "-100") <= 0.3


async def test_a_group_gets_at_most_twenty_messages_a_minute(redis_client: Redis) -> None:
    staff, other = staff_process(redis_client, per_second=1000), staff_process(redis_client, per_second=1000)
    for number in range(20):
        assert await staff_wait(staff if number % 2 else other, Priority.CARD, "-1001") == 0.0
    assert 55 < await staff_wait(staff, Priority.CARD, "-1001") <= 60
    assert await staff_wait(other, Priority.CARD, "-1002") == 0.0  # another group is not held back
    # Editing a card brings no new message to the group.
    assert await staff_wait(other, Priority.CARD, "-1001", method="editMessageText") == 0.0
    # A reply to a staff command in that group (an answer, but in a group) is held back too.
    assert await staff_wait(other, Priority.ANSWER, "-1001") > 55


async def test_staff_messages_to_a_private_chat_are_spread_across_processes(redis_client: Redis) -> None:
    staff, other = staff_process(redis_client), staff_process(redis_client)
    assert [await staff_wait(p, Priority.CARD, "77") for p in (staff, other) * 2 + (staff,)] == [0.0] * 5
    assert 0.5 < await staff_wait(other, Priority.CARD, "77") <= 1.0


async def test_a_429_seen_by_one_process_holds_back_every_process(redis_client: Redis) -> None:
    clock = MovingClock()
    seen, answers, staff = process(redis_client, clock), process(redis_client, clock), staff_process(redis_client)
    await seen.block(2.0)
    assert 1.9 < await seen.acquire("sendMessage", "5") <= 2.0
    assert 1.0 < await answers.acquire("sendMessage", "6") <= 2.0  # read at its refresh
    assert 1.0 < await staff_wait(staff, Priority.CARD, "-100") <= 2.0
    assert int(await redis_client.get(keys.OUTBOUND_BLOCKED) or 0) > 1_000_000
    await staff.block(0.5)  # a shorter block never shortens the longer one
    assert 1.0 < await staff_wait(staff, Priority.CARD, "-100") <= 2.0


async def test_without_redis_messages_still_go(caplog: pytest.LogCaptureFixture) -> None:
    redis: Redis = Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    clock = MovingClock()
    answers, staff = process(redis, clock), staff_process(redis)
    with caplog.at_level(logging.WARNING, logger="bot.botapi.outbound"):
        assert await answers.acquire("sendMessage", "5") == 0.0
        assert await staff_wait(staff, Priority.CARD, "-100") == 0.0
        await staff.block(1.0)
    assert "outbound limits not shared" in caplog.text
    assert "message sent without them" in caplog.text
    assert "cannot share Telegram's 429" in caplog.text
    # The answers still keep the chat's limit on their own.
    assert [await answers.acquire("sendMessage", "5") for _ in range(5)][-1] == pytest.approx(1.0)
    await redis.aclose()
