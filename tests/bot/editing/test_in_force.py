"""Edits in use at once: new conversations get the newest version, one in progress finishes on its own."""

from __future__ import annotations

import json

import pytest

from bot.cli.serve import RunningBot
from bot.editing.editor import Admin, Editor
from bot.editing.overrides import Document, OverrideStore, Scope, template_document
from bot.insights.stats import venue_stats
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.venues import Venue
from dialogs.catalog import TemplateCatalog
from emulator import ApiCall, BotApiEmulator
from tests.dialogs.test_nps import with_nps
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
    # No suggestion asked (the new flow): the thanks, with only "contact me" and the venue's news under it.
    assert "Merci" in bruno_done.text
    assert bruno_done.buttons == ["💬 Me recontacter", "🔔 Recevoir les nouvelles de Quick Massy"]
    anne_next = await before.say("Très bon accueil.")
    assert anne_next.buttons == ["Passer"]  # Anne still gets the suggestion of the flow she started on
    anne_done = await before.say("Rien à ajouter, merci.")
    assert "Merci" in anne_done.text
    feedbacks = {f["suggestion"]: f for f in [f async for f in bot.store.iter_feedback()]}
    assert set(feedbacks) == {None, "Rien à ajouter, merci."}
    assert feedbacks[None]["flow"] == "no-suggestion"
    assert feedbacks["Rien à ajouter, merci."]["flow"] == "default"
    # Anne's next feedback runs on the new flow (once the duplicate window lets her rate again).
    await bot.store.redis.delete(keys.rated("quick", venue.code, CustomerId.telegram(before.user.id)))
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


async def test_a_template_edit_applies_to_new_conversations_while_one_in_progress_keeps_its_texts(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, editor: Editor
) -> None:
    brand = Scope("quick")
    await editor.set_template(OLGA, brand, "greeting", "fr", "Bonjour de <b>{{ venue_name }}</b> (v1) !", expected=0)
    anne = Customer.new(emulator, "Anne")
    assert "(v1)" in (await anne.say(f"/start {venue.token}")).text
    await anne.tap("rate:4")
    # The brand rewrites the suggestion question while Anne is half-way.
    new_question = "Et si vous étiez à notre place, que changeriez-vous ?"
    await editor.set_template(OLGA, brand, "ask_suggestion", "fr", new_question, expected=0)
    bruno = Customer.new(emulator, "Bruno")
    await bruno.say(f"/start {venue.token}")
    await bruno.tap("rate:5")
    assert new_question in (await bruno.say("Très bon accueil.")).text
    anne_next = await anne.say("Très bon accueil.")
    assert "Une idée ou une suggestion" in anne_next.text and new_question not in anne_next.text
    assert "Merci" in (await anne.say("Rien à ajouter.")).text
    # Her next feedback starts on the newest texts.
    await bot.store.redis.delete(keys.rated("quick", venue.code, CustomerId.telegram(anne.user.id)))
    await anne.say(f"/start {venue.token}")
    await anne.tap("rate:5")
    assert new_question in (await anne.say("Parfait.")).text


async def test_a_chat_pinned_on_versions_that_cannot_be_read_goes_on_with_the_current_texts(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, editor: Editor
) -> None:
    brand = Scope("quick")
    await editor.set_template(OLGA, brand, "greeting", "fr", "Bonjour de <b>{{ venue_name }}</b> (v1) !", expected=0)
    anne = Customer.new(emulator, "Anne")
    await anne.say(f"/start {venue.token}")
    await anne.tap("rate:4")
    raw = await bot.store.redis.get(keys.chat(CustomerId.telegram(anne.user.id)))
    assert raw is not None and "texts_ref" in raw
    chat = json.loads(raw)
    chat["conversation"]["texts_ref"] = "not a reference"
    await bot.store.redis.set(keys.chat(CustomerId.telegram(anne.user.id)), json.dumps(chat))
    await editor.set_template(OLGA, brand, "ask_suggestion", "fr", "Une dernière chose ?", expected=0)
    assert "Une dernière chose ?" in (await anne.say("Très bon accueil.")).text


async def test_a_brand_adds_the_nps_question_and_its_customers_answer_it_on_telegram(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, editor: Editor
) -> None:
    await editor.set_flow(OLGA, Scope("quick"), with_nps(), expected=0)
    anne = Customer.new(emulator, "Anne")
    await anne.say(f"/start {venue.token}")
    await anne.tap("rate:5")
    question = await anne.say("Très bon accueil.")
    assert "de 0 à 10" in question.text and question.buttons[:11] == [str(n) for n in range(11)]
    assert (await anne.say("douze")).text.startswith("Je n'ai pas compris votre réponse")  # asked again
    await anne.tap("nps:9")
    done = await anne.say("Rien à ajouter.")
    assert "Merci" in done.text
    [feedback] = [f async for f in bot.store.iter_feedback("quick")]
    assert (feedback["nps"], feedback["rating"], feedback["status"]) == (9, 5, "complete")
    row = (await venue_stats(bot.store, "quick", venue.code))[0].to_json()
    assert row["figures"]["nps"]["value"] == 100.0 and row["figures"]["nps"]["base"] == 1
