"""/cancel after a rating: the customer deletes the rating (no feedback left, no ticket, no 24 h wait) or keeps it
(an abandoned feedback the team sees). Telegram through the emulator; WhatsApp in tests/bot/channels/whatsapp."""

from __future__ import annotations

from typing import Any

from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.index import FeedbackIndex, InboxQuery
from tests.bot.staff_scene import Scene
from tests.support import Customer, load_transcript, play


async def _traces(scene: Scene, customer: Customer) -> dict[str, Any]:
    """What the store holds of the customer's feedback at Quick Massy."""
    redis = scene.bot.store.redis
    who = CustomerId.telegram(customer.user.id)
    venue = scene.massy
    inbox = await FeedbackIndex(redis).query(InboxQuery("quick", {"venue": [venue.code]}))
    return {
        "feedbacks": [f["status"] async for f in scene.bot.store.iter_feedback("quick")],
        "mine": await redis.smembers(keys.customer_feedbacks(who)),
        "pending": await redis.zcard(keys.PENDING),
        "rated": await redis.exists(keys.rated("quick", venue.code, who)),
        "stream": await redis.xlen(keys.FEEDBACK_STREAM) if await redis.exists(keys.FEEDBACK_STREAM) else 0,
        "inbox": (inbox.count, inbox.feedback_ids),
        "tickets": await scene.bot.staff.tickets.open_tickets("quick"),
    }


async def test_deleting_the_rating_leaves_nothing(scene: Scene) -> None:
    camille = Customer.new(scene.emulator)
    variables = {"token": scene.massy.token, "venue": scene.massy.name}
    await play(camille, load_transcript("cancel_discard")[:-1], variables)  # up to the rescan
    room = await scene.notify()
    assert room.texts(scene.room.id) == []  # no card: the feedback never reached the stream
    nothing = {"feedbacks": [], "mine": set(), "pending": 0, "rated": 0, "stream": 0, "inbox": (0, []), "tickets": []}
    assert await _traces(scene, camille) == nothing
    await play(camille, load_transcript("cancel_discard")[-1:], variables)  # a new feedback at once
    await camille.say("5")
    await camille.say("Tout était parfait.")
    await camille.say("passer")
    await scene.notify()
    traces = await _traces(scene, camille)
    assert traces["feedbacks"] == ["complete"] and traces["inbox"][0] == 1 and traces["rated"] == 1


async def test_keeping_the_rating_is_todays_abandoned_feedback(scene: Scene) -> None:
    camille = Customer.new(scene.emulator)
    await camille.say(f"/start {scene.massy.token}")
    await camille.say("2")
    await camille.say("Le café était froid.")
    asked = await camille.say("/cancel")
    assert asked.buttons == ["Supprimer ma note", "Garder"]
    kept = await camille.say("Garder")
    assert "Votre note (2/5) et ce que vous avez déjà écrit sont gardés" in kept.text
    room = await scene.notify()
    assert "Le café était froid." in room.text(scene.room.id)  # the card: the team sees it
    traces = await _traces(scene, camille)
    assert traces["feedbacks"] == ["abandoned"] and traces["rated"] == 1 and len(traces["tickets"]) == 1
    again = await camille.say(f"/start {scene.massy.token}")
    assert "déjà donné votre avis" in again.text  # the 24 h wait, as before
