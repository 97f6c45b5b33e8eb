"""What the terminal tells a person besides the command's output: one line on standard error, in French."""

from __future__ import annotations

import sys

from bot.refusals import say
from dialogs.errors import Problem

__all__ = ["notice"]


def notice(what: Problem) -> None:
    """Say `what` on standard error, in the terminal's language (French)."""
    print(say(what), file=sys.stderr)
