"""Per-chat lanes: order within a chat, chats at once, the bound."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.lanes import Lanes


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
    lanes = Lanes(waiting=2)
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
    tasks = [asyncio.create_task(lanes.run("chat", release.wait()))]
    await asyncio.sleep(0)
    assert lanes.refuse("chat") is True  # the lane emptied in between: a new flood is said again
    await asyncio.gather(*tasks)


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
