"""Per-chat lanes: order within a chat, chats at once, the bound."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.lanes import DATE_MARGIN, REMEMBER_SECONDS, SAY_EVERY_SECONDS, Lanes


async def test_one_chat_runs_in_order_and_one_at_a_time() -> None:
    lanes = Lanes(waiting=10)
    done: list[int] = []
    running = 0

    async def work(n: int) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.001 * (5 - n))  # the first ones take longest: order is not a race's luck
        done.append(n)
        running -= 1

    await asyncio.gather(*(lanes.run("chat", work(n)) for n in range(5)))
    assert done == [0, 1, 2, 3, 4]
    assert lanes.busy("chat") == 0


async def test_a_chat_that_waits_holds_no_other_chat() -> None:
    lanes = Lanes(waiting=10)
    release = asyncio.Event()
    other_done = asyncio.Event()

    async def held() -> None:
        await release.wait()

    async def other() -> None:
        other_done.set()

    busy = [asyncio.create_task(lanes.run("flood", held())) for _ in range(5)]
    await asyncio.sleep(0)  # the flood's first is under way, the others wait behind it
    await lanes.run("calm", other())
    assert other_done.is_set() and lanes.busy("flood") == 5
    release.set()
    await asyncio.gather(*busy)
    assert lanes.busy("flood") == 0


async def test_the_bound_counts_the_update_in_hand_and_those_waiting() -> None:
    now = [1_000.0]
    lanes = Lanes(waiting=2, clock=lambda: now[0])
    release = asyncio.Event()
    tasks = []
    for _ in range(3):
        assert lanes.admits("chat")
        tasks.append(asyncio.create_task(lanes.run("chat", release.wait())))
        await asyncio.sleep(0)
    assert not lanes.admits("chat") and lanes.admits("other")
    assert lanes.refuse("chat") is True  # the first refusal is said
    assert lanes.refuse("chat") is False  # the next ones are not
    release.set()
    await asyncio.gather(*tasks)
    assert lanes.admits("chat")
    assert lanes.refuse("chat") is False  # a flood refused again within the minute is not told again...
    now[0] += SAY_EVERY_SECONDS
    assert lanes.refuse("chat") is True  # ...but a minute later it is


async def test_a_message_sent_while_more_than_the_bound_were_to_be_handled_is_refused() -> None:
    """Telegram posts one chat's updates one at a time: a flood never waits in the lane, but its messages'
    dates tell how many of the chat's updates began after they were sent."""
    now = [1_700_000_000.0]
    lanes = Lanes(waiting=2, clock=lambda: now[0])
    sent = now[0]
    for _ in range(3):  # one at a time, each begun well after the flood was sent
        now[0] += DATE_MARGIN + 1
        assert lanes.admits("chat", sent)
        await lanes.run("chat", asyncio.sleep(0))
    assert lanes.busy("chat") == 0
    assert not lanes.admits("chat", sent)  # three of its chat's updates began after it was sent: refused
    assert lanes.admits("chat", now[0]) and lanes.admits("chat")  # one sent now, or undated, is not
    assert lanes.admits("other", sent)
    assert lanes.admits("chat", now[0] - 2 * (DATE_MARGIN + 1))  # only two began after it: room still
    assert lanes.admits("chat", 0.0) and lanes.admits("chat", now[0] + 3600)  # dates Telegram never sends


async def test_a_quick_customer_is_not_refused_by_the_dates() -> None:
    """Answered as fast as they type: nothing begins long after one of their messages was sent."""
    now = [1_000.0]
    lanes = Lanes(waiting=2, clock=lambda: now[0])
    for _ in range(20):
        now[0] += 0.5
        assert lanes.admits("chat", float(int(now[0])))  # Telegram's date: whole seconds
        await lanes.run("chat", asyncio.sleep(0))


async def test_chats_quiet_for_long_are_forgotten() -> None:
    now = [1_000.0]
    lanes = Lanes(waiting=0, clock=lambda: now[0])
    await lanes.run("old", asyncio.sleep(0))
    assert lanes.refuse("old") is True
    now[0] += REMEMBER_SECONDS
    await lanes.run("new", asyncio.sleep(0))
    assert lanes.refuse("old") is True  # forgotten (with when it was told): a new flood is told again
    assert lanes.admits("old", now[0] - REMEMBER_SECONDS)


async def test_work_cancelled_while_waiting_never_runs_and_the_lane_goes_on() -> None:
    lanes = Lanes(waiting=5)
    release = asyncio.Event()
    ran: list[str] = []

    async def note(name: str) -> None:
        ran.append(name)

    first = asyncio.create_task(lanes.run("chat", release.wait()))
    cancelled = asyncio.create_task(lanes.run("chat", note("cancelled")))
    last = asyncio.create_task(lanes.run("chat", note("last")))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    release.set()
    await asyncio.gather(first, last)
    assert ran == ["last"] and lanes.busy("chat") == 0


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Lanes(waiting=-1)
