"""The brand's vocabulary from the staff room: admins change it, staff read it, bad input changes nothing."""

from __future__ import annotations

from bot.storage.vocabulary import VocabularyStore
from dialogs.markup import utf16_len
from tests.bot.staff_scene import Scene


async def _terms(scene: Scene) -> list[tuple[str, str, str]]:
    vocabulary = await VocabularyStore(scene.bot.store.redis).load("quick")
    return [(e.label.value, e.text, e.id) for e in vocabulary.entries]


async def test_an_admin_adds_lists_and_removes_terms(scene: Scene) -> None:
    said = await scene.staff_says(scene.maria, "/vocab add PER Julien")
    assert "Ajouté : Julien (PER, identifiant julien)" in said.text(scene.room.id)
    await scene.staff_says(scene.maria, "/vocab add product Giant Burger")
    assert await _terms(scene) == [("PER", "Julien", "julien"), ("PRODUCT", "Giant Burger", "giant-burger")]
    said = await scene.staff_says(scene.julien, "/vocab list")  # any staff member may read it
    assert "Vocabulaire (2)" in said.text(scene.room.id) and "PRODUCT · Giant Burger" in said.text(scene.room.id)
    said = await scene.staff_says(scene.maria, "/vocab remove julien")
    assert "Retiré du vocabulaire : Julien" in said.text(scene.room.id)
    assert await _terms(scene) == [("PRODUCT", "Giant Burger", "giant-burger")]


async def test_staff_who_are_not_admins_cannot_change_it(scene: Scene) -> None:
    said = await scene.staff_says(scene.julien, "/vocab add PER Julien")
    assert "Seul un administrateur" in said.text(scene.room.id)
    assert await _terms(scene) == []


async def test_bad_input_is_refused_and_changes_nothing(scene: Scene) -> None:
    for command, expected in [
        ("/vocab add PERSON Julien", "Refusé : l'étiquette « PERSON » n'existe pas ; au choix : personne (PER), "),
        ("/vocab add PER", "/vocab add PER Julien"),
        ("/vocab remove Personne", "Refusé : le terme « Personne » n'est pas dans le vocabulaire"),
        ("/vocab frobnicate", "/vocab list"),
        ("/vocab add PER " + "x" * 81, "compte au plus 80 caractères"),
    ]:
        said = await scene.staff_says(scene.maria, command)
        assert expected in said.text(scene.room.id), (command, said.text(scene.room.id))
    assert await _terms(scene) == []


async def test_vocab_in_an_unlinked_group_is_refused(scene: Scene) -> None:
    other = scene.emulator.add_group("Pas un salon", members=[scene.julien], admins=[scene.maria])
    said = await scene.staff_says(scene.maria, "/vocab add PER Julien", chat=other)
    assert said.text(other.id) and "Ajouté" not in said.text(other.id)
    assert await _terms(scene) == []


async def test_a_list_of_long_terms_is_cut_to_fit_one_message(scene: Scene) -> None:
    vocabulary = VocabularyStore(scene.bot.store.redis)
    for n in range(50):  # 50 terms of 70 emoji: over 7,000 UTF-16 units of terms alone
        await vocabulary.add("quick", "PRODUCT", f"Burger {n} " + "🍔" * 70, f"burger-{n}")
    said = await scene.staff_says(scene.julien, "/vocab list")
    [answer] = said.to(scene.room.id, "sendMessage")
    assert answer.status == 200
    text = said.text(scene.room.id)
    assert text.startswith("Vocabulaire (50)") and text.endswith("…") and utf16_len(text) <= 4096
