"""A brand's vocabulary: stored per brand, versioned, refused when bad."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.errors import InvalidInput, NotFound
from bot.storage.store import Store
from bot.storage.vocabulary import VocabularyStore
from nlp.types import Label, VocabularyEntry


@pytest.fixture
async def vocab(redis_client: Redis) -> VocabularyStore:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_brand("sncf", "SNCF")
    return VocabularyStore(redis_client)


async def test_add_list_remove_bump_the_version(vocab: VocabularyStore) -> None:
    assert await vocab.version("quick") == "0"
    julien = await vocab.add("quick", "per", "Julien")
    assert julien == VocabularyEntry(Label.PER, "Julien", "julien")
    await vocab.add("quick", "PRODUCT", "Giant  Burger")
    await vocab.add("quick", "PRODUCT", "le Giant", "giant-burger")
    loaded = await vocab.load("quick")
    assert [(e.label.value, e.text, e.id) for e in loaded.entries] == [
        ("PER", "Julien", "julien"),
        ("PRODUCT", "Giant Burger", "giant-burger"),
        ("PRODUCT", "le Giant", "giant-burger"),
    ]
    assert loaded.version == "3"
    assert (await vocab.load("sncf")).entries == ()
    removed = await vocab.remove("quick", "julien")
    assert [e.text for e in removed] == ["Julien"]
    assert await vocab.version("quick") == "4"
    # Adding the same term again replaces it (no duplicate).
    await vocab.add("quick", "PRODUCT", "giant burger", "giant")
    assert [e.id for e in (await vocab.load("quick")).entries] == ["giant", "giant-burger"]


@pytest.mark.parametrize(
    ("brand", "label", "text", "entry_id", "error"),
    [
        ("nobody", "PER", "Julien", None, NotFound),
        ("quick", "PERSON", "Julien", None, InvalidInput),
        ("quick", "PER", "   ", None, InvalidInput),
        ("quick", "PER", "x" * 81, None, InvalidInput),
        ("quick", "PER", "Jul\x00ien", None, InvalidInput),
        ("quick", "PER", "!!!", None, InvalidInput),
        ("quick", "PER", "Julien", "???", InvalidInput),
    ],
)
async def test_bad_terms_are_refused_and_change_nothing(
    vocab: VocabularyStore, brand: str, label: str, text: str, entry_id: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await vocab.add(brand, label, text, entry_id)
    assert await vocab.version("quick") == "0"
    with pytest.raises(NotFound):
        await vocab.remove("quick", "Personne")
