"""The Cloud API's limits, kept across processes: the number's throughput and each customer's pair rate
through the shared outbound limiter (with WhatsApp's own keys), a throughput refusal pausing every process,
and a refused token making every process's `/healthz` fail until a send succeeds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.botapi.outbound import PRIORITY, Limits, Outbound, OutboundKeys, Priority
from bot.channels.whatsapp.cloud_api import WHATSAPP_OUTBOUND, CloudApi, Result
from bot.config import load_settings
from bot.errors import ConfigError
from bot.storage import keys
from whatsapp_emulator import CloudApiEmulator


@pytest.fixture
async def cloud() -> AsyncIterator[CloudApiEmulator]:
    async with CloudApiEmulator() as emu:
        yield emu


OPENED: list[CloudApi] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while OPENED:
        await OPENED.pop().close()


def process(cloud: CloudApiEmulator, redis: Redis, limits: Limits, *, token: str | None = None) -> CloudApi:
    """One process's Graph API client, paced by the limiter every process shares in Redis."""
    pacing = Outbound(redis, limits, where=WHATSAPP_OUTBOUND)
    api = CloudApi(
        cloud.base_url, cloud.phone_number_id, token or cloud.token, pauses=(0.01,), outbound=pacing, redis=redis
    )
    OPENED.append(api)
    return api


def text(to: str, body: str = "Bonjour") -> dict[str, object]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


@pytest.mark.asyncio
async def test_two_processes_share_the_numbers_throughput(cloud: CloudApiEmulator, redis_client: Redis) -> None:
    users = [cloud.add_user(f"U{n}") for n in range(12)]
    for user in users:
        cloud.value(user)  # they wrote: their window is open
    first, second = (
        process(cloud, redis_client, Limits(per_second=4)),
        process(cloud, redis_client, Limits(per_second=4)),
    )
    token = PRIORITY.set(Priority.CARD)  # staff answers: counted in Redis, message by message
    try:
        start = time.monotonic()
        replies = await asyncio.gather(
            *(api.post(text(u.wa_id), what="t") for api, u in zip([first, second] * 6, users, strict=True))
        )
        elapsed = time.monotonic() - start
    finally:
        PRIORITY.reset(token)
    assert all(r.ok for r in replies)
    # 12 messages at 4 a second, a second's worth at once: at least 2 seconds, whichever process sent them.
    assert elapsed >= 1.8, elapsed
    assert first.outbound is not None and second.outbound is not None
    assert first.outbound.waited > 0 and second.outbound.waited > 0
    assert await redis_client.exists(WHATSAPP_OUTBOUND.bucket) and not await redis_client.exists(keys.OUTBOUND_BUCKET)


@pytest.mark.asyncio
async def test_answers_to_one_customer_keep_the_pair_rate(cloud: CloudApiEmulator, redis_client: Redis) -> None:
    camille, alex = cloud.add_user("Camille"), cloud.add_user("Alex")
    cloud.value(camille), cloud.value(alex)
    api = process(cloud, redis_client, Limits(per_second=1000, chat_per_second=5, chat_burst=2))
    assert api.outbound is not None
    for _ in range(2):
        await api.post(text(alex.wa_id), what="t")
    assert api.outbound.waited == 0.0  # a burst of two passes at once
    for _ in range(4):
        await api.post(text(camille.wa_id), what="t")
    assert api.outbound.waited >= 0.3  # the pair's 5 a second after its burst
    assert len(cloud.sent) == 6


@pytest.mark.asyncio
async def test_a_throughput_refusal_pauses_every_process(cloud: CloudApiEmulator, redis_client: Redis) -> None:
    camille, alex = cloud.add_user("Camille"), cloud.add_user("Alex")
    cloud.value(camille), cloud.value(alex)
    first, second = (process(cloud, redis_client, Limits()) for _ in range(2))
    first.pauses = (0.6,)
    cloud.fail_next(130429)
    refused = asyncio.create_task(first.post(text(camille.wa_id), what="t"))
    await asyncio.sleep(0.2)  # the first process got the 130429 and waits
    assert (await second.post(text(alex.wa_id), what="t")).ok
    assert second.outbound is not None and second.outbound.waited >= 0.2  # it waited too
    assert (await refused).ok  # retried after the pause
    cloud.fail_next(131056)  # the pair rate: that customer's pause, not the number's
    pair = asyncio.create_task(first.post(text(camille.wa_id), what="t"))
    await asyncio.sleep(0.2)
    waited = second.outbound.waited
    assert (await second.post(text(alex.wa_id), what="t")).ok and second.outbound.waited == waited
    assert (await pair).ok


@pytest.mark.asyncio
async def test_a_refused_token_fails_every_process_until_a_send_succeeds(
    cloud: CloudApiEmulator, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    camille = cloud.add_user("Camille")
    cloud.value(camille)
    first, second = (process(cloud, redis_client, Limits()) for _ in range(2))
    await second.post(text(camille.wa_id), what="t")
    cloud.fail_next(190)
    assert (await first.post(text(camille.wa_id), what="t")).result is Result.TOKEN
    assert "access token was refused" in caplog.text and cloud.token not in caplog.text
    assert await first.token_refused() and await second.token_refused()  # the second never saw the 190
    replaced = process(cloud, redis_client, Limits(), token="EAAanotherTokenAfterTheRestart0123456789")
    assert not await replaced.token_refused()  # a refusal of the old token does not count for a new one
    assert (await second.post(text(camille.wa_id), what="t")).ok
    assert not await second.token_refused() and await first.token_refused()
    assert (await first.post(text(camille.wa_id), what="t")).ok
    assert not await first.token_refused() and not await redis_client.exists("parole:whatsapp:token_refused")


@pytest.mark.asyncio
async def test_garbage_in_the_shared_token_state_counts_as_healthy(
    cloud: CloudApiEmulator, redis_client: Redis
) -> None:
    api = process(cloud, redis_client, Limits())
    for junk in ("", "::", "nocolon", "abc:notafloat"):
        await redis_client.set("parole:whatsapp:token_refused", junk)
        assert not await api.token_refused()


@pytest.mark.parametrize("value", ["0", "-3", "fast", "nan", "inf"])
def test_a_bad_throughput_is_refused_naming_the_variable(value: str) -> None:
    env = {
        "PAROLE_WHATSAPP_TOKEN": "EAAemulatedGraphApiAccessToken0123456789",
        "PAROLE_WHATSAPP_PHONE_NUMBER_ID": "1065", "PAROLE_WHATSAPP_APP_SECRET": "secret0123",
        "PAROLE_WHATSAPP_VERIFY_TOKEN": "v", "PAROLE_WHATSAPP_NUMBER": "33180000000",
        "PAROLE_WHATSAPP_THROUGHPUT": value,
    }  # fmt: skip
    with pytest.raises(ConfigError, match="PAROLE_WHATSAPP_THROUGHPUT"):
        load_settings(env, dotenv=None)
    env["PAROLE_WHATSAPP_THROUGHPUT"] = "20"
    whatsapp = load_settings(env, dotenv=None).whatsapp
    assert whatsapp is not None and whatsapp.throughput == 20.0


def test_telegram_keeps_its_own_keys() -> None:
    assert OutboundKeys().bucket == keys.OUTBOUND_BUCKET and WHATSAPP_OUTBOUND.bucket != keys.OUTBOUND_BUCKET
