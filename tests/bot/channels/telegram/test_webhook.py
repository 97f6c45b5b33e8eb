"""The webhook: the secret is checked, bad bodies are refused, 503 while Redis is down, then redelivery."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings
from bot.editing.overrides import OverrideStore
from bot.errors import ConfigError
from bot.storage.embedded import EmbeddedRedis
from bot.storage.store import Store
from emulator import BotApiEmulator
from tests.support import Clock, Customer


async def _post(url: str, body: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers or {}) as resp:
        return resp.status, await resp.text()


async def test_a_call_without_the_secret_is_refused_and_changes_nothing(
    bot: RunningBot, settings: Settings, emulator: BotApiEmulator
) -> None:
    assert settings.webhook_url is not None
    update = (
        '{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}}'
    )
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        status, _ = await _post(settings.webhook_url, update, headers)
        assert status == 403
    assert emulator.calls_to("sendMessage") == []
    assert await bot.store.redis.dbsize() == 0


OPERATOR = 4242


def _operator_sets_help(update_id: int) -> str:
    """An update as Telegram would send it: the operator, in private, replacing the global `help`."""
    user = {"id": OPERATOR, "is_bot": False, "first_name": "Olga"}
    message = {
        "message_id": update_id, "date": 0, "chat": {"id": OPERATOR, "type": "private"}, "from": user,
        "text": "/template set help fr 0\nPiraté : écrivez à @escroc", "entities": [
            {"type": "bot_command", "offset": 0, "length": 9}],
    }  # fmt: skip
    return json.dumps({"update_id": update_id, "message": message})


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "test-secre"}], ids=["none", "wrong"])
async def test_a_forged_update_from_an_operators_id_is_refused_and_stores_nothing(
    settings: Settings, emulator: BotApiEmulator, clock: Clock, headers: dict[str, str]
) -> None:
    settings = dataclasses.replace(settings, admin_ids=frozenset({OPERATOR}))
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock) as bot:
        status, _ = await _post(settings.webhook_url, _operator_sets_help(1), headers)
        assert status == 403
        assert await OverrideStore(bot.store.redis).revision() == 0
        assert await bot.store.redis.dbsize() == 0
        assert emulator.calls_to("sendMessage") == []
        # The same update with the secret is the operator's own: it would have been obeyed.
        status, _ = await _post(
            settings.webhook_url, _operator_sets_help(2), {"X-Telegram-Bot-Api-Secret-Token": "test-secret"}
        )
        assert status == 200
        assert await OverrideStore(bot.store.redis).revision() == 1


async def test_webhook_mode_without_a_secret_does_not_start(
    settings: Settings, emulator: BotApiEmulator, clock: Clock
) -> None:
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    for secret in (None, Secret("")):
        unsafe = dataclasses.replace(settings, webhook_secret=secret)
        with pytest.raises(ConfigError) as refused:
            async with running_bot(unsafe, listen=Listen("127.0.0.1", port), clock=clock):
                pass
        assert refused.value.variable == "PAROLE_WEBHOOK_SECRET"
    assert emulator.calls_to("setWebhook") == []
    status = None
    with pytest.raises(aiohttp.ClientConnectionError):
        status, _ = await _post(settings.webhook_url, _operator_sets_help(1))
    assert status is None  # nothing listens


def test_parole_serve_webhook_without_a_secret_exits_naming_the_variable(redis_url: str, tmp_path: Path) -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("PAROLE_")},
        "PAROLE_TELEGRAM_TOKEN": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", "PAROLE_TELEGRAM_API_URL": "http://127.0.0.1:9/bot",
        "PAROLE_REDIS_URL": redis_url, "PAROLE_WEBHOOK_URL": "https://bot.example/telegram",
        "PAROLE_DATA_DIR": str(tmp_path),
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--webhook", "--port", "0"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "PAROLE_WEBHOOK_SECRET est nécessaire pour --webhook" in done.stderr


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"no_update_id": 1}', b'{"update_id": "7"}', b'{"update_id": false}', b"\xff\xfe",
     b"[" * 100_000 + b"]" * 100_000,
     b'{"update_id": 8, "message": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
     b'{"update_id": 9, "message": {"message_id": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}}"],
    ids=["empty", "text", "list", "no id", "id as text", "id as a boolean", "not utf-8", "deep list", "deep object",
         "deep in a message"],
)  # fmt: skip
async def test_bad_bodies_get_400(bot: RunningBot, settings: Settings, body: bytes) -> None:
    assert settings.webhook_url is not None
    status, text = await _post(settings.webhook_url, body, {"X-Telegram-Bot-Api-Secret-Token": "test-secret"})
    assert status == 400 and "bad update" in text and "Traceback" not in text
    assert await bot.store.redis.dbsize() == 0


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 10},
        {"update_id": 11, "message": {"message_id": "x"}},
        {"update_id": 12, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}},
        {"update_id": 13, "callback_query": {"id": "1", "from": {"id": 5, "is_bot": False, "first_name": "A"},
                                              "chat_instance": "c", "data": "rate:5"}},
        {"update_id": 14, "edited_message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                                             "text": "edit"}},
        {"update_id": 15, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                                      "from": {"id": 5, "is_bot": True, "first_name": "B"}, "text": "/start x"}},
    ],
)  # fmt: skip
async def test_odd_updates_are_acknowledged_and_change_nothing(
    bot: RunningBot, emulator: BotApiEmulator, update: dict[str, object]
) -> None:
    delivery = await emulator.deliver_raw(update)
    assert delivery.status == 200
    assert [c.method for c in delivery.calls if c.method == "sendMessage"] == []
    # Nothing but the record that the update was handled (a redelivery of it does nothing).
    assert {str(k) for k in await bot.store.redis.keys()} <= {f"parole:update:telegram:{update['update_id']}"}


async def test_healthz(bot: RunningBot, settings: Settings) -> None:
    assert settings.webhook_url is not None
    health = settings.webhook_url.rsplit("/", 2)[0] + "/healthz"
    async with aiohttp.ClientSession() as session, session.get(health) as resp:
        assert resp.status == 200 and (await resp.json())["redis"] == "up"


async def test_503_while_redis_is_down_then_the_redelivered_update_is_processed(
    settings: Settings, emulator: BotApiEmulator, own_redis: EmbeddedRedis, clock: Clock
) -> None:
    settings = dataclasses.replace(settings, redis_url=own_redis.url)
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock) as bot:
        store: Store = bot.store
        await store.add_brand("quick", "Quick")
        venue = await store.add_venue("quick", "Quick Massy")
        customer = Customer.new(emulator)
        await customer.say(f"/start {venue.token}")
        await store.redis.config_set("appendfsync", "always")
        own_redis.kill()
        delivery = await emulator.send_text(customer.user, "4")
        assert delivery.status == 503
        assert emulator.pending_update_count == 1
        own_redis.start()
        [again] = await emulator.redeliver_pending()
        assert again.status == 200
        assert any("Qu'avez-vous le plus apprécié" in str(c.params.get("text")) for c in again.calls)
        [feedback] = [f async for f in store.iter_feedback()]
        assert feedback["rating"] == 4
