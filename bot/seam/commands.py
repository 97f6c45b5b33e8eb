"""The customer's words for the bot on every channel: command names, button data, and the one command parser.

A command is Telegram's grammar, which the other channels' customers may type too: `/name`, an optional
`@target` naming the bot it is for, then whitespace and the arguments (`/start TOKEN`, `/start@bot TOKEN`).
Names are 1-32 letters, digits or underscores; a text that starts with `/` and is not that is a text.
"""

from __future__ import annotations

import re
from typing import Final

START: Final = "start"
STOP_NEWS: Final = "stopnews"
FORGET: Final = "forget"
MY_DATA: Final = "mydata"
PRIVACY_COMMANDS: Final = frozenset({FORGET, MY_DATA})

# Button data the core gives its buttons and reads back, whatever the channel shows them as.
FORGET_BUTTON: Final = "forget:"  # the confirmation under `/forget`: yes or no
FORGET_YES: Final = "forget:yes"
FORGET_NO: Final = "forget:no"
VENUE_BUTTON: Final = "venue:"  # + a short code: a venue picked among those near the customer
NEWS_IN: Final = "news:in:"  # + the feedback id after which the customer opts in to the venue's news
NEWS_OUT: Final = "news:out:"  # + the venue's short code
CONTACT_ME: Final = "contact:"  # + the feedback id whose customer asks to be contacted (under the thanks)
RESOLVED_BUTTON: Final = "solved:"  # the question after a closed ticket: "solved:yes:B/N" or "solved:no:B/N"
RESOLVED_YES: Final = "solved:yes:"
RESOLVED_NO: Final = "solved:no:"

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.DOTALL)


def parse_command(text: str | None, username: str | None) -> tuple[str, str] | None:
    """A command addressed to `username` (or to no one in particular): its lower-case name and its
    arguments, stripped; None for a text that is not a command, or a command for another bot."""
    found = _COMMAND.match(text or "")
    if found is None:
        return None
    name, target, args = found.groups()
    if target and (username is None or target.lower() != username.lower()):
        return None
    return name.lower(), (args or "").strip()


def command_name(text: str | None) -> str | None:
    """The lower-case name of a command, whichever bot it is addressed to; None for a text."""
    found = _COMMAND.match(text or "")
    return found.group(1).lower() if found is not None else None
