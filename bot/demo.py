"""`parole demo`: a whole customer journey, offline: embedded Redis, the Bot API emulator, the real bot."""

from __future__ import annotations

import dataclasses
import json
import secrets
import tempfile
from pathlib import Path
from typing import TextIO

from bot import keys
from bot.config import Secret, Settings
from bot.emulator import ApiCall, BotApiEmulator, Delivery, EmulatedUser, RecordedMessage
from bot.export import export_record
from bot.redis_server import free_port
from bot.serve import Listen, running_bot
from bot.store import Store
from bot.venues import deep_link

DEMO_SECRET = "parole-demo-secret"


def _buttons(markup: object) -> str:
    if not isinstance(markup, dict):
        return ""
    rows = markup.get("inline_keyboard") or []
    return "  " + " ".join(f"[{b.get('text')}]" for row in rows for b in row)


def _print_calls(out: TextIO, calls: list[ApiCall]) -> None:
    for call in calls:
        result = call.response.get("result") if isinstance(call.response, dict) else None
        if call.method in ("sendMessage", "editMessageText") and isinstance(result, dict):
            verb = "bot" if call.method == "sendMessage" else "bot (edits its message)"
            text = str(result.get("text", "")).replace("\n", "\n      ")
            out.write(f"  🤖 {verb}: {text}{_buttons(result.get('reply_markup'))}\n")
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            out.write(f"  🤖 (notice) {call.params['text']}\n")


async def _say(out: TextIO, emulator: BotApiEmulator, user: EmulatedUser, text: str) -> Delivery:
    out.write(f"  👤 {user.first_name}: {text}\n")
    delivery = await emulator.send_text(user, text)
    _print_calls(out, delivery.calls)
    return delivery


async def _click(
    out: TextIO, emulator: BotApiEmulator, user: EmulatedUser, message: RecordedMessage, data: str
) -> Delivery:
    label = next((text for row in message.buttons() for text, value in row if value == data), data)
    out.write(f"  👤 {user.first_name} taps [{label}]\n")
    delivery = await emulator.click(user, message, data)
    _print_calls(out, delivery.calls)
    return delivery


async def run_demo(settings: Settings, *, out: TextIO) -> int:
    """Play scan → 2 stars → reason → suggestion, print the transcript and the stored feedback."""
    with tempfile.TemporaryDirectory(prefix="parole-demo-") as tmp:
        async with BotApiEmulator() as emulator:
            port = free_port()
            demo_settings = dataclasses.replace(
                settings,
                telegram_token=Secret(emulator.token),
                telegram_api_url=emulator.base_url,
                data_dir=settings.data_dir if settings.redis_url else Path(tmp),
                webhook_url=f"http://127.0.0.1:{port}/telegram",
                webhook_secret=Secret(DEMO_SECRET),
                bot_username=emulator.bot_username,
            )
            async with running_bot(demo_settings, listen=Listen("127.0.0.1", port)) as bot:
                return await _journey(out, emulator, bot.store)


async def _journey(out: TextIO, emulator: BotApiEmulator, store: Store) -> int:
    brand_code = "quick"
    if await store.redis.exists(keys.brand(brand_code)):  # a configured Redis that already ran the demo
        brand_code = f"quick-{secrets.token_hex(2)}"
    await store.add_brand(brand_code, "Quick")
    venue = await store.add_venue(brand_code, "Quick Massy Gare", city="Massy")
    link = deep_link(emulator.bot_username, venue.token)
    out.write(f"Venue {venue.name!r}: deep link {link} (short code {venue.short_code})\n\n")
    out.write("Transcript\n")
    customer = emulator.add_user("Camille", language_code="fr")
    await _say(out, emulator, customer, f"/start {venue.token}")
    rating_prompt = emulator.bot_messages(customer.id)[-1]
    await _click(out, emulator, customer, rating_prompt, "rate:2")
    await _say(
        out,
        emulator,
        customer,
        "Julien, le serveur, a été aimable mais chez Quick de Massy on a attendu 25 minutes "
        "pour deux cheeseburgers froids.",
    )
    await _say(out, emulator, customer, "Ouvrez une deuxième caisse le midi, près de la gare RER.")
    out.write("\nStored feedback\n")
    count = 0
    async for feedback in store.iter_feedback(brand_code):
        out.write(json.dumps(export_record(feedback), ensure_ascii=False, indent=2) + "\n")
        count += 1
    return 0 if count == 1 else 1
