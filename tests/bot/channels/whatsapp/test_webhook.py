"""The `/whatsapp` webhook on `parole serve`, against the Cloud API emulator and a real Redis: the handshake,
signatures, batches, duplicates, every kind of message, the journey as a transcript."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.channels.whatsapp.links import whatsapp_link
from bot.cli.serve import RunningBot
from bot.storage.identity import CustomerId
from tests.bot.channels.whatsapp.chat import WhatsAppCustomer, load, play
from tests.bot.channels.whatsapp.conftest import VERIFY_TOKEN
from whatsapp_emulator import CloudApiEmulator, WhatsAppUser

pytestmark = pytest.mark.asyncio
CAMILLE = CustomerId.of("whatsapp", "33612345678")


async def venue_link(bot: RunningBot, cloud: CloudApiEmulator) -> tuple[str, str]:
    await bot.store.add_brand("quick", "Quick")
    venue = await bot.store.add_venue("quick", "Quick Massy")
    link = whatsapp_link(cloud.number, venue.short_code)
    prefilled = link.split("?text=", 1)[1]
    from urllib.parse import unquote

    return unquote(prefilled), venue.short_code


async def test_the_journey_on_whatsapp(wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    turns = await play(WhatsAppCustomer(cloud, camille), load("whatsapp_journey"), {"prefilled": prefilled})
    feedbacks = [f async for f in wa_bot.store.iter_feedback("quick")]
    assert len(feedbacks) == 1
    stored = feedbacks[0]
    assert (stored["channel"], stored["rating"], stored["status"]) == ("whatsapp", 2, "complete")
    assert stored["reason"] == "On a attendu 40 minutes & personne ne s'excuse <vraiment>."
    # Every message of the customer was marked read; no HTML reached WhatsApp, the bold became *…*.
    assert len(cloud.read) == len(turns)
    assert "*chez Quick Massy*" in turns[0].text


async def test_a_first_message_without_the_code_is_asked_for_it(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    _, code = await venue_link(wa_bot, cloud)
    customer = WhatsAppCustomer(cloud, camille)
    assert "code de 6 caractères" in (await customer.say("Bonjour")).text
    assert "ne correspond à aucun" in (await customer.say("ZZZZZZ")).text
    turn = await customer.say(code.lower())
    assert "bienvenue *chez Quick Massy*" in turn.text and len(turn.choices) == 5


async def test_an_unknown_code_in_the_prefilled_text_gets_a_clear_answer(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await venue_link(wa_bot, cloud)
    turn = await WhatsAppCustomer(cloud, camille).say("Bonjour ! Je donne mon avis (code #ZZZZZZ)")
    assert turn.delivery.status == 200 and "code" in turn.text
    assert [f async for f in wa_bot.store.iter_feedback("quick")] == []


async def test_a_typed_rating_and_a_shared_location(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    await wa_bot.store.add_brand("quick", "Quick")
    await wa_bot.store.add_venue("quick", "Quick Massy Gare RER", lat=48.7253, lon=2.2596)
    customer = WhatsAppCustomer(cloud, camille)
    await customer.say("Salut")
    turn = await customer.share_location(48.7254, 2.2597)
    assert turn.choices and turn.choices[0].startswith("Quick Massy")
    assert all(len(title) <= 24 for title in turn.choices)
    turn = await customer.choose(turn.choices[0])
    assert "bienvenue *chez Quick Massy Gare RER*" in turn.text
    await customer.say("4/5")  # typed
    assert [f["rating"] async for f in wa_bot.store.iter_feedback("quick")] == [4]


@pytest.mark.parametrize(
    "kind", ["image", "sticker", "audio", "video", "document", "reaction", "contacts", "unsupported"]
)
async def test_each_kind_without_text_gets_a_polite_reprompt(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser, kind: str
) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    customer = WhatsAppCustomer(cloud, camille)
    await customer.say(prefilled)
    turn = await customer.send(kind)
    assert turn.delivery.status == 200 and not turn.delivery.failed
    assert turn.messages and len(turn.choices) == 5, turn.text  # the rating asked again, with its list
    snapshot = await wa_bot.store.load_chat(CAMILLE)
    assert snapshot.conversation is not None and snapshot.conversation.rating is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Aide", "/cancel"),
        ("HELP!", "/cancel"),
        ("annuler", "annulé"),
        ("Langue", "langue"),
        ("mes données", "ce que je garde"),
        ("Oubliez-moi", "oublie"),
        ("STOP", "nouvelles"),
    ],
)
async def test_keywords_stand_for_commands(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser, typed: str, expected: str
) -> None:
    await venue_link(wa_bot, cloud)
    customer = WhatsAppCustomer(cloud, camille)
    await customer.say("/start")
    turn = await customer.say(typed)
    assert expected.lower() in turn.text.lower(), turn.text


async def test_forget_by_keyword_and_list(wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    customer = WhatsAppCustomer(cloud, camille)
    await customer.say(prefilled)
    await customer.choose("⭐⭐⭐⭐")
    turn = await customer.say("oublier")
    assert len(turn.choices) == 2, turn.text
    turn = await customer.choose(turn.choices[0])
    assert turn.delivery.status == 200 and turn.messages
    feedbacks = [f async for f in wa_bot.store.iter_feedback("quick")]
    assert feedbacks and all(f.get("customer") is None for f in feedbacks)


async def test_the_verification_handshake(wa_bot: RunningBot, cloud: CloudApiEmulator) -> None:
    assert cloud.webhook_url is not None
    async with aiohttp.ClientSession() as session:
        good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        async with session.get(cloud.webhook_url, params=good) as response:
            assert (response.status, await response.text()) == (200, "1158201444")
        for bad in ({**good, "hub.verify_token": "nope"}, {**good, "hub.mode": "unsubscribe"}, {}):
            async with session.get(cloud.webhook_url, params=bad) as response:
                assert response.status == 403


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "garbage"])
async def test_unsigned_or_badly_signed_posts_are_refused_and_store_nothing(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser, signature: str | None
) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    keys_before = sorted(await wa_bot.store.redis.keys("*"))
    value = cloud.value(camille, cloud.message(camille, "text", {"body": prefilled}))
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"value": value, "field": "messages"}]}]}).encode()  # fmt: skip
    delivery = await cloud.post(body, signature=signature)
    assert delivery.status == 403 and delivery.calls == []
    # Signed for another body: refused too.
    delivery = await cloud.post(body, signature=cloud.signature(body + b" "))
    assert delivery.status == 403
    assert sorted(await wa_bot.store.redis.keys("*")) == keys_before
    assert cloud.sent == []


async def test_a_message_delivered_twice_is_handled_once(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    await WhatsAppCustomer(cloud, camille).say(prefilled)
    value = cloud.value(camille, cloud.message(camille, "text", {"body": "3"}))
    first = await cloud.deliver(value)
    again = await cloud.deliver(value)
    assert first.status == again.status == 200
    assert len(first.sent) == 1 and again.sent == []
    feedbacks = [f async for f in wa_bot.store.iter_feedback("quick")]
    assert [f["rating"] for f in feedbacks] == [3]


async def test_a_batch_of_entries_messages_and_statuses_out_of_order(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    prefilled, _ = await venue_link(wa_bot, cloud)
    alex = cloud.add_user("Alex", wa_id="447700900123")
    greeting = await WhatsAppCustomer(cloud, camille).say(prefilled)
    start = cloud.message(alex, "text", {"body": prefilled})
    rating = cloud.message(camille, "text", {"body": "5"})
    reason = cloud.message(camille, "text", {"body": "Très bon accueil"})
    reason["timestamp"] = str(int(rating["timestamp"]) + 5)
    delivery = await cloud.deliver(
        cloud.value(camille, reason, rating),  # out of order within the batch
        cloud.status_value(greeting.messages[0], "delivered"),
        cloud.value(alex, start),
        entries=2,
    )
    assert delivery.status == 200 and not delivery.failed
    feedbacks = {f["rating"]: f for f in [f async for f in wa_bot.store.iter_feedback("quick")]}
    assert feedbacks[5]["reason"] == "Très bon accueil"
    assert (await wa_bot.store.load_chat(CustomerId.of("whatsapp", alex.wa_id))).conversation is not None


async def test_a_post_for_another_number_or_of_an_unknown_shape_changes_nothing(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    value = cloud.value(camille, cloud.message(camille, "text", {"body": "Bonjour"}))
    value["metadata"]["phone_number_id"] = "999"
    assert (await cloud.deliver(value)).sent == []
    for body in (b"not json", b"[]", b'{"object": "page"}', b'{"object": "whatsapp_business_account", "entry": 3}'):
        delivery = await cloud.post(body)
        assert delivery.status in (200, 400) and delivery.calls == []
    assert await wa_bot.store.load_chat(CAMILLE) is not None
    assert (await wa_bot.store.load_chat(CAMILLE)).conversation is None


async def test_cancel_after_a_rating_deletes_it_on_whatsapp(
    wa_bot: RunningBot, cloud: CloudApiEmulator, camille: WhatsAppUser
) -> None:
    """The conversation is the channels' one: on WhatsApp too, a deleted rating leaves no feedback and no wait."""
    prefilled, _ = await venue_link(wa_bot, cloud)
    await play(WhatsAppCustomer(cloud, camille), load("whatsapp_cancel_discard"), {"prefilled": prefilled})
    assert [f["status"] async for f in wa_bot.store.iter_feedback("quick")] == ["in_progress"]  # the new one only
