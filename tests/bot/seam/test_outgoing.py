"""The customer channels of a process: a customer is reached through their own channel; one whose channel
does not run here is not reached, and the sender is told (nothing is sent anywhere else)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.seam.inbound import Inbound
from bot.seam.outgoing import Answer, Buttons, Channels, CustomerChannel, Delivered, OutgoingMessage, UnknownChannel
from bot.storage.identity import CustomerId


class Recording:
    """A channel that keeps what it was asked to send."""

    def __init__(self, name: str) -> None:
        self._name = name
        self.sent: list[tuple[CustomerId, OutgoingMessage, bool]] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def username(self) -> str | None:
        return None

    def answer(self, inbound: Inbound, messages: Sequence[OutgoingMessage]) -> Answer:
        return tuple(m.text for m in messages)

    async def deliver(self, answer: Answer) -> None:
        return None

    async def acknowledge(self, inbound: Inbound, notice: str | None) -> None:
        return None

    async def edit_clicked(self, inbound: Inbound, *, text: str | None, buttons: Buttons) -> None:
        return None

    async def send(
        self, customer: CustomerId, message: OutgoingMessage, *, what: str, from_staff: bool = False
    ) -> Delivered:
        self.sent.append((customer, message, from_staff))
        return Delivered.SENT


async def test_each_customer_is_reached_through_their_channel() -> None:
    telegram, web = Recording("telegram"), Recording("web")
    channels = Channels({"telegram": telegram})
    channels.add(web)
    one: CustomerChannel = telegram  # the protocol is what the core and the staff side hold
    assert channels.of(CustomerId.telegram(7)) is one
    message = OutgoingMessage("Bonjour", ((("Oui", "yes"),),))
    assert await channels.send(CustomerId.of("web", "v1"), message, what="test", from_staff=True) is Delivered.SENT
    assert web.sent == [(CustomerId.of("web", "v1"), message, True)] and telegram.sent == []


async def test_a_customer_whose_channel_does_not_run_here_is_not_reached() -> None:
    telegram = Recording("telegram")
    channels = Channels({"telegram": telegram})
    whatsapp = CustomerId.of("whatsapp", "33612345678")
    with pytest.raises(UnknownChannel, match="whatsapp"):
        channels.of(whatsapp)
    assert await channels.send(whatsapp, OutgoingMessage("x"), what="test") is Delivered.FAILED
    assert telegram.sent == []
