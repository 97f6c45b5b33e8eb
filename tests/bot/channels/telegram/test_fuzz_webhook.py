"""Property-based: malformed updates and any text, through the webhook, crash nothing and corrupt nothing.

Thousands of updates (Hypothesis) go to the running bot over HTTP, as Telegram would send them: shapes
Telegram never sends (wrong types, missing fields, unknown kinds), and texts of every sort from a real
customer in the middle of a feedback. After each: the webhook answered without a 5xx, no update ended in
an unhandled exception, the customer's stored conversation loads. After all: every stored conversation
loads, and a whole journey still completes for that customer and for a new one. `PAROLE_FUZZ_UPDATES` sets
how many examples (1,000 by default).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.cli.serve import RunningBot
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.venues import Venue
from emulator import BotApiEmulator, EmulatedUser
from tests.support import Customer

# About a minute here (two or three webhook requests each); PAROLE_FUZZ_UPDATES=20000 for a longer run.
EXAMPLES = int(os.environ.get("PAROLE_FUZZ_UPDATES") or 1000)
CUSTOMERS = 40
CUSTOMER, MESSAGE = "<customer>", "<message>"  # placeholders in the generated updates
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI does not fail by chance
    phases=[Phase.explicit, Phase.generate],  # no shrinking: it takes minutes here; the failing example is shown
)
# Telegram sends valid UTF-8 only: texts hold any character but lone surrogates (which JSON could carry).
TEXTS = st.text(st.characters(exclude_categories=["Cs"]), max_size=60) | st.sampled_from(
    ["", " ", "\x00\x01\x1b[31m", "🙂" * 500, "x" * 10_000, "/start", "/start nope", "/start " + "a" * 64,
     "/forget", "/mydata", "/language", "/cancel", "/help", "/close 1001", "/reply", "/link", "3", "10", "-1"]
)  # fmt: skip
# What a customer can type: Telegram sends no empty message and splits the ones over 4096 characters.
TYPED = TEXTS.filter(lambda text: bool(text.strip()) and len(text.encode("utf-16-le")) <= 2 * 4096)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


class ErrorRecords(logging.Handler):
    """The log records that carry an exception, from any logger (the bot's, python-telegram-bot's, aiohttp's)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is not None or record.getMessage().startswith("update "):
            self.records.append(record)

    def unexpected(self) -> list[str]:
        # The documented drop: an update python-telegram-bot cannot even read is answered 200 and logged.
        return [r.getMessage() for r in self.records if "could not be read; dropped" not in r.getMessage()]


@pytest.fixture
def errors() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def updates() -> st.SearchStrategy[dict[str, Any]]:
    """Update shapes around a customer's chat (`CUSTOMER`, `MESSAGE`): right ones with wrong parts, and wrong ones."""
    ids = st.sampled_from([CUSTOMER, -1001234567890, 0, 2**63, -1]) | JSON
    person = st.fixed_dictionaries(
        {"id": ids, "is_bot": st.booleans() | JSON, "first_name": st.text(max_size=10) | JSON},
        optional={"language_code": st.sampled_from(["fr", "en", "xx", ""]) | JSON, "username": JSON},
    )
    chat = st.fixed_dictionaries(
        {"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "channel", "secret"]) | JSON}
    )
    message = st.fixed_dictionaries(
        {
            "message_id": st.sampled_from([MESSAGE, 1]) | JSON,
            "date": st.integers(min_value=0, max_value=2**31) | JSON,
            "chat": chat | JSON,
        },
        optional={
            "from": person | JSON,
            "text": TEXTS | JSON,
            "entities": st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["bot_command", "bold", "url"]) | JSON, "offset": JSON, "length": JSON}
                ),
                max_size=2,
            )
            | JSON,
            "sticker": JSON,
            "photo": JSON,
            "voice": JSON,
            "caption": TEXTS,
            "reply_to_message": JSON,
        },
    )
    callback = st.fixed_dictionaries(
        {"id": st.text(max_size=8) | JSON, "from": person | JSON, "chat_instance": st.text(max_size=8) | JSON},
        optional={
            "data": st.sampled_from(["rate:1", "rate:5", "rate:9", "rate:", "skip", "forget:yes", "close:1001"])
            | st.text(max_size=70)
            | JSON,
            "message": message | JSON,
        },
    )
    kinds = st.one_of(
        st.fixed_dictionaries({"message": message}),
        st.fixed_dictionaries({"edited_message": message}),
        st.fixed_dictionaries({"callback_query": callback}),
        st.fixed_dictionaries({"my_chat_member": JSON, "chat_member": JSON}),
        st.dictionaries(st.text(max_size=15), JSON, max_size=3),
    )
    # Mostly numbered by the emulator; sometimes an id of a wrong type, as no Telegram would send.
    return kinds | st.builds(lambda update, bad: {**update, "update_id": bad}, kinds, JSON)


