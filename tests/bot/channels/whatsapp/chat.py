"""Test tools: a WhatsApp customer who talks to the bot through the Cloud API emulator, and transcripts as data
(tests/transcripts/whatsapp_*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from whatsapp_emulator import CloudApiEmulator, Delivery, SentMessage, WhatsAppUser

TRANSCRIPTS = Path(__file__).parents[3] / "transcripts"


@dataclass
class Turn:
    """What the bot did in answer to one message: its HTTP answer, the messages it sent, the calls refused."""

    delivery: Delivery
    messages: list[SentMessage]

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    @property
    def choices(self) -> list[str]:
        """Titles of the last interactive message's buttons or rows."""
        interactive = [m for m in self.messages if m.choices]
        return interactive[-1].titles if interactive else []


class WhatsAppCustomer:
    """A person writing to the business number."""

    def __init__(self, cloud: CloudApiEmulator, user: WhatsAppUser) -> None:
        self.cloud = cloud
        self.user = user

    async def _turn(self, delivery_coro: Any) -> Turn:
        first = len(self.cloud.sent)
        delivery = await delivery_coro
        return Turn(delivery, [m for m in self.cloud.sent[first:] if m.to == self.user.wa_id])

    async def say(self, text: str) -> Turn:
        return await self._turn(self.cloud.send_text(self.user, text))

    async def choose(self, title: str) -> Turn:
        """Tap a button or pick a row, by its title, in the last message that offered it."""
        for message in reversed(self.cloud.messages_to(self.user)):
            if title in message.choices.values() or title in message.choices:
                return await self._turn(self.cloud.choose(self.user, message, title))
        raise AssertionError(f"no message offered {title!r}")

    async def send(self, kind: str, *, caption: str | None = None) -> Turn:
        return await self._turn(self.cloud.send_media(self.user, kind, caption=caption))

    async def share_location(self, latitude: float, longitude: float) -> Turn:
        return await self._turn(self.cloud.send_location(self.user, latitude, longitude))


def load(name: str) -> list[dict[str, Any]]:
    steps = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(steps, list)
    return steps


async def play(customer: WhatsAppCustomer, steps: list[dict[str, Any]], variables: dict[str, str]) -> list[Turn]:
    """Run a transcript. Each step does one thing: `user: TEXT`, `choose: TITLE` (a button or a list row),
    `send: KIND` (image, sticker, audio, video, document, reaction, contacts, unsupported; `caption` for the first
    three), or
    `location: [LAT, LON]`; then checks `bot` (substrings of what the bot sent, in order of the list),
    `choices` (the titles offered, exactly) and `kind` (`list` or `button`: how they were offered)."""
    turns = []
    for number, step in enumerate(steps, start=1):
        where = f"step {number} {step}"
        if "user" in step:
            turn = await customer.say(str(step["user"]).format(**variables))
        elif "choose" in step:
            turn = await customer.choose(str(step["choose"]))
        elif "send" in step:
            turn = await customer.send(str(step["send"]), caption=step.get("caption"))
        elif "location" in step:
            turn = await customer.share_location(*step["location"])
        else:
            raise AssertionError(f"{where}: nothing to do")
        assert turn.delivery.status == 200, f"{where}: the webhook answered {turn.delivery.status}"
        assert not turn.delivery.failed, f"{where}: the Cloud API refused {[c.response for c in turn.delivery.failed]}"
        for expected in step.get("bot", []):
            assert expected.format(**variables) in turn.text, f"{where}: the bot said {turn.text!r}"
        assert "<b>" not in turn.text and "&amp;" not in turn.text, f"{where}: HTML on WhatsApp: {turn.text!r}"
        if "choices" in step:
            assert turn.choices == step["choices"], f"{where}: choices {turn.choices!r}"
        if "kind" in step:
            offered = [m.payload["interactive"]["type"] for m in turn.messages if m.choices]
            assert offered and offered[-1] == step["kind"], f"{where}: offered as {offered!r}"
        turns.append(turn)
    return turns
