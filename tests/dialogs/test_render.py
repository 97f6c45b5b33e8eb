"""Rendering replies: HTML escaping, strict variables, French fallback, plain button labels."""

from __future__ import annotations

import jinja2
import pytest

import dialogs.render as render_module
from dialogs.catalog import CatalogEntry, TemplateCatalog, TemplateKind
from dialogs.errors import TemplateError
from dialogs.render import MessageRenderer, RenderedMessage
from dialogs.sandbox import compile_template as real_compile
from dialogs.types import ButtonSpec, MessagePart, Reply


def test_variables_are_escaped_for_telegram_html(renderer: MessageRenderer) -> None:
    part = MessagePart("greeting", {"venue_name": "<script>alert(1)</script> Fish & Chips", "brand_name": "Q"})
    text = renderer.render(part, "fr")
    assert "<b>chez &lt;script&gt;alert(1)&lt;/script&gt; Fish &amp; Chips</b>" in text
    assert "<script>" not in text


def test_quotes_are_escaped(renderer: MessageRenderer) -> None:
    text = renderer.render(MessagePart("staff_reply", {"venue_name": 'Chez "Léo"', "text": "l'équipe"}), "fr")
    assert "Chez &#34;Léo&#34;" in text or "Chez &quot;Léo&quot;" in text
    assert "l&#39;équipe" in text


def test_missing_variable_is_a_template_error(renderer: MessageRenderer) -> None:
    with pytest.raises(TemplateError) as caught:
        renderer.render(MessagePart("greeting", {"brand_name": "Quick"}), "en")
    error = caught.value
    assert (error.template, error.language, error.line) == ("greeting", "en", 1)
    assert error.problem == "undefined variable: 'venue_name' is undefined"


def test_unknown_template_is_a_template_error(renderer: MessageRenderer) -> None:
    with pytest.raises(TemplateError, match="unknown template"):
        renderer.render(MessagePart("farewell"), "fr")


def test_each_language_renders_its_own_template(renderer: MessageRenderer) -> None:
    assert renderer.render(MessagePart("nothing_to_cancel"), "fr") == "Il n'y a rien à annuler."
    assert renderer.render(MessagePart("nothing_to_cancel"), "en") == "There's nothing to cancel."


def test_missing_language_falls_back_to_french() -> None:
    catalog = TemplateCatalog.from_sources(
        [CatalogEntry("hello", "Says hello.", {"name": "Ana"}), CatalogEntry("bye", "Says bye.")],
        {("hello", "fr"): "Bonjour {{ name }}", ("bye", "fr"): "Au revoir", ("bye", "en"): "Bye"},
    )
    renderer = MessageRenderer(catalog)
    assert renderer.render(MessagePart("hello", {"name": "Ana"}), "en") == "Bonjour Ana"
    assert renderer.render(MessagePart("bye", {}), "en") == "Bye"
    assert renderer.render(MessagePart("bye", {}), "de") == "Au revoir"


def test_button_labels_are_plain_text() -> None:
    catalog = TemplateCatalog.from_sources(
        [
            CatalogEntry("ask", "Asks.", {"venue_name": "Q"}),
            CatalogEntry("label", "A label.", {"venue_name": "Q"}, TemplateKind.BUTTON),
        ],
        {("ask", "fr"): "<b>{{ venue_name }}</b> ?", ("label", "fr"): "Aller chez {{ venue_name }}"},
    )
    renderer = MessageRenderer(catalog)
    venue = {"venue_name": "Fish & Chips <3"}
    reply = Reply(
        (MessagePart("ask", venue),),
        ((ButtonSpec(MessagePart("label", venue), "go"),),),
    )
    rendered = renderer.render_reply(reply, "fr")
    assert rendered.text == "<b>Fish &amp; Chips &lt;3</b> ?"
    assert rendered.buttons == ((("Aller chez Fish & Chips <3", "go"),),)
    assert renderer.render(MessagePart("label", venue), "fr") == "Aller chez Fish & Chips <3"


def test_render_reply_joins_parts_and_keeps_button_rows(renderer: MessageRenderer) -> None:
    reply = Reply(
        (MessagePart("rating_recap", {"rating": 2}), MessagePart("ask_reason_low")),
        (
            tuple(ButtonSpec(MessagePart("button_rating", {"rating": n}), f"rate:{n}") for n in (1, 2, 3)),
            (ButtonSpec(MessagePart("button_skip"), "skip"),),
        ),
    )
    rendered = renderer.render_reply(reply, "en")
    assert rendered == RenderedMessage(
        text="Your rating: ⭐⭐\n\nWe're sorry your visit didn't go well. What happened? Tell us in your own words.",
        buttons=((("⭐", "rate:1"), ("⭐⭐", "rate:2"), ("⭐⭐⭐", "rate:3")), (("Skip", "skip"),)),
    )


def test_notices_are_plain_text(renderer: MessageRenderer) -> None:
    assert renderer.render(MessagePart("expired_button"), "fr") == "Ce bouton n'est plus actif."


def test_every_shipped_template_renders_with_its_samples(renderer: MessageRenderer) -> None:
    catalog = renderer.catalog
    for name in catalog.names:
        for language in catalog.languages:
            text = renderer.render(MessagePart(name, catalog.sample_variables(name)), language)
            assert text.strip() == text and text, (name, language)


def test_staff_card_escapes_customer_text(renderer: MessageRenderer) -> None:
    part = MessagePart(
        "staff_card",
        {
            **renderer.catalog.sample_variables("staff_card"),
            "venue_name": "Quick",
            "rating": 1,
            "reason": "<b>froid</b> & sale",
            "reason_parts": [{"text": "<b>froid</b> & sale", "label": ""}],
            "suggestion": "",
            "suggestion_parts": [],
            "ticket": 7,
        },
    )
    text = renderer.render(part, "fr")
    assert "&lt;b&gt;froid&lt;/b&gt; &amp; sale" in text
    assert "Suggestion" not in text


def test_compiled_templates_are_reused(catalog: TemplateCatalog, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[tuple[str, str]] = []

    def counting_compile(env: jinja2.Environment, source: str, *, name: str, language: str) -> jinja2.Template:
        compiled.append((name, language))
        return real_compile(env, source, name=name, language=language)

    monkeypatch.setattr(render_module, "compile_template", counting_compile)
    renderer = MessageRenderer(catalog)
    for _ in range(3):
        renderer.render(MessagePart("help"), "fr")
        renderer.render(MessagePart("help"), "en")
    assert compiled == [("help", "fr"), ("help", "en")]
