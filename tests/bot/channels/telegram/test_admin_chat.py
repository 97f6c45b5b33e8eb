"""Templates and flows from Telegram: operators in private, brand admins in their staff room."""

from __future__ import annotations

import re

from bot.editing.overrides import Document, OverrideStore, Scope, template_document
from emulator import EmulatedUser
from tests.bot.staff_scene import Said, Scene
from tests.support import RATING_ONLY_FLOW, Customer


async def private(scene: Scene, user: EmulatedUser, text: str) -> Said:
    mark = scene.mark()
    await scene.emulator.send_text(user, text)
    return scene.since(mark)


def overrides(scene: Scene) -> OverrideStore:
    return OverrideStore(scene.bot.store.redis)


async def test_a_brand_admin_edits_previews_and_rolls_back_in_the_staff_room(scene: Scene) -> None:
    room = scene.room.id
    shown = await scene.staff_says(scene.maria, "/template show greeting")
    assert "greeting fr pour quick — texte de default" in shown.text(room)
    assert "Bonjour et bienvenue <b>{{ venue_name | chez }}</b>" in shown.text(room)  # the source, escaped
    assert "/template set greeting fr 0 @quick" in shown.text(room)
    said = await scene.staff_says(scene.maria, "/template set greeting fr 0\nSalut <b>{{ venue_name }}</b> !")
    assert "greeting fr (quick) enregistré — version 1" in said.text(room)
    listed = await scene.staff_says(scene.maria, "/templates")
    assert "greeting · fr · quick v1" in listed.text(room) and "thanks," in listed.text(room)
    # In use at once: the next customer gets it.
    turn = await Customer.new(scene.emulator, "Anne").say(f"/start {scene.massy.token}")
    assert turn.said[0].startswith("Salut Quick Massy !")
    # A preview is the customer's message with its buttons.
    mark = scene.mark()
    await scene.staff_says(scene.maria, "/template preview ask_rating")
    [preview] = scene.since(mark).to(room, "sendMessage")
    keyboard = preview.params["reply_markup"]["inline_keyboard"]
    assert [button["text"] for button in keyboard[0]] == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]
    history = await scene.staff_says(scene.maria, "/template history greeting")
    assert re.search(r"v1 · \d{4}-\d\d-\d\d \d\d:\d\d · Maria \(\d+\) · save", history.text(room))
    rolled = await scene.staff_says(scene.maria, "/template rollback greeting fr 0")
    assert "greeting fr (quick) revient au texte par défaut — version 2" in rolled.text(room)
    turn = await Customer.new(scene.emulator, "Bea").say(f"/start {scene.massy.token}")
    assert turn.said[0].startswith("Bonjour et bienvenue chez Quick Massy")


async def test_bad_edits_are_refused_with_the_reason_and_change_nothing(scene: Scene) -> None:
    room = scene.room.id
    for command, expected in [
        ("/template set greeting\n{{ ''.__class__.__mro__ }}", "Refusé (ligne 1) : refusé par le bac à sable"),
        ("/template set greeting\nSalut {{ venue_name }", "Refusé (ligne 1) : erreur de syntaxe"),
        ("/template set greeting\n<a href='x'>{{ venue_name }}</a>", "la balise <a> n'est pas acceptée"),
        ("/template set greeting", "le nouveau texte va sur les lignes qui suivent la commande"),
        ("/template set farewell\nSalut", "le modèle « farewell » n'existe pas"),
        ("/template show greeting @sncf", "ne peut modifier que la marque « quick »"),
        ("/template set greeting @global\nSalut {{ venue_name }}", "ne peut modifier que la marque « quick »"),
        ("/template set greeting @Bad!\nSalut", "le code de marque « Bad! »"),
        ("/template rollback greeting fr", "rollback a besoin de la version"),
        ("/template rollback greeting fr 3", "la version « 3, template:greeting:fr (quick) » n'existe pas"),
        ("/template frobnicate greeting", "/template show NOM"),
        ("/flow set\nname: [", "Refusé (ligne 1)"),
    ]:
        said = await scene.staff_says(scene.maria, command)
        assert expected in said.text(room), (command, said.text(room))
    assert await overrides(scene).revision() == 0


async def test_staff_who_are_not_admins_and_strangers_cannot_edit(scene: Scene) -> None:
    said = await scene.staff_says(scene.julien, "/template set greeting\nSalut {{ venue_name }}")
    assert "Seul un administrateur" in said.text(scene.room.id)
    stranger = scene.emulator.add_user("Eve")
    said = await private(scene, stranger, "/template set greeting\nSalut {{ venue_name }}")
    assert "Enregistré" not in said.text(stranger.id) and "enregistré" not in said.text(stranger.id)
    assert await overrides(scene).revision() == 0


async def test_the_second_of_two_admins_saving_at_once_is_shown_the_newer_version(
    scene: Scene, operator: EmulatedUser
) -> None:
    room = scene.room.id
    # Both loaded version 0; Maria saves first, then Olga (an operator, in private) saves on top of 0.
    await scene.staff_says(scene.maria, "/template set thanks fr 0\nMerci, {{ venue_name }} !")
    said = await private(scene, operator, "/template set thanks fr 0 @quick\nMille mercis, {{ venue_name }} !")
    text = said.text(operator.id)
    assert "a été modifié entre-temps par Maria" in text and "la version 1 est la plus récente" in text
    assert "Merci, {{ venue_name }} !" in text and "/template set thanks fr 1 @quick" in text
    document = Document(Scope("quick"), template_document("thanks", "fr"))
    assert [v.content for v in await overrides(scene).history(document)] == ["Merci, {{ venue_name }} !\n"]
    said = await private(scene, operator, "/template set thanks fr 1 @quick\nMille mercis, {{ venue_name }} !")
    assert "version 2" in said.text(operator.id)
    assert "version 2" not in said.text(room)


