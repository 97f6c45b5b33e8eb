"""Templates bounded by construction: what they may do is decided from their text, for every variable value."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from dialogs.bounds import check_bounds, shape_of
from dialogs.catalog import CatalogEntry, TemplateCatalog, parse_limits
from dialogs.errors import CatalogError, TemplateError
from dialogs.markup import utf16_len, visible_length
from dialogs.render import MessageRenderer
from dialogs.sandbox import make_environment, parse_template
from dialogs.types import MessagePart
from tests.dialogs.template_payloads import PAYLOADS

#: Generous for a shared machine: the bombs took 16-120 s and 0.5-2 GB before.
WORST_SECONDS = 1.0
WORST_BYTES = 32 * 1024 * 1024


@pytest.mark.parametrize(("what", "source", "reason"), PAYLOADS, ids=[payload[0] for payload in PAYLOADS])
def test_every_payload_is_refused_with_its_reason_quickly_and_in_little_memory(
    catalog: TemplateCatalog, what: str, source: str, reason: str
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(TemplateError) as refused:
            catalog.with_source("greeting", "fr", source)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason in refused.value.problem, what
    assert (refused.value.template, refused.value.language) == ("greeting", "fr")
    assert seconds < WORST_SECONDS and peak < WORST_BYTES, (what, seconds, peak)
    assert "Bonjour" in catalog.source("greeting", "fr")  # the catalog itself is unchanged


@pytest.mark.parametrize(
    "source",
    [
        "{% if venue_name == 'Quick Orly' %}<b>Orly</b>{% else %}<i>{{ venue_name }}</i>{% endif %} !",
        "{% set names = {'Quick Orly': 'Orly'} %}Bonjour {{ names.get(venue_name, venue_name)|upper }}",
        "{% for i in range(3) %}<b>{{ loop.index }}</b>{% if not loop.last %}, {% endif %}{% endfor %} !",
        "{{ venue_name|truncate(40) }} ({{ (venue_name|length / 2)|round(1) }}) {{ brand_name|replace('a', 'ä') }}",
        "{{ venue_name ~ ' · ' ~ brand_name if brand_name else venue_name }} {{ '⭐' * 3 }}",
        "{% if venue_name is string and brand_name|length > 3 %}<b>{{ venue_name|title }}</b>{% endif %}Bonjour",
    ],
)
def test_ordinary_templates_pass(catalog: TemplateCatalog, source: str) -> None:
    assert catalog.with_source("greeting", "fr", source).source("greeting", "fr") == source


def test_the_bound_holds_for_the_longest_values(catalog: TemplateCatalog) -> None:
    """Rendered with the longest venue and brand names, the shipped greeting stays within its computed bound."""
    entry = catalog.entry("greeting")
    env = make_environment(html=True)
    shapes = {name: shape_of(sample, name, catalog.limits) for name, sample in entry.variables.items()}
    tree = parse_template(env, catalog.source("greeting", "fr"), name="greeting", language="fr")
    bound = check_bounds(tree, shapes, name="greeting", language="fr", html=True, limit=4096)
    longest = {"venue_name": "😀" * 50, "brand_name": "&" * 100}  # 100 UTF-16 units each, & escaped to &amp;
    rendered = MessageRenderer(catalog).render(MessagePart("greeting", longest), "fr")
    assert utf16_len("😀" * 50) == 100
    assert 100 < visible_length(rendered) <= bound.fit <= 4096


def test_a_number_is_bounded_only_where_limits_say(tmp_path: Path) -> None:
    entries = [CatalogEntry("recap", "Stars.", {"rating": 4, "ticket": 1042})]
    limits = parse_limits("rating: {min: 1, max: 5}\n", source="limits.yaml")
    stars = TemplateCatalog.from_sources(entries, {("recap", "fr"): "{{ '⭐' * rating }}"}, limits)
    assert stars.source("recap", "fr") == "{{ '⭐' * rating }}"
    with pytest.raises(TemplateError) as refused:
        TemplateCatalog.from_sources(entries, {("recap", "fr"): "{{ '⭐' * ticket }}"}, limits)
    assert refused.value.problem == "builds a text of up to 1000000000 characters; at most 100000"


def test_a_loop_goes_only_over_declared_lists_within_their_limit() -> None:
    entries = [CatalogEntry("list", "Items.", {"items": [{"name": "a"}], "count": 3})]
    limits = parse_limits("items: {max: 30, cut: true}\nname: {max: 50}\n", source="limits.yaml")
    source = "{% for item in items %}<b>{{ item.name }}</b>\n{% endfor %}"
    TemplateCatalog.from_sources(entries, {("list", "fr"): source}, limits)
    for bad, problem in [
        ("{% for item in items %}{{ item.size }}{% endfor %}", "the items have no field 'size' (fields: name)"),
        ("{% for n in count %}x{% endfor %}", "a loop goes over a list the catalog declares, not over a number"),
        ("{{ items }}", "prints a list as Python would"),
        (
            "{% for item in items %}{% for c in range(100) %}{{ item.name * 1000 }}{% endfor %}{% endfor %}",
            "up to 150000000",
        ),
    ]:
        with pytest.raises(TemplateError) as refused:
            TemplateCatalog.from_sources(entries, {("list", "fr"): bad}, limits)
        assert problem in refused.value.problem


def test_cut_variables_count_empty_against_telegrams_limit_but_whole_against_the_size_bound() -> None:
    entries = [CatalogEntry("card", "Card.", {"reason": "Froid."})]
    limits = parse_limits("reason: {max: 4096, cut: true}\n", source="limits.yaml")
    card = TemplateCatalog.from_sources(entries, {("card", "fr"): "<b>Pourquoi :</b> {{ reason }}"}, limits)
    assert card.has("card", "fr")
    with pytest.raises(TemplateError) as refused:
        source = "{% for i in range(100) %}{% for j in range(100) %}{{ reason }}{% endfor %}{% endfor %}"
        TemplateCatalog.from_sources(entries, {("card", "fr"): source}, limits)
    assert refused.value.problem.startswith("may produce up to 40960000 characters")


def test_limits_file_errors_name_the_line() -> None:
    with pytest.raises(CatalogError) as caught:
        parse_limits("venue_name: {max: 100}\nrating: {max: 1, min: 5}\n", source="limits.yaml")
    assert caught.value.line == 2 and "below its min" in caught.value.problem
    with pytest.raises(CatalogError) as caught:
        parse_limits("venue_name: {most: 100}\n", source="limits.yaml")
    assert caught.value.line == 1
