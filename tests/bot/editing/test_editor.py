"""Editing templates and flows: validation before every save, scopes, rights, previews, rollback."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.channels.whatsapp.limits import template_problem
from bot.editing.editor import Admin, Editor, Refused
from bot.editing.overrides import FLOW_DOCUMENT, Document, OverrideStore, Scope, template_document
from bot.errors import InvalidInput, NotFound
from bot.refusals import refusal_text, say
from bot.storage.store import Store
from dialogs.catalog import TemplateCatalog
from dialogs.flow import default_flow_path
from tests.dialogs.test_nps import NPS_STEP, with_nps
from tests.support import RATING_ONLY_FLOW

OLGA = Admin("olga")  # an operator
BRUNO = Admin("bruno", brand="quick")  # a brand admin of quick
GREETING_FR = template_document("greeting", "fr")


@pytest.fixture
async def editor(redis_client: Redis) -> Editor:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_brand("sncf", "SNCF")
    venue = await store.add_venue("quick", "Quick Massy")
    assert venue.code == "quick-massy"
    return Editor(OverrideStore(redis_client), store, TemplateCatalog())


async def nothing_saved(editor: Editor) -> bool:
    return await editor.overrides.revision() == 0


@pytest.mark.parametrize(
    ("source", "problem", "line"),
    [
        ("Bonjour\n{{ venue_name }\n", "syntax error: unexpected '}'", 2),
        ("Bonjour {{ phone }}", "uses the variable 'phone' that the catalog does not declare", 1),
        ("{{ ''.__class__.__mro__ }}", "refused by the sandbox: access to attribute '__class__'", 1),
        ("{{ cycler.__init__.__globals__ }}", "uses the variable 'cycler' that the catalog does not declare", 1),
        ("{{ self._TemplateReference__context }}", "'self' (the template's own internals) is not available", 1),
        ("{{ venue_name|attr('__class__') }}", "the filter 'attr' is not allowed", 1),
        ("{% for i in range(10**9) %}x{% endfor %}", "'**' is not allowed", 1),
        ("{% for i in range(1000) %}x{% endfor %}", "range() is limited to 100 numbers", 1),
        ("{% for i in range(99) %}{% for j in range(99) %}{{ 'x' * 9999 }}{% endfor %}{% endfor %}",
         "may produce up to 98000199 characters", None),
        ("{{ ''.ljust(10**9) }}", "refused by the sandbox: calling 'ljust' is not allowed", 1),
        ("{% if venue_name == 'Quick Orly' %}{{ venue_name * 10**8 }}{% endif %}Bonjour", "'**' is not allowed", 1),
        ("{% if venue_name == 'Quick Orly' %}<b>{% endif %}Bonjour", "<b> is never closed on some path", None),
        ("{{ venue_name }}" + "x" * 4100, "more than Telegram's 4096", None),
        ('<a href="https://x">{{ venue_name }}</a>', "the tag <a> is not allowed", 1),
        ("<b>{{ venue_name }}", "<b> is never closed", None),
        ("{% if false %}x{% endif %}", "the text is empty", None),
    ],
)  # fmt: skip
async def test_invalid_templates_are_refused_with_the_reason_and_nothing_is_saved(
    editor: Editor, source: str, problem: str, line: int | None
) -> None:
    with pytest.raises(Refused) as refused:
        await editor.set_template(OLGA, Scope("quick"), "greeting", "fr", source, expected=0)
    assert problem in refused.value.problem
    assert refused.value.line == line
    assert await nothing_saved(editor)
    assert "Bonjour et bienvenue" in await editor.template_source(Scope("quick"), "greeting", "fr")


async def test_button_labels_are_kept_within_telegram_limits(editor: Editor) -> None:
    with pytest.raises(Refused, match="button label of 70 characters"):
        await editor.set_template(OLGA, Scope(), "button_skip", "fr", "P" * 70, expected=0)
    with pytest.raises(Refused, match="plain text shows markup"):
        await editor.set_template(OLGA, Scope(), "button_skip", "fr", "<b>Passer</b>", expected=0)
    assert await nothing_saved(editor)


async def test_venue_wins_over_brand_over_global_over_the_files(editor: Editor) -> None:
    massy, quick = Scope("quick", "quick-massy"), Scope("quick")
    await editor.set_template(OLGA, Scope(), "greeting", "fr", "Global {{ venue_name }}", expected=0)
    assert await editor.template_source(massy, "greeting", "fr") == "Global {{ venue_name }}\n"
    await editor.set_template(BRUNO, quick, "greeting", "fr", "Marque {{ venue_name }}", expected=0)
    assert await editor.template_source(massy, "greeting", "fr") == "Marque {{ venue_name }}\n"
    await editor.set_template(BRUNO, massy, "greeting", "fr", "Massy {{ venue_name }}", expected=0)
    assert await editor.template_source(massy, "greeting", "fr") == "Massy {{ venue_name }}\n"
    assert await editor.template_source(Scope("sncf"), "greeting", "fr") == "Global {{ venue_name }}\n"
    entries = {(e.name, e.language): e for e in await editor.entries(massy)}
    assert (entries["greeting", "fr"].origin, entries["greeting", "fr"].version) == ("quick/quick-massy", 1)
    assert entries["greeting", "en"].origin == "default"
    # Rolling the venue back to version 0 removes its override: the brand's text shows through again.
    await editor.rollback(BRUNO, Document(massy, GREETING_FR), 0, expected=1)
    assert await editor.template_source(massy, "greeting", "fr") == "Marque {{ venue_name }}\n"
    assert "-Massy {{ venue_name }}\n+Marque {{ venue_name }}" in await editor.diff(Document(massy, GREETING_FR), 1, 2)


async def test_brand_admins_edit_only_their_brand_and_names_are_checked(editor: Editor) -> None:
    with pytest.raises(InvalidInput, match="may edit only the brand 'quick'"):
        await editor.set_template(BRUNO, Scope("sncf"), "greeting", "fr", "Salut {{ venue_name }}", expected=0)
    with pytest.raises(InvalidInput, match="may edit only the brand 'quick'"):
        await editor.set_template(BRUNO, Scope(), "greeting", "fr", "Salut {{ venue_name }}", expected=0)
    with pytest.raises(NotFound):
        await editor.set_template(OLGA, Scope("nobody"), "greeting", "fr", "Salut", expected=0)
    with pytest.raises(NotFound):
        await editor.set_template(OLGA, Scope("quick", "nowhere"), "greeting", "fr", "Salut", expected=0)
    with pytest.raises(NotFound):
        await editor.set_template(OLGA, Scope("quick"), "farewell", "fr", "Salut", expected=0)
    with pytest.raises(InvalidInput, match="language 'de'"):
        await editor.set_template(OLGA, Scope("quick"), "greeting", "de", "Hallo", expected=0)
    assert await nothing_saved(editor)


async def test_preview_is_the_customer_message_with_its_buttons(editor: Editor) -> None:
    preview = await editor.preview(Scope("quick"), "ask_rating", "fr", "Une <b>note</b> ?")
    assert preview.text == "Une <b>note</b> ?"
    assert [data for data in (b[1] for b in preview.buttons[0])] == [f"rate:{n}" for n in range(1, 6)]
    skip = await editor.preview(Scope("quick"), "ask_suggestion", "en")
    assert [[label for label, _ in row] for row in skip.buttons] == [["Skip"]]
    with pytest.raises(Refused, match="syntax error"):
        await editor.preview(Scope("quick"), "ask_rating", "fr", "{% if %}")
    assert await nothing_saved(editor)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        (
            RATING_ONLY_FLOW + "  lost:\n    say: thanks\n    end: true\n",
            "step 'lost' is unreachable from the start step 'rating'",
            12,
        ),
        (RATING_ONLY_FLOW.replace("next: thanks", "next: nowhere"), "unknown step 'nowhere'", 8),
        (RATING_ONLY_FLOW.replace("[fr, en]", "[fr, de]"), "template 'ask_rating' is missing in language 'de'", 6),
        (RATING_ONLY_FLOW.replace("input: rating", "input: rating\n    next: thanks"), "duplicate key", 9),
        ("name: [", "YAML", 1),
        (RATING_ONLY_FLOW.replace("ask: ask_rating", "ask: ask_nothing"), "ask_nothing", 6),
    ],
)
async def test_invalid_flows_are_refused_at_the_line(editor: Editor, text: str, problem: str, line: int) -> None:
    with pytest.raises(Refused) as refused:
        await editor.set_flow(OLGA, Scope("quick"), text, expected=0)
    assert problem in refused.value.problem
    assert refused.value.line == line
    assert await nothing_saved(editor)


async def test_a_valid_flow_is_saved_and_rolled_back(editor: Editor) -> None:
    quick = Scope("quick")
    saved = await editor.set_flow(BRUNO, quick, RATING_ONLY_FLOW, expected=0)
    texts = await editor.texts(Scope("quick", "quick-massy"))
    assert (texts.flow.name, texts.flow_ref) == ("short", "quick@1")
    assert saved.number == 1
    await editor.rollback(BRUNO, Document(quick, FLOW_DOCUMENT), 0, expected=1)
    texts = await editor.texts(quick)
    assert (texts.flow.name, texts.flow_ref) == ("default", "")
    assert texts.flow_text == default_flow_path().read_text(encoding="utf-8")


@pytest.fixture
async def whatsapp_editor(editor: Editor) -> Editor:
    """The same editor where WhatsApp is on: a template must fit WhatsApp's limits too."""
    return Editor(editor.overrides, editor.store, editor.base, channel_checks={"WhatsApp": template_problem})