async def test_operators_edit_global_texts_and_flows_in_private(scene: Scene, operator: EmulatedUser) -> None:
    said = await private(scene, operator, "/templates")
    listed = said.text(operator.id)
    assert "Modèles de global" in listed and "Modifiés (nom · langue · origine) :\naucun" in listed
    assert "Texte par défaut : greeting, ask_rating," in listed and "admin_weblogin_failed" in listed
    said = await private(scene, operator, "/flow show")
    assert "name: default" in said.text(operator.id) and "/flow set 0 @global" in said.text(operator.id)
    said = await private(scene, operator, "/flow history @quick")
    assert "Aucune version : le texte par défaut est en service." in said.text(operator.id)
    said = await private(scene, operator, f"/flow set @quick/{scene.massy.code}\n{RATING_ONLY_FLOW}")
    assert f"flow (quick/{scene.massy.code}) enregistré — version 1" in said.text(operator.id)
    customer = Customer.new(scene.emulator, "Anne")
    await customer.say(f"/start {scene.massy.token}")
    assert "Merci" in (await customer.tap("rate:4")).text  # the venue's flow ends after the rating
    said = await private(scene, operator, "/flow frobnicate")
    assert "/flow show|history|rollback VERSION|set" in said.text(operator.id)


async def test_weblogin_sends_a_one_time_link_in_private(scene: Scene, operator: EmulatedUser) -> None:
    said = await private(scene, operator, "/weblogin")
    assert re.search(r"http://127\.0\.0\.1:8081/login/[A-Za-z0-9_-]{20,}", said.text(operator.id))
    # A brand admin who never opened a private chat with the bot is told so in the room.
    said = await scene.staff_says(scene.maria, "/weblogin")
    assert "ouvrez d'abord une conversation avec moi" in said.text(scene.room.id)
    await private(scene, scene.maria, "/start")
    said = await scene.staff_says(scene.maria, "/weblogin")
    assert "envoyé le lien de connexion en message privé" in said.text(scene.room.id)
    assert "/login/" in said.text(scene.maria.id)


async def test_the_staff_side_uses_the_brands_and_venues_texts(scene: Scene) -> None:
    room = scene.room.id
    said = await scene.staff_says(scene.maria, "/template set button_close\nTraité")
    assert "version 1" in said.text(room)
    venue = f"@quick/{scene.massy.code}"
    said = await scene.staff_says(scene.maria, f"/template set staff_reply {venue}\nMassy : {{{{ text }}}}")
    assert "version 1" in said.text(room), said.text(room)
    said = await scene.staff_says(scene.maria, "/template set staff_relayed\nTransmis ({{ ticket }}).")
    assert "version 1" in said.text(room), said.text(room)
    customer = Customer.new(scene.emulator, "Camille")
    posted = await scene.feedback(customer)
    [card] = posted.to(room, "sendMessage")
    assert card.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Traité"
    mark = scene.mark()
    await scene.staff_says(scene.julien, "/reply 1001 Toutes nos excuses.")
    assert "Massy : Toutes nos excuses." in scene.since(mark).text(customer.user.id)
    assert "Transmis (1001)." in scene.since(mark).text(room)  # the room's own messages too


async def test_a_venue_rooms_admin_acts_on_that_venue_only(scene: Scene) -> None:
    vera = scene.emulator.add_user("Vera")  # the Telegram administrator of Orly's room only
    group_admins = scene.emulator.add_group("Quick Orly — équipe", members=[scene.julien], admins=[vera])
    await scene.link(group_admins, vera, venue=scene.orly.code)
    store = overrides(scene)

    def said(s: Said) -> str:
        return s.text(group_admins.id)

    saved = await scene.staff_says(vera, "/template set greeting fr 0\nBonjour Orly !", chat=group_admins)
    assert "enregistré — version 1" in said(saved)  # their venue: yes
    for command in (
        "/template set greeting fr 0 @quick\nBonjour à toute la marque !",
        f"/template set greeting fr 0 @quick/{scene.massy.code}\nBonjour Massy !",
    ):
        refused = await scene.staff_says(vera, command, chat=group_admins)
        assert f"ne peut modifier que le lieu quick/{scene.orly.code}" in said(refused)
    assert await store.history(Document(Scope("quick"), template_document("greeting", "fr"))) == []
    assert await store.history(Document(Scope("quick", scene.massy.code), template_document("greeting", "fr"))) == []
    vocab = await scene.staff_says(vera, "/vocab add PER Julien", chat=group_admins)
    assert "depuis le salon de la marque" in said(vocab)
    login = await scene.staff_says(vera, "/weblogin", chat=group_admins)
    assert "réservée aux administrateurs de la marque" in said(login)
    assert scene.emulator.bot_messages(vera.id) == []  # no link sent in private
    # The brand room's admin keeps the brand-wide rights.
    brand = await scene.staff_says(scene.maria, "/template set greeting fr 0 @quick\nBonjour la marque !")
    assert "enregistré — version 1" in brand.text(scene.room.id)
    assert "Ajouté" in (await scene.staff_says(scene.maria, "/vocab add PER Julien")).text(scene.room.id)
