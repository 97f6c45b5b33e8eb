"""Telegram's errors during a journey: 429 waited out, 5xx and 403 survived, nothing sent twice."""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from bot.serve import RunningBot
from bot.venues import Venue
from tests.support import Customer


async def _venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


async def test_429_is_waited_out_and_the_message_sent_once(bot: RunningBot, emulator: BotApiEmulator) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    emulator.fail_next("sendMessage", status=429, retry_after=1)
    turn = await customer.say(f"/start {venue.token}")
    statuses = [c.status for c in turn.calls if c.method == "sendMessage"]
    assert statuses == [429, 200]
    assert turn.calls[1].at - turn.calls[0].at >= 0.9
    assert len(emulator.bot_messages(customer.user.id)) == 1


async def test_a_5xx_on_send_is_not_retried_but_the_journey_goes_on(bot: RunningBot, emulator: BotApiEmulator) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.say("3")
    emulator.fail_next("sendMessage", status=500)
    delivery = await emulator.send_text(customer.user, "Correct, sans plus.")
    assert delivery.status == 200
    assert [c.status for c in delivery.calls if c.method == "sendMessage"] == [500]
    turn = await customer.say("Plus de caisses.")
    assert "Merci pour votre avis" in turn.text
    [feedback] = [f async for f in bot.store.iter_feedback()]
    assert (feedback["reason"], feedback["suggestion"], feedback["status"]) == (
        "Correct, sans plus.",
        "Plus de caisses.",
        "complete",
    )


async def test_an_edit_that_fails_with_5xx_is_retried(bot: RunningBot, emulator: BotApiEmulator) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    emulator.fail_next("editMessageText", status=502)
    turn = await customer.tap("rate:1")
    assert [c.status for c in turn.calls if c.method == "editMessageText"] == [502, 200]
    assert "Que s'est-il passé" in emulator.bot_messages(customer.user.id)[-1].text


async def test_a_customer_who_blocked_the_bot_does_not_break_anything(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    # The customer blocks the bot right after sending their rating.
    emulator.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    delivery = await emulator.send_text(customer.user, "2")
    assert delivery.status == 200
    assert [c.status for c in delivery.calls] == [403]
    [feedback] = [f async for f in bot.store.iter_feedback()]
    assert feedback["rating"] == 2  # stored even though the answer could not be delivered
