"""Property-based: malformed updates and any text, through the webhook, crash nothing and corrupt nothing.

Thousands of updates (Hypothesis) go to the running bot over HTTP, as Telegram would send them: shapes
Telegram never sends (wrong types, missing fields, unknown kinds), and texts of every sort from a real
customer in the middle of a feedback, for many customers at once. After each: the webhook answered without a
5xx, the customer's stored conversation loads. After all: no update ended in an unhandled exception (any
exception logged fails the test, with what was sent then), every stored conversation loads, and a whole
journey still completes for a customer of the fuzz and for a new one. `PAROLE_FUZZ_UPDATES` sets
how many examples (10,000 by default: 10,000 generated updates, each followed by a generated text).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import strategies as st

from bot.cli.serve import RunningBot
from bot.config import Settings
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.venues import Venue
from emulator import BotApiEmulator, EmulatedUser
from tests.conftest import with_settings
from tests.support import Customer

# Each example: a generated update, then a generated text (after a /start one time in two), from one of
# CUSTOMERS customers, AT_ONCE examples under way at once. About 110 s of CPU for the 10,000 of a CI run;
# PAROLE_FUZZ_UPDATES=100000 for a longer run (README).
EXAMPLES = int(os.environ.get("PAROLE_FUZZ_UPDATES") or 10_000)
CUSTOMERS = 400
AT_ONCE = 20  # examples under way at once (each for another customer)
CUSTOMER, MESSAGE = "<customer>", "<message>"  # placeholders in the generated updates
FUZZ = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI does not fail by chance
    phases=[Phase.explicit, Phase.generate],  # no shrinking: it takes minutes here; the failing example is shown
    database=None,  # nothing to replay: the same examples every run
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
def settings(settings: Settings) -> Settings:
    """The bot as the tests run it, with no bot-wide outbound limit (each chat's pace stays): the fuzz sends
    thousands of updates a minute, the limit would measure itself (`bot.botapi.outbound` is tested apart)."""
    return with_settings(settings, outbound_per_second=100_000.0)


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
    # Many customers, so that no chat gets more than Telegram's one message a second (the bot keeps to it).
    customers = [Customer.new(emulator, f"Client{number}") for number in range(CUSTOMERS)]
    for start in range(0, CUSTOMERS, AT_ONCE):
        await asyncio.gather(*(c.say(f"/start {venue.token}") for c in customers[start : start + AT_ONCE]))
    errors.records.clear()
    statuses: list[int | None] = []
    sent: dict[int, tuple[dict[str, Any], str]] = {}  # update id → what the step sent, to name a failing one
    turns = [asyncio.Lock() for _ in customers]  # a customer does one thing at a time, as a person would
    loop = asyncio.get_running_loop()

    async def step(number: int, update: dict[str, Any], text: str, restart: bool) -> None:
        customer = customers[number % CUSTOMERS]  # in turn: each chat at a customer's pace
        async with turns[number % CUSTOMERS]:
            message_id = emulator.bot_messages(customer.user.id)[-1].message_id
            delivery = await emulator.deliver_raw(_aimed(update, customer.user, message_id))
            for _ in range(50):  # an update id of its own that another example has in hand: 503, delivered again
                if not (delivery.status == 503 and _numbered(update) and "in another process" in str(delivery.body)):
                    break
                await asyncio.sleep(0.1)
                delivery = await emulator.deliver_raw(delivery.update)
            statuses.append(delivery.status)
            sent[delivery.update_id] = (update, text)
            assert delivery.status is not None and delivery.status < 500, (update, delivery.status)
            if restart:  # sometimes from the start of a feedback, else wherever the fuzz left the customer
                await customer.say(f"/start {venue.token}")
            said = await emulator.send_text(customer.user, text)
            sent[said.update_id] = (update, text)
            assert said.status == 200, (text, said.status)
            await bot.store.load_chat(CustomerId.telegram(customer.user.id))

    # Hypothesis draws the examples in a thread while the bot's event loop runs up to AT_ONCE of them, each
    # for another customer: the bot's time goes to the updates, not to waiting for the next one.
    slots = threading.BoundedSemaphore(AT_ONCE)
    steps: list[concurrent.futures.Future[None]] = []

    @FUZZ
    @given(update=updates(), text=TYPED, restart=st.booleans())
    # Found by this test: python-telegram-bot reads a chat whose id is not a number, then fails on it (500).
    @example(update={"message": {"message_id": 1, "date": 0, "chat": {"id": {}}}}, text="3", restart=False)
    # And one whose text is a list: the staff room's and the operators' commands failed on it (10,000 examples).
    @example(
        update={
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1001234567890, "type": "supergroup"},
                "from": {"id": CUSTOMER, "is_bot": False, "first_name": "A"},
                "text": ["/help"],
            }
        },
        text="3",
        restart=False,
    )
    # And a button press whose data is a list, under a message of the staff room: the card's buttons failed on it.
    @example(
        update={
            "callback_query": {
                "id": "1",
                "from": {"id": CUSTOMER, "is_bot": False, "first_name": "A"},
                "chat_instance": "1",
                "data": ["close:1"],
                "message": {"message_id": 1, "date": 0, "chat": {"id": -1001234567890, "type": "supergroup"}},
            }
        },
        text="3",
        restart=False,
    )
    def one(update: dict[str, Any], text: str, restart: bool) -> None:
        slots.acquire()
        running = asyncio.run_coroutine_threadsafe(step(len(steps), update, text, restart), loop)
        running.add_done_callback(lambda _: slots.release())
        steps.append(running)

    started = time.monotonic()
    await asyncio.to_thread(one)
    failed = [
        error for error in await asyncio.gather(*map(asyncio.wrap_future, steps), return_exceptions=True) if error
    ]
    assert failed == [], failed[:5]
    # Any exception logged (an update's handler, the webhook, python-telegram-bot), with what was sent then.
    assert errors.unexpected() == [], [(m, _named(m, sent)) for m in errors.unexpected()[:5]]
    print(f"\n{len(steps)} examples (a generated update, then a generated text) in {time.monotonic() - started:.1f} s")
    assert len(statuses) >= EXAMPLES
    assert 400 in statuses and 200 in statuses  # both the refused shapes and the read ones were tried
    assert await _conversations_load(bot) >= CUSTOMERS
    other_venue = await bot.store.add_venue("quick", "Quick Orsay")  # the fuzz may have rated the first already
    assert "Merci pour votre avis" in await _journey(customers[0], other_venue)
    assert "Merci pour votre avis" in await _journey(Customer.new(emulator, "Dominique"), other_venue)
    assert errors.unexpected() == []


def _numbered(update: dict[str, Any]) -> bool:
    """Whether the generated update has an integer id of its own (else the emulator numbers it, as Telegram)."""
    given = update.get("update_id")
    return isinstance(given, int) and not isinstance(given, bool)


def _named(message: str, sent: dict[int, tuple[dict[str, Any], str]]) -> list[tuple[dict[str, Any], str]]:
    """What was sent in the steps whose update ids a log message names."""
    return [sent[int(word)] for word in message.replace(":", " ").split() if word.isdigit() and int(word) in sent]
