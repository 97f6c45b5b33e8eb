"""Who a customer is: a channel and that channel's id for them, `(channel, id)`.

In Redis keys and stored records a customer is one string, `CustomerId.key`: the Telegram chat id alone
(as it was before there were other channels, so a store filled then is served as it is), and
`channel:id` on every other channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.errors import InvalidInput, problem

TELEGRAM: Final = "telegram"
WEB: Final = "web"
KIOSK: Final = "kiosk"  # a shared tablet at the counter: one customer id per person, nobody to answer
#: The channels a customer can be on (the export's `channel` field says which one a feedback came from).
CHANNELS: Final = frozenset({TELEGRAM, WEB, KIOSK, "whatsapp"})
_OTHER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class CustomerId:
    """A customer of one channel; `id` is the channel's own (a Telegram chat id, a web visitor's id...)."""

    channel: str
    id: str

    @classmethod
    def telegram(cls, chat_id: int) -> CustomerId:
        return cls(TELEGRAM, str(chat_id))

    @property
    def key(self) -> str:
        """The customer in keys and records: the chat id on Telegram, `channel:id` elsewhere."""
        return self.id if self.channel == TELEGRAM else f"{self.channel}:{self.id}"

    @property
    def chat_id(self) -> int:
        """The Telegram chat id of a Telegram customer."""
        if self.channel != TELEGRAM:
            raise ValueError(f"a {self.channel} customer has no Telegram chat id")
        return int(self.id)

    @classmethod
    def from_key(cls, key: str) -> CustomerId:
        """The customer a stored key names; raises InvalidInput for anything no channel would store."""
        channel, colon, rest = key.partition(":")
        if not colon:
            if not re.fullmatch(r"-?\d{1,20}", key):
                raise InvalidInput(problem("customer_key", "not a customer: {key!r}", key=key[:80]))
            return cls(TELEGRAM, key)
        if channel == TELEGRAM or channel not in CHANNELS or not _OTHER_ID.fullmatch(rest):
            raise InvalidInput(problem("customer_key", "not a customer: {key!r}", key=key[:80]))
        return cls(channel, rest)

    @classmethod
    def of(cls, channel: str, id: str) -> CustomerId:
        """A customer of `channel`, checked as `from_key` checks a stored one."""
        found = cls.from_key(id if channel == TELEGRAM else f"{channel}:{id}")
        if found.channel != channel:
            raise InvalidInput(
                problem("customer_of_channel", "not a customer of {channel}: {id!r}", channel=channel, id=id[:80])
            )
        return found

    def __str__(self) -> str:
        return self.key
