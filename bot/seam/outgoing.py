"""What parole says to a customer, and the contract every customer channel keeps.

The core renders its messages once, from the templates (text in the Telegram HTML subset that
`dialogs.markup` allows, buttons as label and data); a channel turns them into its own calls within its
own limits. An answer to an update is built first (`CustomerChannel.answer`), stored with the turn so that
a duplicate delivery can send it again, and only then sent (`CustomerChannel.deliver`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.errors import ParoleError
from bot.seam.inbound import Inbound
from bot.seam.pictures import NotPassed, Picture, PictureSource
from bot.storage.identity import CustomerId

#: Rows of buttons, each a label and the data the core gets back when it is clicked.
Buttons = tuple[tuple[tuple[str, str], ...], ...]
#: A channel's calls that say an answer, as JSON (stored in the chat's outbox).
Answer = tuple[Any, ...]


class Delivered(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the customer blocked the bot (or left the channel): nothing reaches them any more
    FAILED = "failed"  # refused, or given up after retries
    # Not sent for the channel's rule on when a business may write first (WhatsApp's 24-hour window, with
    # no approved template to send instead): a FAILED whose reason the staff room is told.
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent to the customer (their data, as JSON)."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to a customer: rendered text, buttons under it, or a document."""

    text: str
    buttons: Buttons = ()
    replace_clicked: bool = False  # said in place of the message whose button was clicked, where it can be
    document: Document | None = None


class CustomerChannel(Protocol):
    """A channel customers talk to parole on, as the core, the customers' side and the staff side use it."""

    @property
    def name(self) -> str:
        """The channel's name, as in `CustomerId.channel`."""

    @property
    def username(self) -> str | None:
        """The name a command may be addressed to (`/start@name`), if the channel has one."""

    def answer(self, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> Answer:
        """The calls that say `messages` in answer to `inbound` (JSON, to be stored before they are made)."""

    async def deliver(self, answer: Answer) -> None:
        """Make the calls of an answer (again, for an update delivered twice)."""

    async def acknowledge(self, inbound: Inbound, notice: str | None) -> None:
        """Tell the channel a button click was handled, with a short notice for the customer if any."""

    async def edit_clicked(self, inbound: Inbound, *, text: str | None, buttons: Buttons) -> None:
        """Change the message whose button was clicked: its text (None: as it is) and its buttons."""

    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        """Send one message outside an answer (a staff reply, news, the customer's data); `what` names it
        in logs; `from_staff` gives it the staff's priority where the channel has limits to share."""


class UnknownChannel(ParoleError):
    """A customer of a channel this process does not run."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        super().__init__(f"no channel {channel!r} in this process")


class Channels:
    """The customer channels of a process, found by the customer's channel."""

    def __init__(self, channels: Mapping[str, CustomerChannel] | None = None) -> None:
        self._channels = dict(channels or {})

    def add(self, channel: CustomerChannel) -> None:
        self._channels[channel.name] = channel

    def of(self, customer: CustomerId) -> CustomerChannel:
        """The customer's channel; raises UnknownChannel when it is not on in this process."""
        try:
            return self._channels[customer.channel]
        except KeyError:
            raise UnknownChannel(customer.channel) from None

    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        """Send through the customer's channel; FAILED (logged by the caller) when it is not on here."""
        try:
            channel = self.of(customer)
        except UnknownChannel:
            return Delivered.FAILED
        return await channel.send(customer, message, what=what, from_staff=from_staff)

    async def fetch_picture(self, customer: CustomerId, handle: str) -> Picture | NotPassed:
        """The picture `handle` names (`Inbound.media`), from the customer's channel; FAILED when that channel
        hands no pictures over, or is not on in this process."""
        try:
            channel = self.of(customer)
        except UnknownChannel:
            return NotPassed.FAILED
        if not isinstance(channel, PictureSource):
            return NotPassed.FAILED
        return await channel.fetch_picture(handle)