@pytest.mark.parametrize(
    ("name", "source", "problem"),
    [
        ("ask_suggestion", "Une idée ? " + "x" * 1100, "a message with buttons holds 1024 characters"),
        # 3,300 characters in Telegram (bold is markup), 5,500 in WhatsApp's formatting (bold is *stars*)
        ("help", "<b>xx</b> " * 1100, "a message holds 4096 characters: this one has 5499"),
    ],
)
async def test_with_whatsapp_on_a_template_that_breaks_its_limits_is_refused_at_save(
    editor: Editor, whatsapp_editor: Editor, name: str, source: str, problem: str
) -> None:
    with pytest.raises(Refused) as refused:
        await whatsapp_editor.set_template(OLGA, Scope(), name, "fr", source, expected=0)
    assert problem in refused.value.problem and "(WhatsApp is on)" in refused.value.problem
    assert refusal_text(refused.value).endswith("(le canal WhatsApp est activé)"), refusal_text(refused.value)
    assert await nothing_saved(whatsapp_editor)
    await editor.set_template(OLGA, Scope(), name, "fr", source, expected=0)  # Telegram alone takes it


async def test_with_whatsapp_on_templates_within_its_limits_are_saved(whatsapp_editor: Editor) -> None:
    # 39 characters: a list row on WhatsApp, its title cut at 24 and the whole label under it.
    label = "🔔 Recevoir les nouvelles de Quick Massy"
    await whatsapp_editor.set_template(OLGA, Scope(), "button_skip", "fr", label, expected=0)
    await whatsapp_editor.set_template(OLGA, Scope(), "ask_suggestion", "fr", "Une idée ? " + "x" * 1000, expected=0)
    assert await whatsapp_editor.overrides.revision() == 2


