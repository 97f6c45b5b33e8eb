"""Test tools: a clock the test moves, a customer who talks to the bot, transcripts as data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator import ApiCall, BotApiEmulator, Delivery, EmulatedUser, RecordedMessage

TRANSCRIPTS = Path(__file__).parent / "transcripts"


class Clock:
    """Wall-clock time that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class BotTurn:
    """What the bot did in answer to one thing the customer did."""

    delivery: Delivery
    said: list[str] = field(default_factory=list)  # texts of sent messages
    edited: list[str] = field(default_factory=list)  # new texts of edited messages
    notices: list[str] = field(default_factory=list)  # callback answers shown on screen
    buttons: list[str] = field(default_factory=list)  # labels of the last keyboard sent or edited
    calls: list[ApiCall] = field(default_factory=list)
    failed: list[ApiCall] = field(default_factory=list)  # calls Telegram refused

    @property
    def text(self) -> str:
        return "\n".join(self.said + self.edited)


def _turn(delivery: Delivery) -> BotTurn:
    turn = BotTurn(delivery, calls=list(delivery.calls))
    for call in delivery.calls:
        if call.status != 200:
            turn.failed.append(call)
            continue
        result = call.response.get("result")
        if call.method in ("sendMessage", "editMessageText") and isinstance(result, dict):
            (turn.said if call.method == "sendMessage" else turn.edited).append(str(result.get("text", "")))
            markup = result.get("reply_markup") or {}
            turn.buttons = [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            turn.notices.append(str(call.params["text"]))
    return turn


class Customer:
    """A person in a private chat with the bot, through the emulator."""

    def __init__(self, emulator: BotApiEmulator, user: EmulatedUser) -> None:
        self.emulator = emulator
        self.user = user

    @classmethod
    def new(cls, emulator: BotApiEmulator, name: str = "Camille", language: str | None = "fr") -> Customer:
        return cls(emulator, emulator.add_user(name, language_code=language))

    async def say(self, text: str) -> BotTurn:
        return _turn(await self.emulator.send_text(self.user, text))

    async def share_location(self, latitude: float, longitude: float) -> BotTurn:
        return _turn(await self.emulator.send_location(self.user, latitude, longitude))

    async def send(self, kind: str, *, caption: str | None = None) -> BotTurn:
        if kind == "location":
            return await self.share_location(48.73, 2.27)
        return _turn(await self.emulator.send_media(self.user, kind, caption=caption))

    def last_keyboard_message(self, data: str) -> RecordedMessage:
        for message in reversed(self.emulator.bot_messages(self.user.id)):
            if any(value == data for row in message.buttons() for _, value in row):
                return message
        raise AssertionError(f"no message of the bot has a button {data!r}")

    async def tap(self, data: str, message: RecordedMessage | None = None) -> BotTurn:
        message = message or self.last_keyboard_message(data)
        return _turn(await self.emulator.click(self.user, message, data))


#: The shortest valid flow: the rating, then thanks (admins' edits in the tests save it).
RATING_ONLY_FLOW = """\
name: short
languages: [fr, en]
start: rating
steps:
  rating:
    ask: ask_rating
    input: rating
    next: thanks
  thanks:
    say: thanks
    end: true
"""


def load_transcript(name: str) -> list[dict[str, Any]]:
    """A transcript file: a list of steps, each one customer action and what the bot must answer."""
    steps = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(steps, list), f"{name}.yaml must be a list of steps"
    return steps


async def play(customer: Customer, steps: list[dict[str, Any]], variables: dict[str, str]) -> list[BotTurn]:
    """Run a transcript: each step's `user`/`tap`/`send` (with its `caption`), then check `bot` (substrings the
    bot's texts must contain), `not` (substrings they must not), `buttons` (the exact labels of the last
    keyboard), `notice`, and `silent: true` (the bot said and edited nothing)."""
    turns: list[BotTurn] = []
    for number, step in enumerate(steps, start=1):
        where = f"step {number} {step}"
        if "user" in step:
            turn = await customer.say(str(step["user"]).format(**variables))
        elif "tap" in step:
            turn = await customer.tap(str(step["tap"]))
        elif "send" in step:
            turn = await customer.send(str(step["send"]), caption=step.get("caption"))
        else:
            raise AssertionError(f"{where}: no user, tap or send")
        assert not turn.failed, f"{where}: Telegram refused {[(c.method, c.response) for c in turn.failed]}"
        for expected in step.get("bot", []):
            assert expected.format(**variables) in turn.text, f"{where}: bot said {turn.text!r}"
        for unexpected in step.get("not", []):
            assert unexpected.format(**variables) not in turn.text, f"{where}: bot said {turn.text!r}"
        if "buttons" in step:
            expected_buttons = [str(label).format(**variables) for label in step["buttons"]]
            assert turn.buttons == expected_buttons, f"{where}: buttons {turn.buttons!r}"
        if "notice" in step:
            assert any(step["notice"] in n for n in turn.notices), f"{where}: notices {turn.notices!r}"
        if step.get("silent"):
            assert not turn.said and not turn.edited, f"{where}: bot said {turn.text!r}"
        else:
            assert turn.said or turn.edited or turn.notices, f"{where}: the bot said nothing"
        turns.append(turn)
    return turns
