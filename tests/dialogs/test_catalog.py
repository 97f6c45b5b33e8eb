"""The template catalog: the shipped templates, and every way a template or the catalog can be wrong."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from dialogs.catalog import CatalogEntry, TemplateCatalog, TemplateKind, default_templates_dir
from dialogs.engine import DialogEngine
from dialogs.errors import CatalogError, TemplateError
from dialogs.messages import ENGINE_MESSAGES

_TERMINAL = re.compile(r"\bparole [a-z]")
CONTRACT_NAMES = {
    "greeting", "ask_rating", "ask_reason_low", "ask_reason_mid", "ask_reason_high", "ask_suggestion",
    "thanks", "unknown_venue", "ask_venue_code", "bad_venue_code", "already_rated", "reprompt_rating",
    "reprompt_text", "text_truncated", "help", "cancelled", "nothing_to_cancel", "idle", "choose_language",
    "language_set", "expired_button", "rating_recap", "button_rating", "button_skip", "button_language_fr",
    "button_language_en", "staff_card", "staff_reply",
    # The optional NPS question a brand may add to its flow (`input: nps`).
    "ask_nps", "button_nps", "nps_recap", "reprompt_nps",
    # /cancel after a rating: delete it or keep it.
    "ask_discard_rating", "rating_discarded", "button_discard_rating", "button_keep_rating",
    # The staff rooms and the relay (journeys 7-9), and the customer's /mydata and /forget.
    "staff_linked", "staff_moved", "staff_link_usage", "staff_link_bad_code", "staff_link_other_brand",
    "staff_not_linked", "staff_not_allowed", "staff_unlink_refused", "staff_unlinked", "staff_vocab_usage",
    "staff_vocab_list", "staff_vocab_added", "staff_vocab_removed", "staff_vocab_refused", "staff_admin_only",
    "staff_reply_usage", "staff_outside_window", "staff_delivery_failed", "staff_help",
    "staff_close_usage", "staff_ticket_unknown", "staff_ticket_closed", "staff_undeliverable", "staff_customer_gone",
    "staff_relay_failed", "staff_card_given_up", "staff_kiosk_no_reply", "staff_relayed", "staff_customer_message",
    "staff_only_text", "staff_reply_too_long", "customer_relay_failed", "customer_queued",
    "staff_customer_photo", "photo_not_passed",
    "staff_closed",
    "staff_tickets", "staff_no_tickets", "staff_reminder", "admin_escalation", "button_close", "button_spam",
    "ticket_closed_notice", "ticket_spam_notice", "staff_not_allowed_notice", "staff_command_private",
    "customer_relayed", "forget_confirm", "button_forget_confirm", "button_forget_cancel", "forgotten",
    "forget_cancelled", "my_data", "my_data_empty",
    # The venue kit: posters, and finding a venue by location.
    "poster_invitation", "poster_code_hint", "nearby_venues", "no_venue_nearby", "button_venue",
    # "You said, we did": news to the customers who opted in.
    "button_news_opt_in", "button_news_stop", "news_subscribed_notice", "news_unsubscribed_notice", "news_stopped",
    "news_message", "staff_news_usage", "staff_news_refused", "staff_news_nobody", "staff_news_progress",
    "staff_news_preview", "staff_news_confirm", "staff_news_cancelled", "staff_news_not_yours", "button_news_send",
    "button_news_cancel",
    # The thanks and the cancel on a kiosk: no answer promised to whoever is at the tablet next.
    "thanks_kiosk", "cancelled_kiosk",
    # "Contact me" under the thanks (the ticket policy's `contact`).
    "button_contact_me", "contact_asked_notice",
    # Template and flow admin over Telegram (journey 10).
    "admin_usage", "admin_list", "admin_source", "admin_saved", "admin_refused", "admin_conflict",
    "admin_history", "admin_weblogin", "admin_weblogin_sent", "admin_weblogin_failed",
    # A chat that floods the bot is told once to slow down.
    "slow_down",
    # Closing the loop: "problem solved?" after a closed ticket.
    "ask_resolved", "button_resolved_yes", "button_resolved_no", "resolved_thanks", "resolved_reopened",
    # Opening hours: a customer who writes while the venue is closed is told when it opens.
    "venue_closed",
    # E-mail to brand admins: alerts and daily digests.
    "mail_alert_subject", "mail_alert", "mail_digest_subject", "mail_digest", "mail_test_subject", "mail_test",
    # An archived venue's QR code, still on a wall.
    "venue_archived",
}  # fmt: skip

SMALL_CATALOG = """
greeting:
  description: First message.
  variables: {venue_name: "Quick Massy"}
