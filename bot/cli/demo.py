"""`parole demo`: a whole customer journey, offline: embedded Redis, the Bot API emulator, the real bot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from redis.asyncio import Redis

from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings
from bot.insights.export import export_record
from bot.storage import keys
from bot.storage.embedded import EmbeddedRedis, free_port
from bot.storage.store import Store
from bot.storage.venues import Venue, deep_link
from bot.storage.vocabulary import VocabularyStore
from emulator import ApiCall, BotApiEmulator, Delivery, EmulatedChat, EmulatedUser, RecordedMessage

DEMO_SECRET = "parole-demo-secret"


def _buttons(markup: object) -> str:
    if not isinstance(markup, dict):
        return ""
    rows = markup.get("inline_keyboard") or []
    return "  " + " ".join(f"[{b.get('text')}]" for row in rows for b in row)


def _print_calls(out: TextIO, calls: list[ApiCall], names: dict[int, str]) -> None:
    for call in calls:
        result = call.response.get("result") if isinstance(call.response, dict) else None
        if call.method in ("sendMessage", "editMessageText") and isinstance(result, dict):
            where = names.get(int(result.get("chat", {}).get("id", 0)), "?")
            verb = "→" if call.method == "sendMessage" else "→ (modifie son message)"
            text = str(result.get("text", "")).replace("\n", "\n      ")
            out.write(f"  🤖 {verb} {where}: {text}{_buttons(result.get('reply_markup'))}\n")
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            out.write(f"  🤖 (notification) {call.params['text']}\n")


class _Scene:
    """Who is in the demo and where, to print the transcript as a person would read it."""

    def __init__(self, out: TextIO, emulator: BotApiEmulator) -> None:
        self.out = out
        self.emulator = emulator
        self.names: dict[int, str] = {}

    async def say(self, user: EmulatedUser, text: str, chat: EmulatedChat | None = None) -> Delivery:
        where = f" dans {chat.title}" if chat is not None else ""
        self.out.write(f"  👤 {user.first_name}{where} : {text}\n")
        delivery = await self.emulator.send_text(user, text, chat=chat)
        _print_calls(self.out, delivery.calls, self.names)
        return delivery

    async def tap(self, user: EmulatedUser, message: RecordedMessage, data: str) -> Delivery:
        label = next((text for row in message.buttons() for text, value in row if value == data), data)
        self.out.write(f"  👤 {user.first_name} touche [{label}]\n")
        delivery = await self.emulator.click(user, message, data)
        _print_calls(self.out, delivery.calls, self.names)
        return delivery


def offline_settings(settings: Settings, emulator: BotApiEmulator, port: int, tmp: Path, **changes: Any) -> Settings:
    """`settings` pointed at the Bot API emulator, the webhook on `port`, the data in `tmp` without a Redis URL."""
    return dataclasses.replace(
        settings,
        telegram_token=Secret(emulator.token),
        telegram_api_url=emulator.base_url,
        data_dir=settings.data_dir if settings.redis_url else tmp,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_secret=Secret(DEMO_SECRET),
        bot_username=emulator.bot_username,
        **changes,
    )


async def run_demo(settings: Settings, *, out: TextIO) -> int:
    """Play scan → 2 stars → reason → suggestion, print the transcript and the stored feedback."""
    with tempfile.TemporaryDirectory(prefix="parole-demo-") as tmp:
        async with BotApiEmulator() as emulator:
            port = free_port()
            demo_settings = offline_settings(settings, emulator, port, Path(tmp))
            # No worker runs in the demo: cards go out at once, without waiting for the analysis.
            async with running_bot(
                demo_settings, listen=Listen("127.0.0.1", port), notify_every=None, analysis_wait=0
            ) as bot:
                redis_url = settings.redis_url or EmbeddedRedis(demo_settings.data_dir / "redis").url
                return await _journey(out, emulator, bot, redis_url)


async def _analyse(out: TextIO, redis_url: str, client: Redis, *, timeout: float = 120.0) -> None:
    """Run `parole worker` until the feedback stream is analysed, as a deployment would, then stop it."""
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_LOG_LEVEL": "WARNING"}
    worker = await asyncio.create_subprocess_exec(
        # --port 0: no /healthz server, which could find a deployed worker's port taken on this host
        *(sys.executable, "-m", "bot", "worker", "--name", "demo", "--no-notifier", "--port", "0"),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            groups = await client.xinfo_groups(keys.FEEDBACK_STREAM)
            analysis = next((g for g in groups if g["name"] == keys.ANALYSIS_GROUP), None)
            if analysis is not None and analysis["lag"] == 0 and analysis["pending"] == 0:
                break
            if worker.returncode is not None or time.monotonic() > deadline:
                out.write("  (le worker d'analyse n'a pas fini ; la fiche reste sans analyse)\n")
                break
            await asyncio.sleep(0.2)
    finally:
        if worker.returncode is None:
            worker.terminate()
        await worker.wait()


async def add_sample_venue(store: Store) -> tuple[str, Venue]:
    """The demo's brand (Quick, with a vocabulary) and venue (Quick Massy Gare); a fresh brand code when a
    configured Redis already has one."""
    brand_code = "quick"
    if await store.redis.exists(keys.brand(brand_code)):  # a configured Redis that already ran the demo
        brand_code = f"quick-{secrets.token_hex(2)}"
    await store.add_brand(brand_code, "Quick")
    venue = await store.add_venue(brand_code, "Quick Massy Gare", city="Massy")
    words = VocabularyStore(store.redis)
    for label, term in (("ORG", "Quick"), ("PER", "Julien"), ("PRODUCT", "cheeseburger"), ("LOC", "gare RER")):
        await words.add(brand_code, label, term)
    return brand_code, venue


async def _journey(out: TextIO, emulator: BotApiEmulator, bot: RunningBot, redis_url: str) -> int:
    store = bot.store
    brand_code, venue = await add_sample_venue(store)
    link = deep_link(emulator.bot_username, venue.token)
    out.write(f"Lieu « {venue.name} » : lien direct {link} (code court {venue.short_code})\n")
    out.write("Vocabulaire de la marque : Quick (ORG), Julien (PER), cheeseburger (PRODUCT), gare RER (LOC)\n\n")
    scene = _Scene(out, emulator)
    julien = emulator.add_user("Julien", language_code="fr")
    room = emulator.add_group("Quick Massy — équipe", members=[], admins=[julien])
    customer = emulator.add_user("Camille", language_code="fr")
    scene.names = {room.id: room.title or "salon de l'équipe", customer.id: "Camille"}

    out.write("L'équipe relie son groupe Telegram (le code vient de `parole staff invite --brand quick`)\n")
    invite = await bot.staff.rooms.invite(brand_code)
    await scene.say(julien, invite.command, room)

    out.write("\nLa cliente scanne le QR code\n")
    await scene.say(customer, f"/start {venue.token}")
    await scene.tap(customer, emulator.bot_messages(customer.id)[-1], "rate:2")
    await scene.say(
        customer,
        "Julien, le serveur, a été aimable mais chez Quick de Massy on a attendu 25 minutes "
        "pour deux cheeseburgers froids.",
    )
    await scene.say(customer, "Ouvrez une deuxième caisse le midi, près de la gare RER.")

    out.write(
        "\nLe salon de l'équipe reçoit la fiche ; le worker d'analyse (spaCy, dans son propre processus) la complète\n"
    )
    mark = len(emulator.calls)
    await bot.staff.notifier.tick()
    await _analyse(out, redis_url, store.redis)  # the bot's client: one Redis or a cluster alike
    await bot.staff.notifier.tick()
    _print_calls(out, emulator.calls[mark:], scene.names)
    [feedback] = [f async for f in store.iter_feedback(brand_code)]
    number = feedback["ticket"]
    await scene.say(julien, f"/reply {number} Bonjour, toutes nos excuses : une deuxième caisse ouvre le midi.", room)
    await scene.say(customer, "Merci pour la réponse !")

    out.write("\nRetour enregistré\n")
    count = 0
    async for feedback in store.iter_feedback(brand_code, with_tickets=True):
        out.write(json.dumps(export_record(feedback), ensure_ascii=False, indent=2) + "\n")
        count += 1
    return 0 if count == 1 else 1