async def test_with_whatsapp_on_a_rollback_to_a_version_over_its_limits_is_refused(
    editor: Editor, whatsapp_editor: Editor
) -> None:
    document = Document(Scope(), template_document("help", "fr"))
    await editor.set_template(OLGA, Scope(), "help", "fr", "<b>xx</b> " * 1100, expected=0)
    await editor.set_template(OLGA, Scope(), "help", "fr", "Aide", expected=1)
    with pytest.raises(Refused, match="WhatsApp"):
        await whatsapp_editor.rollback(OLGA, document, 1, expected=2)


async def test_with_whatsapp_on_every_shipped_template_saves_unchanged(whatsapp_editor: Editor) -> None:
    # An admin who saves a shipped template as it is must never be refused because WhatsApp is on.
    catalog = TemplateCatalog()
    refused = []
    for name in catalog.names:
        for language in catalog.languages:
            if not catalog.has(name, language):
                continue
            scope = Scope()
            source = catalog.source(name, language)
            try:
                await whatsapp_editor.set_template(OLGA, scope, name, language, source, expected=0)
            except Refused as exc:
                refused.append(f"{name}/{language}: {exc.problem}")
    assert refused == []


def test_on_whatsapp_a_label_is_cut_only_beyond_what_a_list_row_shows() -> None:
    # Up to 20 characters a reply button, up to 72 a list row (title cut at 24, the whole label under it).
    assert template_problem("🔔 Recevoir les nouvelles de Quick Massy", (), label=True) is None
    problem = template_problem("Passer " + "x" * 66, (), label=True)
    assert problem is not None and "this one has 73 and would be cut" in str(problem)
    assert say(problem) == (
        "sur WhatsApp, un bouton affiche au plus 72 caractères (le titre d'une ligne de liste, 24, et le texte entier "
        "dessous) : celui-ci en a 73 et serait coupé"
    )