button_skip:
  description: Skip.
  kind: button
"""


def write_templates(root: Path, catalog_yaml: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(textwrap.dedent(catalog_yaml).lstrip("\n"), encoding="utf-8")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def template_error(tmp_path: Path, files: dict[str, str], catalog_yaml: str = SMALL_CATALOG) -> TemplateError:
    base = {"fr/greeting.j2": "Bonjour {{ venue_name }}", "fr/button_skip.j2": "Passer"}
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog(write_templates(tmp_path / "templates", catalog_yaml, base | files))
    return caught.value


def test_shipped_catalog_has_every_contract_name_in_french_and_english(catalog: TemplateCatalog) -> None:
    assert set(catalog.names) == CONTRACT_NAMES
    assert catalog.languages == ("fr", "en")
    for name in CONTRACT_NAMES:
        assert catalog.has(name, "fr") and catalog.has(name, "en"), name
        assert catalog.description(name)


def test_shipped_catalog_covers_what_the_engine_says(catalog: TemplateCatalog, engine: DialogEngine) -> None:
    assert set(catalog.names) >= ENGINE_MESSAGES
    assert engine.required_templates() <= set(catalog.names)


def test_shipped_catalog_declares_variables_with_samples(catalog: TemplateCatalog) -> None:
    assert catalog.declared_variables("greeting") == {"venue_name", "brand_name"}
    assert catalog.sample_variables("greeting")["venue_name"] == "Quick Massy"
    assert catalog.declared_variables("already_rated") == {"venue_name", "hours"}
    assert catalog.declared_variables("text_truncated") == {"limit"}
    assert catalog.declared_variables("staff_card") == {
        "venue_name", "rating", "reason", "suggestion", "ticket", "reason_parts", "suggestion_parts", "customer",
        "abandoned", "analysed", "kind", "aspects", "entities", "status", "undeliverable", "channel", "delivery",
        "resolved", "contact",
    }  # fmt: skip
    assert catalog.declared_variables("staff_reply") == {"venue_name", "text"}
    assert catalog.declared_variables("ask_rating") == frozenset()
    assert catalog.kind("button_rating") is TemplateKind.BUTTON
    assert catalog.kind("expired_button") is TemplateKind.NOTICE
    assert catalog.kind("greeting") is TemplateKind.MESSAGE


def test_default_templates_dir_is_the_repository_templates() -> None:
    assert default_templates_dir() == Path(__file__).resolve().parents[2] / "templates"
    assert (default_templates_dir() / "bot" / "catalog.yaml").is_file()


def test_source_and_unknown_names(catalog: TemplateCatalog) -> None:
    assert "{{ venue_name | chez }}" in catalog.source("greeting", "fr")
    with pytest.raises(TemplateError, match="no template in this language"):
        catalog.source("greeting", "de")
    with pytest.raises(TemplateError, match="unknown template"):
        catalog.sample_variables("nope")


def test_small_catalog_loads(tmp_path: Path) -> None:
    files = {
        "fr/greeting.j2": "Bonjour {{ venue_name }}",
        "fr/button_skip.j2": "Passer",
        "en/button_skip.j2": "Skip",
    }
    catalog = TemplateCatalog(write_templates(tmp_path, SMALL_CATALOG, files))
    assert catalog.names == ("greeting", "button_skip")
    assert catalog.languages == ("fr", "en")
    assert catalog.has("button_skip", "en") and not catalog.has("greeting", "en")


def test_syntax_error_names_template_language_and_line(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"en/greeting.j2": "Hello\n{{ venue_name }\nBye\n"})
    assert (error.template, error.language) == ("greeting", "en")
    assert error.line == 2
    assert error.problem.startswith("syntax error: ")
    assert str(error).startswith("en/greeting.j2:2: syntax error: ")


def test_undeclared_variable(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"fr/greeting.j2": "Bonjour\n{{ venue_name }} {{ city }}"})
    assert (error.template, error.language, error.line) == ("greeting", "fr", 2)
    assert error.problem == "uses the variable 'city' that the catalog does not declare (declared: venue_name)"


def test_a_field_a_variable_cannot_have_is_caught_at_load(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"fr/greeting.j2": "{{ venue_name.missing.deeper }}"})
    assert (error.template, error.language, error.line) == ("greeting", "fr", 1)
    assert error.problem == "refused by the sandbox: access to attribute 'missing' of a text is not allowed"


@pytest.mark.parametrize(
    "source",
    [
        "{{ venue_name.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ venue_name.upper.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ 'x' * 100000000 }}",
        "{{ 2 ** 100000 }}",
        "{% for i in range(1000000) %}x{% endfor %}",
    ],
)
def test_sandbox_escapes_are_refused(tmp_path: Path, source: str) -> None:
    catalog_yaml = SMALL_CATALOG.replace('{venue_name: "Quick Massy"}', '{venue_name: "Quick Massy", cycler: 1}')
    error = template_error(tmp_path, {"fr/greeting.j2": source}, catalog_yaml)
    assert (error.template, error.language) == ("greeting", "fr")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ venue_name | center(1000000) }}", "the filter 'center' is not allowed"),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "macros are not allowed in message templates"),
        ("{% include 'other.j2' %}", "includes are not allowed in message templates"),
        (
            "{% for a in [1] %}{% for b in [1] %}{% for c in [1] %}x{% endfor %}{% endfor %}{% endfor %}",
            "loops may not nest more than 2 deep in message templates",
        ),
        (
            "{{ self._TemplateReference__context }}",
            "'self' (the template's own internals) is not available in message templates",
        ),
        (
            "{% for i in range(100) %}{% for j in range(100) %}{{ 'x' * 10000 }}{% endfor %}{% endfor %}",
            "may produce up to 100000000 characters; a message template stays under 4000000",
        ),
    ],
)
def test_forbidden_constructs(tmp_path: Path, source: str, problem: str) -> None:
    error = template_error(tmp_path, {"fr/greeting.j2": source})
    # The whole template's size is no single line's fault.
    assert (error.line, error.problem) == (None if problem.startswith("may produce") else 1, problem)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('<a href="https://x">{{ venue_name }}</a>', "the tag <a> is not allowed (only <b> and <i>)"),
        ("<b>{{ venue_name }}", "<b> is never closed on some path through the template's conditions"),
        ("<b>{{ venue_name }}</i>", "</i> closes a tag that is not open (on some path through the template)"),
        ('<b class="x">{{ venue_name }}</b>', "the tag <b> takes no attributes"),
        ("Fish & {{ venue_name }}", "a bare '&' must be written &amp;"),
        (
            "&nbsp;{{ venue_name }}",
            "the entity &nbsp; is not one Telegram knows (use &lt; &gt; &amp; &quot;)",
        ),
    ],
)
def test_messages_must_be_telegram_html(tmp_path: Path, source: str, problem: str) -> None:
    error = template_error(tmp_path, {"fr/greeting.j2": source})
    assert error.problem == problem  # read from the text itself, for every value of the variables


def test_an_empty_message_is_caught_with_the_sample_values(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"fr/greeting.j2": "{% if false %}{{ venue_name }}{% endif %}"})
    assert error.problem == "with the sample variables: the text is empty (Telegram refuses empty messages and labels)"


def test_buttons_are_plain_text(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"fr/button_skip.j2": "<b>Passer</b>"})
    assert error.template == "button_skip"
    assert error.problem == "plain text shows markup as typed: remove '<b>'"


def test_french_must_have_every_template(tmp_path: Path) -> None:
    root = write_templates(tmp_path, SMALL_CATALOG, {"fr/greeting.j2": "Bonjour", "en/button_skip.j2": "Skip"})
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog(root)
    assert (caught.value.template, caught.value.language) == ("button_skip", "fr")
    assert caught.value.problem.startswith("missing: French is the fallback language")


def test_template_file_not_in_catalog(tmp_path: Path) -> None:
    error = template_error(tmp_path, {"en/farewell.j2": "Bye"})
    assert (error.template, error.language, error.problem) == (
        "farewell",
        "en",
        "not declared in catalog.yaml",
    )


def test_with_source_validates_an_edit(catalog: TemplateCatalog) -> None:
    edited = catalog.with_source("greeting", "en", "Hi, welcome to <b>{{ venue_name }}</b>!")
    assert edited.source("greeting", "en") == "Hi, welcome to <b>{{ venue_name }}</b>!"
    assert catalog.source("greeting", "en") != edited.source("greeting", "en")
    with pytest.raises(TemplateError) as caught:
        catalog.with_source("greeting", "en", "Hi {{ customer_name }}")
    assert caught.value.problem.startswith("uses the variable 'customer_name'")


def test_catalog_can_be_built_from_sources() -> None:
    catalog = TemplateCatalog.from_sources([CatalogEntry("hello", "Says hello.")], {("hello", "fr"): "Bonjour"})
    assert catalog.names == ("hello",)
    assert catalog.languages == ("fr",)


def catalog_error(tmp_path: Path, catalog_yaml: str) -> CatalogError:
    root = write_templates(tmp_path, catalog_yaml, {"fr/greeting.j2": "Bonjour"})
    with pytest.raises(CatalogError) as caught:
        TemplateCatalog(root)
    assert caught.value.path == str(root / "catalog.yaml")
    return caught.value


def test_catalog_duplicate_name(tmp_path: Path) -> None:
    error = catalog_error(tmp_path, "greeting:\n  description: a\ngreeting:\n  description: b\n")
    assert (error.line, error.problem) == (3, "duplicate key 'greeting' in the catalog (first on line 1)")


def test_catalog_unknown_key(tmp_path: Path) -> None:
    error = catalog_error(tmp_path, "greeting:\n  description: a\n  variabels: {x: 1}\n")
    assert error.line == 3
    assert error.problem.startswith("unknown key 'variabels' in template 'greeting'")


def test_catalog_missing_description(tmp_path: Path) -> None:
    error = catalog_error(tmp_path, "greeting:\n  variables: {x: 1}\n")
    assert (error.line, error.problem) == (2, "missing key 'description' in template 'greeting'")


def test_catalog_bad_kind(tmp_path: Path) -> None:
    error = catalog_error(tmp_path, "greeting:\n  description: a\n  kind: toast\n")
    assert (error.line, error.problem) == (
        3,
        "kind 'toast' of template 'greeting' must be message, button, notice or printed",
    )


def test_catalog_syntax_error(tmp_path: Path) -> None:
    error = catalog_error(tmp_path, "greeting:\n  description: [a\n")
    assert error.problem.startswith("YAML syntax error: ")
    assert str(error).startswith(f"{error.path}:{error.line}: YAML syntax error")


def test_catalog_file_missing(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as caught:
        TemplateCatalog(tmp_path)
    assert caught.value.line is None
    assert caught.value.problem.startswith("cannot be read: ")


def test_catalog_reads_a_templates_directory_or_its_bot_subdirectory(tmp_path: Path) -> None:
    files = {"fr/greeting.j2": "Bonjour {{ venue_name }}", "fr/button_skip.j2": "Passer"}
    write_templates(tmp_path / "templates" / "bot", SMALL_CATALOG, files)
    assert TemplateCatalog(tmp_path / "templates").names == ("greeting", "button_skip")
    assert TemplateCatalog(tmp_path / "templates" / "bot").names == ("greeting", "button_skip")
    assert TemplateCatalog(default_templates_dir()).names == TemplateCatalog(default_templates_dir() / "bot").names


def test_no_message_sends_people_to_a_terminal_command(catalog: TemplateCatalog) -> None:
    """Customers and staff cannot run `parole …`: no bot message nor web page tells them to (they name who to
    ask, or the bot command that does it). Only operators, who run the deployment, read a terminal command: the
    web pages' line for a deployment without any brand yet (a brand admin always has one)."""
    faults = [
        f"{language}/{name}"
        for name in catalog.names
        for language in catalog.languages
        if catalog.has(name, language) and _TERMINAL.search(catalog.source(name, language))
    ]
    for page in sorted((default_templates_dir() / "web").glob("*.html")):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            if _TERMINAL.search(line) and not re.search(r"not (form\.)?brands %}", line):
                faults.append(f"web/{page.name}:{number}")
    assert faults == []
