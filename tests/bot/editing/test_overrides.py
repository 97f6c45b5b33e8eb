"""The override store: versions, history, rollback, compare-and-set, scopes and their keys."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.editing.overrides import (
    FLOW_DOCUMENT,
    Action,
    DiffLine,
    Document,
    OverrideStore,
    Scope,
    VersionConflict,
    diff,
    diff_lines,
    template_document,
)
from bot.errors import InvalidInput, NotFound
from bot.storage import keys

GREETING = template_document("greeting", "fr")


@pytest.fixture
def overrides(redis_client: Redis) -> OverrideStore:
    return OverrideStore(redis_client)


async def test_every_save_is_a_version_and_rollback_makes_a_new_one(overrides: OverrideStore) -> None:
    doc = Document(Scope("quick"), GREETING)
    assert await overrides.active(doc) is None and await overrides.revision() == 0
    first = await overrides.save(doc, "Bonjour !", author="olga", expected=0)
    second = await overrides.save(doc, "Salut !", author="bruno", expected=1)
    assert (first.number, second.number) == (1, 2)
    assert (await overrides.active(doc)) == second
    back = await overrides.rollback(doc, 1, author="olga", expected=2)
    assert (back.number, back.action, back.content, back.source) == (3, Action.ROLLBACK, "Bonjour !", 1)
    reset = await overrides.rollback(doc, 0, author="olga", expected=3)
    assert reset.content is None and await overrides.active(doc) is None
    assert [v.number for v in await overrides.history(doc)] == [1, 2, 3, 4]
    assert [v.author for v in await overrides.history(doc)] == ["olga", "bruno", "olga", "olga"]
    assert await overrides.revision() == 4


async def test_the_second_of_two_concurrent_saves_is_refused_and_shown_the_newer(overrides: OverrideStore) -> None:
    doc = Document(Scope("quick", "massy"), GREETING)
    results = await asyncio.gather(
        overrides.save(doc, "Texte A", author="anna", expected=0),
        overrides.save(doc, "Texte B", author="bruno", expected=0),
        return_exceptions=True,
    )
    saved = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, VersionConflict)]
    assert len(saved) == 1 and len(refused) == 1
    assert refused[0].current == saved[0]
    assert "version 1 now, not 0" in str(refused[0])
    assert [v.content for v in await overrides.history(doc)] == [saved[0].content]


async def test_scopes_have_their_own_hash_tagged_keys(overrides: OverrideStore, redis_client: Redis) -> None:
    await overrides.save(Document(Scope(), FLOW_DOCUMENT), "x", author="olga", expected=0)
    await overrides.save(Document(Scope("quick"), GREETING), "y", author="olga", expected=0)
    await overrides.save(Document(Scope("quick", "massy"), GREETING), "z", author="olga", expected=0)
    stored = sorted(await redis_client.keys("parole:*overrides*"))
    assert stored == sorted(
        [
            "parole:{_global}:overrides",
            "parole:{_global}:overrides:history:flow",
            "parole:{quick}:overrides",
            "parole:{quick}:overrides:history:template:greeting:fr",
            "parole:{quick}:overrides:venue:massy",
            "parole:{quick}:overrides:venue:massy:history:template:greeting:fr",
            keys.OVERRIDES_REVISION,
        ]
    )
    found = await overrides.scope_overrides((Scope("quick", "massy"), Scope("quick"), Scope()))
    assert [list(scope) for scope in found] == [[GREETING], [GREETING], [FLOW_DOCUMENT]]
    assert Scope("quick", "massy").wider() == (Scope("quick"), Scope())
    assert Scope.parse("quick/massy") == Scope("quick", "massy") and Scope.parse("global") == Scope()


async def test_bad_input_is_refused_and_changes_nothing(overrides: OverrideStore) -> None:
    doc = Document(Scope("quick"), GREETING)
    await overrides.save(doc, "v1", author="olga", expected=0)
    with pytest.raises(InvalidInput):
        await overrides.save(doc, "v2", author="   ", expected=1)
    with pytest.raises(InvalidInput):
        await overrides.save(doc, "x" * 20_001, author="olga", expected=1)
    with pytest.raises(InvalidInput):
        await overrides.rollback(doc, -1, author="olga", expected=1)
    with pytest.raises(NotFound):
        await overrides.rollback(doc, 7, author="olga", expected=1)
    with pytest.raises(VersionConflict):
        await overrides.save(doc, "v2", author="olga", expected=5)
    with pytest.raises(InvalidInput):
        Scope("Not A Brand")
    with pytest.raises(InvalidInput):
        Scope(None, "massy")
    assert [v.content for v in await overrides.history(doc)] == ["v1"]
    assert await overrides.revision() == 1


def test_diff_is_unified() -> None:
    assert diff("a\nb\n", "a\nc", old_label="v1", new_label="v2") == "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    assert diff("same", "same", old_label="v1", new_label="v2") == ""


def test_diff_lines_show_the_changes_with_their_numbers_and_skip_what_did_not_change() -> None:
    old = "\n".join(f"ligne {n}" for n in range(1, 21))
    new = old.replace("ligne 10", "ligne dix <b>&</b>").replace("ligne 20", "ligne 20\nligne 21")
    found = diff_lines(old, new, context=2)
    assert found[0] == DiffLine("skipped", "", skipped=7)
    assert [(d.kind, d.text, d.old, d.new) for d in found[1:7]] == [
        ("same", "ligne 8", 8, 8), ("same", "ligne 9", 9, 9),
        ("removed", "ligne 10", 10, None), ("added", "ligne dix <b>&</b>", None, 10),  # as written: pages escape
        ("same", "ligne 11", 11, 11), ("same", "ligne 12", 12, 12),
    ]  # fmt: skip
    assert found[7] == DiffLine("skipped", "", skipped=6)  # lines 13 to 18
    assert [(d.kind, d.text, d.new) for d in found[-3:]] == [
        ("same", "ligne 19", 19), ("same", "ligne 20", 20), ("added", "ligne 21", 21)
    ]  # fmt: skip
    assert diff_lines(old, old) == [] and diff_lines("", "a") == [DiffLine("added", "a", new=1)]