def _aimed(value: Any, user: EmulatedUser, message_id: int) -> Any:
    """The update with the placeholders replaced by this customer's id and the id of their last message."""
    if value == CUSTOMER:
        return user.id
    if value == MESSAGE:
        return message_id
    if isinstance(value, dict):
        return {key: _aimed(item, user, message_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_aimed(item, user, message_id) for item in value]
    return value


async def _venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


async def _conversations_load(bot: RunningBot) -> int:
    loaded = 0
    async for key in bot.store.redis.scan_iter(match=keys.chat(CustomerId.telegram(0)).removesuffix("0") + "*"):
        await bot.store.load_chat(CustomerId.from_key(str(key).removeprefix(keys.chat(CustomerId.telegram(0))[:-1])))
        loaded += 1
    return loaded


async def _journey(customer: Customer, venue: Venue) -> str:
    await customer.say("/cancel")
    await customer.say(f"/start {venue.token}")
    await customer.tap("rate:2")
    await customer.say("Trop d'attente.")
    return (await customer.say("Une caisse de plus.")).text


async def test_malformed_updates_and_any_text_crash_nothing_and_corrupt_nothing(
    bot: RunningBot, emulator: BotApiEmulator, errors: ErrorRecords
) -> None:
    venue = await _venue(bot)
    # Several customers, so that no chat gets more than Telegram's one message a second (the bot keeps to it).
    customers = [Customer.new(emulator, f"Client{number}") for number in range(CUSTOMERS)]
    for customer in customers:
        await customer.say(f"/start {venue.token}")
    statuses: list[int | None] = []
    loop = asyncio.get_running_loop()

    async def step(update: dict[str, Any], text: str, restart: bool) -> None:
        errors.records.clear()
        customer = customers[len(statuses) % CUSTOMERS]  # in turn: each chat at a customer's pace
        message_id = emulator.bot_messages(customer.user.id)[-1].message_id
        delivery = await emulator.deliver_raw(_aimed(update, customer.user, message_id))
        statuses.append(delivery.status)
        assert delivery.status is not None and delivery.status < 500, (update, delivery.status)
        if restart:  # sometimes from the start of a feedback, else wherever the fuzz left the customer
            await customer.say(f"/start {venue.token}")
        said = await emulator.send_text(customer.user, text)
        assert said.status == 200, (text, said.status)
        assert errors.unexpected() == [], (update, text)
        await bot.store.load_chat(CustomerId.telegram(customer.user.id))

    # Hypothesis drives the examples from a thread; each runs on the bot's event loop, which stays free.
    @FUZZ
    @given(update=updates(), text=TYPED, restart=st.booleans())
    # Found by this test: python-telegram-bot reads a chat whose id is not a number, then fails on it (500).
    @example(update={"message": {"message_id": 1, "date": 0, "chat": {"id": {}}}}, text="3", restart=False)
    def one(update: dict[str, Any], text: str, restart: bool) -> None:
        asyncio.run_coroutine_threadsafe(step(update, text, restart), loop).result(timeout=60)

    await asyncio.to_thread(one)
    assert len(statuses) >= EXAMPLES
    assert 400 in statuses and 200 in statuses  # both the refused shapes and the read ones were tried
    assert await _conversations_load(bot) >= CUSTOMERS
    other_venue = await bot.store.add_venue("quick", "Quick Orsay")  # the fuzz may have rated the first already
    assert "Merci pour votre avis" in await _journey(customers[0], other_venue)
    assert "Merci pour votre avis" in await _journey(Customer.new(emulator, "Dominique"), other_venue)
    assert errors.unexpected() == []
