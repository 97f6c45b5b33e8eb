"""What the Cloud API accepts in a message, checked before anything is sent (Meta's documented limits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.channels.whatsapp.formatting import to_whatsapp
from bot.errors import Problem, problem
from dialogs.keyboards import NPS_PREFIX, SKIP

TEXT_BODY: Final = 4096
INTERACTIVE_BODY: Final = 1024
BUTTON_TITLE: Final = 20
BUTTON_ID: Final = 256
REPLY_BUTTONS: Final = 3
LIST_BUTTON: Final = 20
LIST_ROWS: Final = 10
ROW_TITLE: Final = 24
ROW_ID: Final = 200
ROW_DESCRIPTION: Final = 72
TEMPLATE_PARAMETER: Final = 1024
WINDOW: Final = 24 * 3600.0  # the customer service window: free-form messages only within it


def typed_back(buttons: Sequence[Sequence[tuple[str, str]]]) -> bool:
    """Whether choices too many for a list can be written under the text and typed back instead: the 0-10
    scores of the NPS question (and its Skip), which the dialog reads typed."""
    return all(data.startswith(NPS_PREFIX) or data == SKIP for row in buttons for _, data in row)


def template_problem(text: str, buttons: tuple[tuple[tuple[str, str], ...], ...], label: bool) -> Problem | None:
    """Why a template, rendered (`text` in Telegram's HTML, its `buttons`), would not fit WhatsApp whole;
    None when it fits. `label`: the template is a button's label, not a message."""
    shown = to_whatsapp(text).strip()
    if label:
        # Up to 20 characters a reply button; beyond, a list row shows 24 as its title and the whole label, up
        # to 72, under it (`bot.channels.whatsapp.customer`): only a longer one would be cut.
        if len(shown) > ROW_DESCRIPTION:
            text = (
                "on WhatsApp a button label shows at most {most} characters (a list row's title "
                "{title} and the whole label under it): this one has {length} and would be cut"
            )
            return problem("whatsapp_label", text, most=ROW_DESCRIPTION, title=ROW_TITLE, length=len(shown))
        return None
    choices = sum(len(row) for row in buttons)
    if choices > LIST_ROWS and not typed_back(buttons):
        text = "on WhatsApp a message offers at most {most} choices, not {choices}"
        return problem("whatsapp_choices", text, most=LIST_ROWS, choices=choices)
    if choices and len(shown) > INTERACTIVE_BODY:
        text = (
            "on WhatsApp a message with buttons holds {most} characters: this one has {length} "
            "and would be split from its buttons"
        )
        return problem("whatsapp_interactive", text, most=INTERACTIVE_BODY, length=len(shown))
    if len(shown) > TEXT_BODY:
        text = "on WhatsApp a message holds {most} characters: this one has {length} and would be split"
        return problem("whatsapp_text", text, most=TEXT_BODY, length=len(shown))
    return None
