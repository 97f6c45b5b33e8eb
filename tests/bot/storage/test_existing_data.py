"""A Redis filled by the release before channels (`tests/data/store_before_channels.json`: `parole demo` then a
news opt-in, dumped key by key) is served by this one as it is: a Telegram customer's keys are the same,
and their feedback, ticket, thread, news and data are theirs, through the whole bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.cli.serve import Listen, running_bot
from bot.config import Settings
from bot.insights.export import export_record
from bot.staff.tickets import TicketStore
from bot.storage import keys
from bot.storage.identity import CustomerId
from emulator import BotApiEmulator
from tests.support import Clock, Customer

STORE = Path(__file__).resolve().parents[2] / "data" / "store_before_channels.json"
CAMILLE = CustomerId.telegram(1002)  # the demo's customer


async def _load(redis: Redis, dump: dict[str, Any]) -> None:
    """Write the dumped keys back, each with its type and what was left of its time to live."""
    for key, item in dump.items():
        kind, value = item["type"], item["value"]
        if kind == "string":
            await redis.set(key, value)
        elif kind == "hash":
            await redis.hset(key, mapping=value)
        elif kind == "set":
            await redis.sadd(key, *value)
        elif kind == "zset":
            await redis.zadd(key, dict(value))
        elif kind == "list":
            await redis.rpush(key, *value)
        elif kind == "stream":
            for entry_id, fields in value:
                await redis.xadd(key, fields, id=entry_id)
        elif kind == "stream-groups":
            for group in value:
                await redis.xgroup_create(key.removesuffix(" groups"), group, id="$")
            continue
        if item["pttl"] > 0:
            await redis.pexpire(key, item["pttl"])


async def test_a_telegram_customers_keys_are_the_ones_written_before() -> None:
    dump = json.loads(STORE.read_text())
    written_by_this_release = [
        keys.chat(CAMILLE),
        keys.customer_salt(CAMILLE),
        keys.customer_feedbacks(CAMILLE),
        keys.customer_tickets(CAMILLE),
        keys.customer_news(CAMILLE),
        keys.rated("quick", "quick-massy-gare", CAMILLE),
    ]
    assert [key for key in written_by_this_release if key not in dump] == []


async def test_the_store_of_the_release_before_is_served_through_the_whole_bot(
    redis_client: Redis, emulator: BotApiEmulator, settings: Settings, clock: Clock
) -> None:
    await _load(redis_client, json.loads(STORE.read_text()))
    emulator.add_user("Julien")
    camille = Customer.new(emulator, "Camille")
    assert camille.user.id == 1002, "the emulator numbers users as the demo's did"
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock) as bot:
        [feedback] = [f async for f in bot.store.iter_feedback(with_tickets=True)]
        assert feedback["customer"] == CAMILLE and feedback["ticket"] == 1001
        record = export_record(feedback)
        assert record["channel"] == "telegram" and record["venue_name"] == "Quick Massy Gare"
        assert [r["author"] for r in record["replies"]] == ["staff", "customer"]
        latest = await TicketStore(redis_client).latest_for_customer(CAMILLE)
        assert latest is not None and latest[0].number == 1001

        summary = await camille.say("/mydata")
        assert "Ce que je garde à votre sujet</b> : 1 avis." in summary.calls[0].params["text"]
        assert "Quick Massy Gare · ⭐⭐ · ticket n° 1001 · 2 messages échangés" in summary.text
        assert [c.method for c in summary.calls] == ["sendMessage", "sendDocument"]

        stopped = await camille.say("/stopnews")
        assert stopped.said == ["C'est fait : vous ne recevrez plus de nouvelles de l'établissement que vous suiviez."]

        asked = await camille.say("/forget")
        assert asked.buttons == ["Oui, oubliez-moi", "Non"]
        await camille.tap("forget:yes")
        for key in (keys.chat(CAMILLE), keys.customer_salt(CAMILLE), keys.customer_feedbacks(CAMILLE)):
            assert not await redis_client.exists(key), key
        [forgotten] = [f async for f in bot.store.iter_feedback()]
        assert forgotten["customer"] is None and forgotten["channel"] == "telegram"
