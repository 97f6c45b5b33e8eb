"""Commands typed to the bot: today's two parsers (the customer chat's and the staff room's, which the
operators' chat shares) pinned on the cases where they differ, before they become one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.channels.telegram.staff_room import parse_command
from bot.conversations.chat import CustomerChat

BOT = "parole_test_bot"
# text -> (what the customer chat read, what the staff room read)
CASES: dict[str, tuple[tuple[str, str] | None, tuple[str, str] | None]] = {
    "/start": (("start", ""), ("start", "")),
    "/start TOKEN": (("start", "TOKEN"), ("start", "TOKEN")),
    "/START@Parole_Test_Bot x": (("start", "x"), ("start", "x")),
    "/start@other_bot x": (None, None),
    "/start  TOKEN  ": (("start", "TOKEN"), ("start", "TOKEN")),
    "hello /start": (None, None),
    "/": (None, None),
    "/ start": (None, None),
    "/@parole_test_bot": (None, None),
    "/template set greeting fr\nBonjour": (
        ("template", "set greeting fr\nBonjour"),
        ("template", "set greeting fr\nBonjour"),
    ),
    # where they differ
    "/start\nTOKEN": (("start\ntoken", ""), ("start", "TOKEN")),
    "/start\tTOKEN": (("start\ttoken", ""), ("start", "TOKEN")),
    "/été": (("été", ""), None),
    "/cmd-x": (("cmd-x", ""), None),
    "/start@": (("start", ""), None),
    "/" + "a" * 40: (("a" * 40, ""), None),
    "/start@parole_test_bot@x": (None, None),
}


@pytest.mark.parametrize("text", CASES)
def test_the_customer_chat_parser(text: str) -> None:
    chat = SimpleNamespace(bot_username=BOT)
    assert CustomerChat._command(chat, text) == CASES[text][0]  # type: ignore[arg-type]


@pytest.mark.parametrize("text", CASES)
def test_the_staff_room_parser(text: str) -> None:
    assert parse_command(text, BOT) == CASES[text][1]
