"""Commands typed to the bot: the one parser, on the cases where the customer chat's and the staff room's
(which the operators' chat shared) used to differ. It reads Telegram's grammar, as the staff room's did: a
name of 1-32 letters, digits or underscores, an optional `@bot`, then any whitespace and the arguments."""

from __future__ import annotations

import pytest

from bot.seam.commands import command_name, parse_command

BOT = "parole_test_bot"
# text -> (what the customer chat read, what the staff room read): the one parser reads the second
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
def test_the_one_parser_reads_commands_as_the_staff_room_did(text: str) -> None:
    assert parse_command(text, BOT) == CASES[text][1]


def test_a_command_for_another_bot_is_named_but_not_parsed() -> None:
    """The operators' commands are told apart before the bot's name is checked (`updates.for_operators`)."""
    assert parse_command("/templates@other_bot", BOT) is None
    assert command_name("/templates@other_bot") == "templates"
    assert command_name("/Templates\nlist") == "templates"
    assert command_name("templates") is None and command_name("/été") is None


def test_without_a_name_on_the_channel_a_command_for_a_bot_is_not_one() -> None:
    assert parse_command("/start TOKEN", None) == ("start", "TOKEN")
    assert parse_command("/start@parole_test_bot TOKEN", None) is None
