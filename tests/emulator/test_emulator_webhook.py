"""Updates by webhook: the secret header, what the bot did meanwhile, failures, redelivery, replies
carrying a method call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from emulator import BotApiEmulator

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Hook:
    """A webhook endpoint the test steers: its status, its JSON answer, what it does with each update."""

    url: str = ""
    status: int = 200
    reply: dict[str, Any] | None = None
    on_update: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    received: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)  # update, secret header


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    hook = Hook()

    async def receive(request: web.Request) -> web.Response:
        update = await request.json()
        hook.received.append((update, request.headers.get(SECRET_HEADER)))
        if hook.on_update is not None:
            await hook.on_update(update)
        return web.json_response(hook.reply or {"ok": True}, status=hook.status)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    await runner.cleanup()


async def test_updates_are_posted_with_the_secret(emulator: BotApiEmulator, tg: Bot, hook: Hook) -> None:
    async def answer(update: dict[str, Any]) -> None:
        await tg.send_message(update["message"]["chat"]["id"], "Bienvenue")

    hook.on_update = answer
    assert await tg.set_webhook(hook.url, secret_token="s3cret-token", max_connections=5)
    assert (emulator.webhook_url, emulator.webhook_secret) == (hook.url, "s3cret-token")
    user = emulator.add_user("Camille")
    delivery = await emulator.send_text(user, "/start venue-42")
    assert delivery.status == 200 and delivery.body == {"ok": True}
    assert [(call.method, call.status) for call in delivery.calls] == [("sendMessage", 200)]
    update, secret = hook.received[0]
    assert secret == "s3cret-token" and update == delivery.update
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    emulator.spec.check_value("Update", update)
    info = await tg.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (hook.url, 0, 5)
    await emulator.settle()


async def test_a_failed_delivery_waits_for_redelivery(emulator: BotApiEmulator, tg: Bot, hook: Hook) -> None:
    await tg.set_webhook(hook.url)
    user = emulator.add_user("Camille")
    hook.status = 503
    failed = await emulator.send_text(user, "hello")
    assert failed.status == 503
    info = await tg.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
    with pytest.raises(TimeoutError):
        await emulator.settle(timeout=0.2)
    hook.status = 200
    [retried] = await emulator.redeliver_pending()
    assert (retried.update_id, retried.status) == (failed.update_id, 200)
    assert [u["update_id"] for u, _ in hook.received] == [failed.update_id, failed.update_id]
    assert emulator.pending_update_count == 0
    assert await emulator.redeliver_pending() == []


async def test_an_unreachable_webhook_keeps_the_update(emulator: BotApiEmulator, tg: Bot, hook: Hook) -> None:
    await tg.set_webhook("http://127.0.0.1:9/nobody")
    delivery = await emulator.send_text(emulator.add_user("Camille"), "hello")
    assert delivery.status is None and delivery.calls == []
    info = await tg.get_webhook_info()
    assert (info.pending_update_count, info.last_error_message) == (1, "Connection refused")
    await tg.set_webhook(hook.url)
    [delivered] = await emulator.redeliver_pending()
    assert delivered.status == 200 and hook.received[0][0]["update_id"] == delivery.update_id


async def test_a_method_in_the_webhook_answer_is_executed(emulator: BotApiEmulator, tg: Bot, hook: Hook) -> None:
    await tg.set_webhook(hook.url)
    user = emulator.add_user("Camille")
    hook.reply = {"method": "sendMessage", "chat_id": user.id, "text": "<b>Merci</b>", "parse_mode": "HTML"}
    delivery = await emulator.send_text(user, "hello")
    assert [(c.method, c.status) for c in delivery.calls] == [("sendMessage", 200)]
    assert emulator.bot_messages(user.id)[-1].text == "Merci"
    hook.reply = {"method": "sendMessage", "chat_id": user.id}
    refused = await emulator.send_text(user, "again")
    assert refused.calls[0].status == 400 and '"text" is required' in refused.calls[0].response["description"]


async def test_pending_updates_survive_setting_a_webhook_unless_dropped(
    emulator: BotApiEmulator, tg: Bot, hook: Hook
) -> None:
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "one")
    await tg.set_webhook(hook.url)
    assert (await tg.get_webhook_info()).pending_update_count == 1
    assert [d.status for d in await emulator.redeliver_pending()] == [200]
    await tg.delete_webhook()
    await emulator.send_text(user, "two")
    await tg.set_webhook(hook.url, drop_pending_updates=True)
    assert emulator.pending_update_count == 0


async def test_webhook_allowed_updates_and_raw_updates(emulator: BotApiEmulator, tg: Bot, hook: Hook) -> None:
    await tg.set_webhook(hook.url, allowed_updates=["message"])
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    await tg.send_message(
        user.id, "?", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]])
    )
    skipped = await emulator.click(user, emulator.bot_messages(user.id)[-1], "ok")
    assert skipped.status is None and len(hook.received) == 1
    raw = await emulator.deliver_raw({"unexpected": {"shape": True}})
    assert raw.status == 200 and hook.received[-1][0] == {
        "update_id": raw.update_id,
        "unexpected": {"shape": True},
    }
    assert raw.update_id > skipped.update_id > 1


async def test_webhook_settings_telegram_refuses(emulator: BotApiEmulator, tg: Bot) -> None:
    with pytest.raises(BadRequest, match="Bad webhook: an https url must be provided"):
        await tg.set_webhook("ftp://example.org/hook")
    with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
        await tg.set_webhook("https://example.org/hook", secret_token="not allowed!")
    assert emulator.webhook_url is None
