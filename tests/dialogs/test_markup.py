"""fit_html: any message cut to Telegram's limit, counted as Telegram counts, and still valid HTML."""

from __future__ import annotations

import html

import pytest

from dialogs.markup import ELLIPSIS, MAX_MESSAGE_UNITS, fit_html, html_problem, visible_length
from dialogs.telegram_html import parse_html


def _check(cut: str, limit: int = MAX_MESSAGE_UNITS) -> None:
    assert html_problem(cut) is None, cut[-80:]
    parsed = parse_html(cut)  # as Telegram parses it: no error, and within the limit
    assert parsed.length <= limit
    assert visible_length(cut) <= limit


def test_a_message_that_fits_is_unchanged() -> None:
    text = "<b>Ticket 1</b>\n" + "a" * 4000
    assert fit_html(text) == text


@pytest.mark.parametrize(
    "customer",
    [
        "a" * 5000,
        "😀" * 2000 + "x" * 200,  # 2,200 characters, 4,200 UTF-16 units: over the limit Telegram counts
        "&<>\"'" * 2000,  # entities near the cut are kept whole or left out
        "mot " * 1500,
    ],
)
def test_a_long_customer_text_is_cut_with_a_visible_ellipsis(customer: str) -> None:
    text = f"<b>Ticket 7</b> · <i>{html.escape(customer)}</i>\n<b>End</b>"
    cut = fit_html(text)
    _check(cut)
    assert ELLIPSIS in cut
    assert cut.startswith("<b>Ticket 7</b> · <i>")
    assert cut.endswith(f"{ELLIPSIS}</i>")  # the tag open at the cut is closed


def test_a_surrogate_pair_is_never_split() -> None:
    cut = fit_html("😀" * 10, limit=6)  # 5 units of text: two emoji (4 units), then the ellipsis
    assert cut == "😀😀" + ELLIPSIS
    _check(cut, 6)


def test_an_entity_is_never_split() -> None:
    cut = fit_html("&amp;" * 10, limit=4)
    assert cut == "&amp;&amp;&amp;" + ELLIPSIS
    _check(cut, 4)


def test_nested_tags_are_closed_in_order() -> None:
    cut = fit_html("<b>bold <i>" + "x" * 50 + "</i></b>", limit=20)
    assert cut.endswith(f"{ELLIPSIS}</i></b>")
    _check(cut, 20)
