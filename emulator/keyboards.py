"""Telegram's rules for keyboards beyond their JSON shape: labels, callback data, URLs, sizes."""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import bad_request

JsonDict = dict[str, Any]

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
# The fields of an inline button that give it an action; exactly one is needed.
_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL = re.compile(r"(?:https?://[^\s/?#]+\.[^\s/?#]+|https?://(?:localhost|\d+\.\d+\.\d+\.\d+)(?::\d+)?|tg://\w+)\S*")


def check_reply_markup(markup: JsonDict | None) -> None:
    """Raise Telegram's 400 error for a keyboard it would refuse."""
    if markup is None:
        return
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        for row in markup["keyboard"]:
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise bad_request("keyboard button text must be non-empty")


def _check_inline_keyboard(rows: list[list[JsonDict]]) -> None:
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            if not str(button.get("text", "")).strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [name for name in _ACTIONS if name in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not _URL.fullmatch(str(button["url"])):
                raise bad_request(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
