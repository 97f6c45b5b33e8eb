"""French prepositions before a name: contraction with the name's article, elision, and their use in templates."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from dialogs.catalog import TemplateCatalog
from dialogs.french import a, chez, de
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart


@pytest.mark.parametrize(
    ("name", "with_de", "with_a", "with_chez"),
    [
        ("Le Petit Zinc", "du Petit Zinc", "au Petit Zinc", "au Petit Zinc"),
        ("Les Halles", "des Halles", "aux Halles", "aux Halles"),
        ("La Table d'Anvers", "de La Table d'Anvers", "à La Table d'Anvers", "à La Table d'Anvers"),
        ("L'Atelier", "de L'Atelier", "à L'Atelier", "à L'Atelier"),
        ("Ibis Massy", "d'Ibis Massy", "à Ibis Massy", "chez Ibis Massy"),
        ("Élysée Café", "d'Élysée Café", "à Élysée Café", "chez Élysée Café"),
        ("Hôtel du Nord", "d'Hôtel du Nord", "à Hôtel du Nord", "chez Hôtel du Nord"),
        ("Havre Burger", "de Havre Burger", "à Havre Burger", "chez Havre Burger"),
        ("Quick Massy", "de Quick Massy", "à Quick Massy", "chez Quick Massy"),
        ("Lenôtre", "de Lenôtre", "à Lenôtre", "chez Lenôtre"),
        ("Le", "de Le", "à Le", "chez Le"),
    ],
)
def test_prepositions_contract_and_elide(name: str, with_de: str, with_a: str, with_chez: str) -> None:
    assert (de(name), a(name), chez(name)) == (with_de, with_a, with_chez)


def test_an_escaped_name_stays_escaped() -> None:
    escaped = Markup.escape("Le Fish & Chips")
    assert de(escaped) == Markup("du Fish &amp; Chips")
    assert isinstance(de(escaped), Markup)


@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        ("thanks", {"venue_name": "Le Petit Zinc"}, "L'équipe <b>du Petit Zinc</b> va le lire"),
        ("thanks_kiosk", {"venue_name": "Les Halles"}, "avis ! L'équipe <b>des Halles</b> va le lire."),
        ("cancelled_kiosk", {"kept": True, "rating": 2, "venue_name": "Les Halles"}, "l'équipe des Halles les lira."),
        ("greeting", {"venue_name": "Le Petit Zinc", "brand_name": "Zinc"}, "bienvenue <b>au Petit Zinc</b> !"),
        ("greeting", {"venue_name": "Quick Massy", "brand_name": "Quick"}, "bienvenue <b>chez Quick Massy</b> !"),
        (
            "customer_relayed",
            {"venue_name": "Ibis Massy", "ticket": 1, "reopened": False},
            "Transmis à l'équipe d&#39;Ibis",
        ),
        ("news_subscribed_notice", {"venue_name": "Les Halles"}, "les nouvelles des Halles."),
        ("poster_invitation", {"venue_name": "Le Petit Zinc"}, "L'équipe du Petit Zinc lit chaque avis"),
        ("staff_linked", {"brand_name": "Le Zinc", "venue_name": ""}, "le salon de l'équipe <b>du Zinc</b>."),
    ],
)
def test_shipped_french_templates_put_names_in_good_french(
    renderer: MessageRenderer, template: str, variables: dict[str, object], expected: str
) -> None:
    assert expected in renderer.render(MessagePart(template, variables), "fr")


def test_no_shipped_french_template_writes_de_or_a_before_a_name(catalog: TemplateCatalog) -> None:
    """The class of fault: a preposition written before a name variable instead of the filter."""
    for name in catalog.names:
        source = catalog.source(name, "fr") if catalog.has(name, "fr") else ""
        for preposition in (" de ", " à ", "chez ", "Nouvelles de "):
            for opening in ("{{ venue_name", "{{ brand_name", "<b>{{ venue_name", "<b>{{ brand_name"):
                assert preposition + opening not in source, (name, preposition + opening)


def test_template_authors_may_use_the_filters(catalog: TemplateCatalog) -> None:
    source = (
        "Bienvenue {{ venue_name | à }} ! Les nouvelles {{ brand_name|de }}, {{ venue_name|a }}, {{ venue_name|chez }}"
    )
    edited = catalog.with_source("greeting", "fr", source)
    text = MessageRenderer(edited).render(
        MessagePart("greeting", {"venue_name": "Le Zinc", "brand_name": "Ibis"}), "fr"
    )
    assert text == "Bienvenue au Zinc ! Les nouvelles d&#39;Ibis, au Zinc, au Zinc"
