"""What a customer did, as the conversation core reads it, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.identity import CustomerId


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did: a message (a text, a location, or something else) or a button clicked.

    A text that is a command (`/start TOKEN`, `/forget`) stays a text here: the core reads commands with
    `bot.conversations.commands.parse_command`, addressed to the channel's `CustomerChannel.username`.
    """

    update_id: int  # the channel's id of this delivery: one seen again is a duplicate delivery
    customer: CustomerId
    language_code: str | None  # the language the customer's app or browser says, if any
    message_id: int | None = None  # the customer's message, where the channel numbers them
    text: str | None = None
    kind: str | None = None  # a message without text: what it is ("photo", "sticker", "voice"...), else "other"
    location: tuple[float, float] | None = None  # (latitude, longitude)
    # A photo the customer sent, as the staff rooms' bot can send it again (Telegram's file_id of its largest size);
    # None where the channel cannot send it as it is (a WhatsApp image is `kind="photo"`, or a text with its caption).
    photo: str | None = None
    # A picture (or a file that may be one) that the channel fetches to pass it on, through its `PictureSource`
    # (`bot.seam.pictures`): WhatsApp's media id of an image or a document; None elsewhere.
    media: str | None = None
    button_data: str | None = None  # a button clicked: its data...
    button_id: str | None = None  # ...the channel's handle to acknowledge the click (None: nothing to acknowledge)
    clicked_message_id: int | None = None  # ...and the message it is under, when that message can still be edited

    @property
    def is_button(self) -> bool:
        return self.button_data is not None
