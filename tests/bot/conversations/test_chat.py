"""The customer journey through the real bot: python-telegram-bot over HTTP, the emulator, real Redis.

Each journey is a transcript in tests/transcripts/ (the customer does → the bot says)."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from bot.cli.serve import RunningBot
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.store import Store
from bot.storage.venues import Venue
from emulator import BotApiEmulator
from tests.support import Clock, Customer, load_transcript, play


@pytest.fixture
async def venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


def _variables(venue: Venue) -> dict[str, str]:
    typed = f"{venue.short_code[:3].lower()} {venue.short_code[3:].lower()}"
    return {"token": venue.token, "venue": venue.name, "short_code_typed": typed}


async def _stream(redis: Redis) -> list[dict[str, str]]:
    entries = await redis.xrange(keys.FEEDBACK_STREAM) or []
    return [{str(k): str(v) for k, v in (fields or {}).items()} for _, fields in entries]


async def _feedback(store: Store) -> list[dict[str, object]]:
    return [f async for f in store.iter_feedback()]


async def test_the_whole_journey_stores_one_complete_feedback(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    turns = await play(customer, load_transcript("scan_rate_reason_suggest"), _variables(venue))
    [feedback] = await _feedback(bot.store)
    assert feedback["rating"] == 2
    assert feedback["reason"] == "Julien, le serveur, était aimable mais on a attendu 25 minutes."
    assert feedback["suggestion"] == "Ouvrez une deuxième caisse le midi."
    assert feedback["status"] == "complete" and feedback["venue"] == venue.code
    entries = await _stream(redis_client)
    assert entries == [{"brand": "quick", "feedback": feedback["id"], "status": "complete"}]
    # The fewest Bot API calls: greeting, (answer + edit), question, thanks.
    assert sum(len(t.calls) for t in turns) == 5
    assert await redis_client.zcard(keys.PENDING) == 0


async def test_a_photo_with_a_caption_answers_with_its_caption(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.say("2")
    turn = await customer.send("photo", caption="Regardez ces frites froides.")
    assert "suggestion" in turn.text and "que du texte" not in turn.text  # the next question, not a reprompt
    [feedback] = await _feedback(bot.store)
    assert feedback["reason"] == "Regardez ces frites froides."


async def test_typed_rating_and_skip(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    await play(Customer.new(emulator), load_transcript("typed_rating_and_skip"), _variables(venue))
    [feedback] = await _feedback(bot.store)
    assert (feedback["rating"], feedback["suggestion"], feedback["status"]) == (4, None, "complete")


async def test_bare_start_then_short_code(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    await play(Customer.new(emulator), load_transcript("bare_start_short_code"), _variables(venue))
    [feedback] = await _feedback(bot.store)
    assert (feedback["rating"], feedback["status"]) == (3, "in_progress")


async def test_forged_tokens_get_a_clear_message(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    await play(Customer.new(emulator), load_transcript("forged_token"), _variables(venue))
    assert await _feedback(bot.store) == []


async def test_reprompts_change_nothing(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    await play(Customer.new(emulator), load_transcript("reprompts"), _variables(venue))
    [feedback] = await _feedback(bot.store)
    assert (feedback["rating"], feedback["reason"]) == (5, "Tout !")


async def test_commands_and_language(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    await play(Customer.new(emulator), load_transcript("commands"), _variables(venue))
    feedback = await _feedback(bot.store)
    # /start again on the same venue started over on the same feedback; /cancel abandoned it.
    assert [(f["rating"], f["status"], f["language"]) for f in feedback] == [(1, "abandoned", "en")]


async def test_english_telegram_language_gets_english(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    english = Customer.new(emulator, "Ann", language="en-GB")
    turn = await english.say(f"/start {venue.token}")
    assert "Hello and welcome to Quick Massy" in turn.text
    unknown = Customer.new(emulator, "Zoé", language=None)
    assert "Bonjour" in (await unknown.say(f"/start {venue.token}")).text
    german = Customer.new(emulator, "Jonas", language="de")
    assert "Bonjour" in (await german.say(f"/start {venue.token}")).text


async def test_a_language_the_bot_lacks_reads_the_venues(bot: RunningBot, emulator: BotApiEmulator) -> None:
    """A German or Spanish speaker at an English venue is answered in English, not in French."""
    await bot.store.add_brand("pret", "Pret")
    london = await bot.store.add_venue("pret", "Pret Kings Cross", language="en")
    for name, code in (("Jonas", "de"), ("Lucía", "es-ES")):
        customer = Customer.new(emulator, name, language=code)
        turn = await customer.say(f"/start {london.token}")
        assert "Hello and welcome to Pret Kings Cross" in turn.text, turn.text
        assert "I collect your feedback" in (await customer.say("/help")).text  # outside the dialog too


async def test_second_feedback_within_the_window_is_refused(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, clock: Clock
) -> None:
    customer = Customer.new(emulator)
    await play(customer, load_transcript("scan_rate_reason_suggest"), _variables(venue))
    turn = await customer.say(f"/start {venue.token}")
    assert "déjà donné votre avis" in turn.text and not turn.buttons
    assert "scannez le QR code" in (await customer.say("5")).text  # no feedback under way
    assert len(await _feedback(bot.store)) == 1
    # Another customer is not affected, and another venue of the brand is not either.
    other = await bot.store.add_venue("quick", "Quick Orly")
    assert "Quelle note" in (await customer.say(f"/start {other.token}")).text


async def test_abandoned_after_the_timeout_goes_to_the_stream(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, clock: Clock, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.tap("rate:5")
    [feedback] = await _feedback(bot.store)
    assert feedback["status"] == "in_progress"
    clock.advance(1801)
    assert await bot.store.abandon_expired(clock()) == [feedback["id"]]
    assert await bot.store.abandon_expired(clock()) == []
    [feedback] = await _feedback(bot.store)
    assert feedback["status"] == "abandoned"
    assert [e["status"] for e in await _stream(redis_client)] == ["abandoned"]
    # The customer comes back late: the conversation is over, nothing is written to the old feedback.
    turn = await customer.say("C'était super")
    assert "scannez le QR code" in turn.text
    [feedback] = await _feedback(bot.store)
    assert feedback["reason"] is None


async def test_very_long_and_odd_texts_never_crash(bot: RunningBot, emulator: BotApiEmulator, venue: Venue) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.say("2")
    long_text = ("Le café était froid et personne ne nous a salués. " * 80)[:4096]
    turn = await customer.say(long_text)
    assert "2000 premiers caractères" in turn.text
    turn = await customer.say("😡😡😡")
    assert "Merci pour votre avis" in turn.text
    [feedback] = await _feedback(bot.store)
    assert len(str(feedback["reason"])) <= 2000
    assert feedback["suggestion"] == "😡😡😡"


async def test_the_conversation_is_plain_json_in_redis(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.tap("rate:3")
    stored = json.loads(await redis_client.get(keys.chat(CustomerId.telegram(customer.user.id))) or "{}")
    conversation = stored["conversation"]
    assert conversation["step"] == "reason_mid" and conversation["rating"] == 3
    assert conversation["venue"]["code"] == venue.code
    assert len(stored["handled"]) == 2 and stored["outbox"]["update"] == stored["handled"][-1]
    assert await redis_client.exists(keys.chat_lock(CustomerId.telegram(customer.user.id))) == 0


async def test_group_messages_are_not_taken_as_feedback(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue
) -> None:
    staff = emulator.add_user("Julien")
    group = emulator.add_group("Quick staff", members=[staff])
    delivery = await emulator.send_text(staff, f"/start {venue.token}", chat=group)
    # The group gets the staff's help (how it becomes a staff room), never the customer's journey.
    assert delivery.status == 200 and [call.method for call in delivery.calls] == ["sendMessage"]
    assert delivery.calls[0].params["chat_id"] == group.id and "/link" in str(delivery.calls[0].params["text"])
    assert await _feedback(bot.store) == []
