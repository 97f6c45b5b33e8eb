"""Edits in use at once: new conversations get the newest version, one in progress finishes on its own."""

from __future__ import annotations

import pytest

from bot import keys
from bot.editing import Admin, Editor
from bot.emulator import ApiCall, BotApiEmulator
from bot.overrides import Document, OverrideStore, Scope, template_document
from bot.serve import RunningBot
from bot.venues import Venue
from dialogs.catalog import TemplateCatalog
from tests.support import Customer

OLGA = Admin("olga")
# The default flow without the suggestion: rating, reason, thanks.
NO_SUGGESTION = """\
name: no-suggestion
languages: [fr, en]
start: rating
steps:
  rating:
    ask: ask_rating
    input: rating
    next:
      - when: {rating: [1, 2, 3]}
        goto: reason_low
      - goto: reason_high
  reason_low:
    ask: ask_reason_low
    input: text
    store: reason
    next: thanks
  reason_high:
    ask: ask_reason_high
    input: text
    store: reason
    next: thanks
  thanks:
    say: thanks
    end: true
"""


@pytest.fixture
async def venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


@pytest.fixture
def editor(bot: RunningBot) -> Editor:
    return Editor(OverrideStore(bot.store.redis), bot.store, TemplateCatalog())


async def test_a_flow_change_applies_to_new_conversations_while_one_in_progress_keeps_its_own(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, editor: Editor
) -> None:
    before = Customer.new(emulator, "Anne")
    await before.say(f"/start {venue.token}")
    await before.tap("rate:4")
    # The brand drops the suggestion question while Anne is half-way.
    await editor.set_flow(OLGA, Scope("quick"), NO_SUGGESTION, expected=0)
    after = Customer.new(emulator, "Bruno")
    await after.say(f"/start {venue.token}")
    await after.tap("rate:5")
    bruno_done = await after.say("Très bon accueil.")
    # No suggestion asked (the new flow): the thanks, with only the opt-in to the venue's news under it.
    assert "Merci" in bruno_done.text and bruno_done.buttons == ["🔔 Recevoir les nouvelles de Quick Massy"]
    anne_next = await before.say("Très bon accueil.")
    assert anne_next.buttons == ["Passer"]  # Anne still gets the suggestion of the flow she started on
    anne_done = await before.say("Rien à ajouter, merci.")
    assert "Merci" in anne_done.text
    feedbacks = {f["suggestion"]: f for f in [f async for f in bot.store.iter_feedback()]}
    assert set(feedbacks) == {None, "Rien à ajouter, merci."}
    assert feedbacks[None]["flow"] == "no-suggestion"
    assert feedbacks["Rien à ajouter, merci."]["flow"] == "default"
    # Anne's next feedback runs on the new flow (once the duplicate window lets her rate again).
    await bot.store.redis.delete(keys.rated("quick", venue.code, before.user.id))
    await before.say(f"/start {venue.token}")
    await before.tap("rate:5")
    assert "Merci" in (await before.say("Parfait.")).text


async def test_a_template_edit_is_used_at_once_for_its_venue_only(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, editor: Editor
) -> None:
    other = await bot.store.add_venue("quick", "Quick Orly")
    massy = Scope("quick", venue.code)
    await editor.set_template(OLGA, massy, "greeting", "fr", "Salut <b>{{ venue_name }}</b>, vite !", expected=0)
    turn = await Customer.new(emulator, "Anne").say(f"/start {venue.token}")
    assert "Salut <b>Quick Massy</b>, vite !" in _sent_html(turn.calls)
    assert "Bonjour et bienvenue" in (await Customer.new(emulator, "Carl").say(f"/start {other.token}")).text
    # Rolled back: the next customer gets the default again, without a restart.
    await editor.rollback(OLGA, Document(massy, template_document("greeting", "fr")), 0, expected=1)
    assert "Bonjour et bienvenue" in (await Customer.new(emulator, "Dan").say(f"/start {venue.token}")).text


def _sent_html(calls: list[ApiCall]) -> str:
    """The HTML the bot sent (the emulator's recorded text is the parsed, plain one)."""
    return " ".join(str(call.params.get("text", "")) for call in calls)
