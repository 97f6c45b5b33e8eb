"""Two `parole serve --webhook` processes behind one URL (a round-robin proxy), sharing Redis: a process
killed with SIGKILL at any step of a journey, before or after storing the step, and the journey completes
on the other with one feedback, nothing counted twice; SIGTERM finishes the updates in flight."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.storage import keys
from bot.storage.store import Store
from bot.storage.venues import Venue
from emulator import BotApiEmulator, Delivery
from tests.bot.processes import Proxy, backend_ports, start_bot, wait_ready
from tests.support import Customer

STEPS = ("start", "rate", "reason", "suggestion")
Action = Callable[[], Coroutine[Any, Any, Delivery]]
# The first Bot API call each step makes once its turn is stored.
FIRST_CALL = {
    "start": "sendMessage", "rate": "answerCallbackQuery", "reason": "sendMessage", "suggestion": "sendMessage",
}  # fmt: skip


@dataclass
class Cluster:
    settings: Settings
    emulator: BotApiEmulator
    proxy: Proxy
    log: Path
    processes: dict[int, subprocess.Popen[bytes]]

    async def start(self, port: int) -> None:
        self.processes[port] = start_bot(self.settings, self.log, port=port)
        await wait_ready(self.settings, self.emulator, self.processes[port], port=port)

    def kill(self, port: int) -> None:
        process = self.processes[port]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
async def cluster(settings: Settings, emulator: BotApiEmulator, tmp_path: Path) -> AsyncIterator[Cluster]:
    assert settings.webhook_url is not None
    ports = backend_ports(2)
    proxy_port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with Proxy(proxy_port, ports) as proxy:
        running = Cluster(settings, emulator, proxy, tmp_path / "bots.log", {})
        try:
            await asyncio.gather(*(running.start(port) for port in ports))
            yield running
        finally:
            for process in running.processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in running.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)


async def _venue(redis: Redis) -> Venue:
    store = Store(redis)
    await store.add_brand("quick", "Quick")
    return await store.add_venue("quick", "Quick Massy")


def _actions(customer: Customer, venue: Venue) -> dict[str, Action]:
    emulator, user = customer.emulator, customer.user
    return {
        "start": lambda: emulator.send_text(user, f"/start {venue.token}"),
        "rate": lambda: emulator.click(user, customer.last_keyboard_message("rate:2"), "rate:2"),
        "reason": lambda: emulator.send_text(user, "On a attendu 40 minutes."),
        "suggestion": lambda: emulator.send_text(user, "Une caisse de plus."),
    }


async def _killed_during(cluster: Cluster, action: Action, *, stored: bool) -> None:
    """Do the action; kill the process that gets it, before its turn is stored (Redis paused for writes,
    so its load-and-lock waits) or after (its first Bot API call held by the emulator); restart it; let
    Telegram deliver the update again."""
    redis: Redis = Redis.from_url(cluster.settings.redis_url or "", decode_responses=True)
    try:
        if not stored:
            await redis.client_pause(5000, all=False)  # writes wait; reads go on
        delivery = asyncio.create_task(action())
        await asyncio.sleep(0.6)
        assert not delivery.done(), "the update was handled although its process was held"
        victim = cluster.proxy.last
        assert victim is not None
        cluster.kill(victim)
        if not stored:
            await redis.client_unpause()
        failed = await delivery
        assert failed.status == 502 and cluster.emulator.pending_update_count == 1
        await cluster.start(victim)  # a new process in its place; the other one serves meanwhile
        [again] = await cluster.emulator.redeliver_pending()
        assert again.status == 200 and cluster.emulator.pending_update_count == 0
    finally:
        await redis.aclose()


@pytest.mark.parametrize("stored", [False, True], ids=["before-storing", "after-storing"])
@pytest.mark.parametrize("step", STEPS)
async def test_a_process_killed_at_any_step_and_the_journey_completes_on_the_other(
    cluster: Cluster, emulator: BotApiEmulator, redis_client: Redis, step: str, stored: bool
) -> None:
    venue = await _venue(redis_client)
    customer = Customer.new(emulator)
    actions = _actions(customer, venue)
    for name in STEPS:
        if name == step:
            if stored:
                emulator.delay_next(FIRST_CALL[name], 3.0)
            await _killed_during(cluster, actions[name], stored=stored)
        else:
            delivery = await actions[name]()
            assert delivery.status == 200
    await emulator.settle()
    feedback = [f async for f in Store(redis_client).iter_feedback("quick")]
    assert len(feedback) == 1, cluster.log.read_text()
    assert (feedback[0]["rating"], feedback[0]["reason"], feedback[0]["suggestion"], feedback[0]["status"]) == (
        2, "On a attendu 40 minutes.", "Une caisse de plus.", "complete",
    )  # fmt: skip
    assert await redis_client.xlen(keys.FEEDBACK_STREAM) == 1
    # Each answer reached the customer (a process killed after storing a step may have sent its answer
    # before dying: the redelivery sends it again, so it can show twice, never not).
    texts = [m.text for m in emulator.bot_messages(customer.user.id)]
    for expected in ("Quick Massy", "Que s'est-il passé", "suggestion", "Merci pour votre avis"):
        assert any(expected in t for t in texts), (expected, texts)


async def test_sigterm_finishes_the_update_in_flight(
    cluster: Cluster, emulator: BotApiEmulator, redis_client: Redis
) -> None:
    venue = await _venue(redis_client)
    customer = Customer.new(emulator)
    emulator.delay_next("sendMessage", 1.5)
    delivery = asyncio.create_task(emulator.send_text(customer.user, f"/start {venue.token}"))
    await asyncio.sleep(0.5)
    victim = cluster.proxy.last
    assert victim is not None and not delivery.done()
    process = cluster.processes[victim]
    process.send_signal(signal.SIGTERM)
    done = await delivery
    assert done.status == 200 and [c.method for c in done.calls] == ["sendMessage"]
    assert "Quick Massy" in emulator.bot_messages(customer.user.id)[-1].text
    assert await asyncio.to_thread(process.wait, 20) == 0