async def test_a_brand_adds_the_nps_question_to_its_flow(editor: Editor, whatsapp_editor: Editor) -> None:
    quick = Scope("quick")
    flow = with_nps()
    wrong = with_nps(NPS_STEP.replace("optional: true", "store: reason"))
    with pytest.raises(Refused) as refused:
        await editor.set_flow(BRUNO, quick, wrong, expected=0)
    assert "stored as nps: remove store" in refused.value.problem and refused.value.line is not None
    assert await nothing_saved(editor)
    await editor.set_flow(BRUNO, quick, flow, expected=0)
    texts = await editor.texts(quick)
    assert texts.flow.step("nps").ask == "ask_nps"
    # Its question, with eleven scores and Skip, saves with WhatsApp on: they are written there, and typed back.
    source = "De 0 à 10, recommanderiez-vous {{ venue_name }} ?"
    await whatsapp_editor.set_template(BRUNO, quick, "ask_nps", "fr", source, expected=0)
    assert await editor.overrides.revision() == 2


async def test_previews_use_the_scopes_brand_and_venue_and_the_samples_elsewhere(editor: Editor) -> None:
    store = editor.store
    await store.add_brand("halles", "Les Halles & Cie")
    halles = await store.add_venue("halles", "Les Halles")
    await store.add_brand("vide", "Vide")  # a brand without a venue
    said = {
        label: (await editor.preview(Scope.parse(label), "greeting", "fr")).text
        for label in ("global", "halles", f"halles/{halles.code}", "vide")
    }
    assert "chez Quick Massy" in said["global"]  # the catalog's sample
    assert "aux Halles" in said["halles"] and said["halles"] == said[f"halles/{halles.code}"]
    assert "chez Quick Massy" in said["vide"]  # no venue of its own: the sample
    values = await editor.preview_values(Scope("halles", halles.code), "staff_linked")
    assert values == {"brand_name": "Les Halles & Cie", "venue_name": "Les Halles"}
    assert "rating" in await editor.preview_values(Scope("halles"), "button_rating")  # samples for the rest
    with pytest.raises(Refused, match="nom_client"):  # a source is still checked with the samples first
        await editor.preview(Scope("halles"), "greeting", "fr", "Salut {{ nom_client }}")
