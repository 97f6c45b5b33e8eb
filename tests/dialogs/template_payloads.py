"""Templates an attacker or a careless admin might save as the greeting, each with the reason it is refused.

Issue 15's payloads (bombs that allocated gigabytes or ran for minutes, faults hidden behind a condition
that the sample values never take) and the classic Jinja2 sandbox escapes. `tests/dialogs/test_bounds.py`
checks each is refused with its reason; `bench/bench_templates.py` measures the validation's worst time and
memory over them.
"""

from __future__ import annotations

from typing import Final

#: (what it tries, the greeting's source, a part of the reason it is refused)
PAYLOADS: Final[tuple[tuple[str, str, str], ...]] = (
    # Allocation and time bombs.
    ("ljust bomb", "{{ ''.ljust(10**9) }}", "calling 'ljust' is not allowed"),
    ("format bomb", "{{ '{:>500000000}'.format('') }}", "calling 'format' is not allowed"),
    ("power chain", "{{ 9 ** 9 ** 9 ** 9 }}", "'**' is not allowed"),
    ("big-integer product", "{{ 99999999 * 99999999 * 99999999 * 99999999 }}", "beyond ±1e+15"),
    ("huge constant", "{{ 10000000000000000000000 }}", "numbers in message templates stay within"),
    ("repeat bomb", "{{ 'x' * 999999999 }}", "builds a text of up to 999999999 characters"),
    ("list bomb", "{{ [venue_name] * 100000000 }}", "builds a list of up to 100000000 items"),
    ("percent format", "{{ '%0999999999d' % 1 }}", "'%' formatting is not allowed"),
    ("replace amplifier", "{{ venue_name|replace('', venue_name)|replace('', venue_name) }}", "builds a text of up"),
    ("doubling sets", "{% set a = venue_name %}" + "{% set a = a ~ a %}" * 12 + "{{ a }}", "builds a text of up"),
    ("join amplifier", "{{ range(100)|join(venue_name * 1000) }}", "builds a text of up"),
    ("recursive loop", "{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}", "recursive loops are not allowed"),
    ("range of a computed size", "{% for i in range(10**9) %}x{% endfor %}", "'**' is not allowed"),
    ("long range", "{% for i in range(1000000) %}x{% endfor %}", "range() is limited to 100 numbers"),
    (
        "nested loops",
        "{% for a in range(99) %}{% for b in range(99) %}{{ 'x' * 9999 }}{% endfor %}{% endfor %}",
        "may produce up to",
    ),
    ("loop over a text", "{% for c in venue_name * 1000 %}{{ c }}{% endfor %}", "a loop goes over a list"),
    ("deep nesting", "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested"),
    ("huge source", "Bonjour " * 4000, "the source is 32000 characters long"),
    # Faults behind a condition that the sample values never take.
    (
        "bomb behind a venue's name",
        "{% if venue_name == 'Quick Orly' %}{{ venue_name * 99999999 }}{% endif %}Bonjour",
        "builds a text of up",
    ),
    (
        "unclosed tag behind a condition",
        "{% if venue_name == 'Quick Orly' %}<b>{% endif %}Bonjour",
        "<b> is never closed",
    ),
    ("stray closing tag behind a condition", "<b>Bonjour{% if brand_name == 'x' %}</b>{% endif %}", "is never closed"),
    (
        "tg://user link behind a condition",
        "{% if venue_name == 'Quick Orly' %}<a href=\"tg://user?id=1\">x</a>{% endif %}Bonjour",
        "(tg://) are not allowed",
    ),
    ("tg://user link as text", "Bonjour tg://user?id=42", "(tg://) are not allowed"),
    ("3,000 emoji", "😀" * 3000, "more than Telegram's 4096"),
    ("long text for a long venue name", "{{ venue_name }} " + "a" * 4000, "more than Telegram's 4096"),
    ("unclosed tag in a loop", "{% for c in [1, 2] %}<b>{% endfor %}</b>", "a loop's body must close every tag"),
    # Classic sandbox escapes.
    ("__class__", "{{ ''.__class__.__mro__ }}", "refused by the sandbox: access to attribute '__class__'"),
    ("__subclasses__", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "calling '__subclasses__' is not allowed"),
    ("method globals", "{{ venue_name.upper.__globals__ }}", "access to attribute 'upper'"),
    ("cycler", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "'cycler' that the catalog does not declare"),
    ("lipsum", "{{ lipsum.__globals__ }}", "'lipsum' that the catalog does not declare"),
    ("self", "{{ self._TemplateReference__context }}", "'self' (the template's own internals)"),
    ("attr filter", "{{ venue_name|attr('__class__') }}", "the filter 'attr' is not allowed"),
    ("format filter", "{{ '%s'|format(venue_name) }}", "the filter 'format' is not allowed"),
    ("safe filter", "{{ venue_name|safe }}", "the filter 'safe' is not allowed"),
    ("autoescape off", "{% autoescape false %}{{ venue_name }}{% endautoescape %}", "autoescape blocks are not"),
    ("macro", "{% macro m() %}x{% endmacro %}{{ m() }}", "macros are not allowed"),
    ("include", "{% include 'greeting.j2' %}", "includes are not allowed"),
    ("method on a variable", "{{ venue_name.upper() }}", "calling 'upper' is not allowed"),
    ("dict method", "{{ {}.__class__ }}", "access to attribute '__class__' of a table"),
    ("loop.cycle", "{% for c in [1] %}{{ loop.cycle('a', 'b') }}{% endfor %}", "calling 'cycle' is not allowed"),
    ("set block", "{% set x %}{{ venue_name }}{% endset %}{{ x }}", "{% set %}…{% endset %} blocks are not"),
)
