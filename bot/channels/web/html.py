"""The bot's messages as HTML for a page: the subset of Telegram's HTML the templates may use is already
HTML (`<b>`, `<i>`, character references; `dialogs.markup`), so it is kept as it is; anything else is
shown as text. Whatever a template or a customer wrote, nothing in a message can become markup or script."""

from __future__ import annotations

import html

from dialogs.markup import html_problem


def web_html(text: str) -> str:
    """Safe HTML of a rendered message."""
    return text if html_problem(text) is None else html.escape(text)
