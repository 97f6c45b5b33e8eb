"""`parole demo --channel whatsapp`: the journey on WhatsApp and a staff reply from the Telegram room, offline:
embedded Redis, the Cloud API emulator for the customer, the Bot API emulator for the staff, the real bot."""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import TextIO

from bot.channels.whatsapp.links import PREFILLED, whatsapp_link
from bot.cli.demo import _print_calls, _Scene, offline_settings
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings, WhatsAppSettings
from bot.insights.export import export_record
from bot.storage import keys
from bot.storage.embedded import free_port
from emulator import BotApiEmulator
from whatsapp_emulator import CloudApiEmulator, SentMessage, WhatsAppUser

VERIFY_TOKEN = "parole-demo-verify"


def _print_sent(out: TextIO, messages: list[SentMessage], name: str) -> None:
    for message in messages:
        text = message.text.replace("\n", "\n      ")
        choices = "  " + " ".join(f"[{t}]" for t in message.titles) if message.choices else ""
        out.write(f"  🤖 → {name} (WhatsApp) : {text}{choices}\n")


class _Phone:
    """The customer's WhatsApp, printed as they would read it."""

    def __init__(self, out: TextIO, cloud: CloudApiEmulator, user: WhatsAppUser) -> None:
        self.out, self.cloud, self.user = out, cloud, user

    def _since(self, first: int) -> list[SentMessage]:
        return [m for m in self.cloud.sent[first:] if m.to == self.user.wa_id]

    async def say(self, text: str) -> None:
        self.out.write(f"  👤 {self.user.name} (WhatsApp) : {text}\n")
        first = len(self.cloud.sent)
        await self.cloud.send_text(self.user, text)
        _print_sent(self.out, self._since(first), self.user.name)

    async def choose(self, title: str) -> None:
        message = next(m for m in reversed(self.cloud.messages_to(self.user)) if title in m.choices.values())
        self.out.write(f"  👤 {self.user.name} choisit [{title}]\n")
        first = len(self.cloud.sent)
        await self.cloud.choose(self.user, message, title)
        _print_sent(self.out, self._since(first), self.user.name)


async def run_whatsapp_demo(settings: Settings, *, out: TextIO) -> int:
    """Play the wa.me link → 2 stars → reason → suggestion, a staff reply and the customer's answer."""
    with tempfile.TemporaryDirectory(prefix="parole-demo-") as tmp:
        async with BotApiEmulator() as emulator, CloudApiEmulator() as cloud:
            port = free_port()
            demo_settings = offline_settings(
                settings,
                emulator,
                port,
                Path(tmp),
                whatsapp=WhatsAppSettings(
                    token=Secret(cloud.token),
                    phone_number_id=cloud.phone_number_id,
                    app_secret=Secret(cloud.app_secret),
                    verify_token=Secret(VERIFY_TOKEN),
                    number=cloud.number,
                    api_url=cloud.base_url,
                ),
            )
            async with running_bot(
                demo_settings, listen=Listen("127.0.0.1", port), notify_every=None, analysis_wait=0
            ) as bot:
                await cloud.subscribe(f"http://127.0.0.1:{port}/whatsapp", VERIFY_TOKEN)
                return await _journey(out, emulator, cloud, bot)


async def _journey(out: TextIO, emulator: BotApiEmulator, cloud: CloudApiEmulator, bot: RunningBot) -> int:
    store = bot.store
    brand_code = "quick"
    if await store.redis.exists(keys.brand(brand_code)):  # a configured Redis that already ran the demo
        brand_code = f"quick-{secrets.token_hex(2)}"
    await store.add_brand(brand_code, "Quick")
    venue = await store.add_venue(brand_code, "Quick Massy Gare", city="Massy")
    out.write(f"Lieu « {venue.name} » : whatsapp_link {whatsapp_link(cloud.number, venue.short_code)}\n\n")
    scene = _Scene(out, emulator)
    julien = emulator.add_user("Julien", language_code="fr")
    room = emulator.add_group("Quick Massy — équipe", members=[], admins=[julien])
    scene.names = {room.id: room.title or "salon de l'équipe"}

    out.write("L'équipe relie son groupe Telegram (le code vient de `parole staff invite --brand quick`)\n")
    invite = await bot.staff.rooms.invite(brand_code)
    await scene.say(julien, invite.command, room)

    out.write("\nLa cliente scanne le QR code : WhatsApp s'ouvre avec le texte déjà écrit\n")
    phone = _Phone(out, cloud, cloud.add_user("Camille"))
    await phone.say(PREFILLED.format(code=venue.short_code))
    await phone.choose("⭐⭐")
    await phone.say("On a attendu 25 minutes pour deux cheeseburgers froids.")
    await phone.say("Ouvrez une deuxième caisse le midi.")

    out.write(
        "\nLe salon de l'équipe reçoit la fiche (pas de worker d'analyse dans cette démo) et répond dans Telegram\n"
    )
    mark = len(emulator.calls)
    await bot.staff.notifier.tick()
    _print_calls(out, emulator.calls[mark:], scene.names)
    [feedback] = [f async for f in store.iter_feedback(brand_code)]
    number = feedback["ticket"]
    first = len(cloud.sent)
    await scene.say(julien, f"/reply {number} Bonjour, toutes nos excuses : une deuxième caisse ouvre le midi.", room)
    _print_sent(out, cloud.sent[first:], phone.user.name)
    await phone.say("Merci pour la réponse !")

    out.write("\nRetour enregistré\n")
    count = 0
    async for feedback in store.iter_feedback(brand_code, with_tickets=True):
        out.write(json.dumps(export_record(feedback), ensure_ascii=False, indent=2) + "\n")
        count += 1
    return 0 if count == 1 else 1
