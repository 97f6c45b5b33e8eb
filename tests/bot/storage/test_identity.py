"""Who a customer is: `(channel, id)`, written in keys as the Telegram chat id alone or `channel:id`; anything
no channel would store is refused."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.storage.identity import CustomerId


def test_a_telegram_customer_is_their_chat_id_as_before_channels() -> None:
    camille = CustomerId.telegram(1002)
    assert (camille.channel, camille.id, camille.key, str(camille), camille.chat_id) == (
        "telegram", "1002", "1002", "1002", 1002,
    )  # fmt: skip
    assert CustomerId.from_key("1002") == camille
    assert CustomerId.from_key("-5") == CustomerId.telegram(-5)


@pytest.mark.parametrize("channel", ["web", "kiosk", "whatsapp"])
def test_another_channels_customer_carries_the_channel(channel: str) -> None:
    visitor = CustomerId.of(channel, "a1B2_c3-D4")
    assert visitor.key == f"{channel}:a1B2_c3-D4"
    assert CustomerId.from_key(visitor.key) == visitor
    with pytest.raises(ValueError, match="no Telegram chat id"):
        _ = visitor.chat_id


@pytest.mark.parametrize(
    "key",
    [
        "",
        "abc",
        "12a",
        "1" * 21,
        "telegram:42",
        "sms:42",
        "web:",
        "web:a b",
        "web:" + "x" * 65,
        "web:é",
        ":42",
        "web:a:b",
    ],
)
def test_what_no_channel_stores_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="not a customer"):
        CustomerId.from_key(key)


def test_a_customer_of_one_channel_is_not_read_as_anothers() -> None:
    with pytest.raises(InvalidInput):
        CustomerId.of("telegram", "web:abc")
    with pytest.raises(InvalidInput):
        CustomerId.of("web", "")
