"""A web customer's transcript: what they and the bot said, as events in Redis, shown by any `parole serve`.

The transcript is a list of JSON events (a message added, or one replaced in place), numbered in order.
Each write is one script call that numbers the events, appends them, trims the list, and publishes
them on the customer's live channel (every process's `LiveHub` passes them to the pages open there). A
write may carry a mark (`echo:U`, `answer:U` for update U): the same mark twice writes nothing, so a form
posted twice, or an answer said again after a duplicate post, shows once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.storage import keys
from bot.storage.identity import CustomerId

KEEP_EVENTS = 400  # the transcript keeps its last events: a page shows at most that much history
KEEP_SECONDS = 30 * 24 * 3600  # a transcript nobody wrote to for 30 days goes

# KEYS: log, sequence, marks; ARGV: live channel, mark ("" for none), seconds kept, events kept, events...
_APPEND = """
if ARGV[2] ~= '' and redis.call('SADD', KEYS[3], ARGV[2]) == 0 then return {} end
local written = {}
for i = 5, #ARGV do
  local event = cjson.decode(ARGV[i])
  event['n'] = redis.call('INCR', KEYS[2])
  if event['op'] == 'add' then event['id'] = event['n'] end
  local text = cjson.encode(event)
  redis.call('RPUSH', KEYS[1], text)
  redis.call('PUBLISH', ARGV[1], text)
  written[#written + 1] = text
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[4]), -1)
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], tonumber(ARGV[3])) end
return written
"""


@dataclass
class ShownMessage:
    """A message as the page shows it now: the last version of it."""

    id: int
    author: str  # "bot" or "customer"
    html: str  # safe HTML (`bot.channels.web.html.web_html`) for the bot's, plain text for the customer's
    buttons: list[list[list[str]]] = field(default_factory=list)  # rows of [label, data]
    file: dict[str, str] | None = None  # {"token", "filename"} of a document to download


def event(op: str, author: str, html: str, buttons: Any = (), *, target: int | None = None, file: Any = None) -> str:
    """One event as JSON; `target` is the message a `replace` replaces."""
    return json.dumps(
        {"op": op, "from": author, "html": html, "buttons": [list(map(list, row)) for row in buttons],
         "target": target, "file": file},
        ensure_ascii=False,
    )  # fmt: skip


class Transcript:
    """Every web customer's transcript in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._append = redis.register_script(_APPEND)

    async def append(self, customer: CustomerId, events: Sequence[str], *, mark: str = "") -> list[dict[str, Any]]:
        """Write events (JSON from `event`) in order; what was written, numbered (nothing for a known mark)."""
        if not events:
            return []
        script_keys = [keys.web_log(customer), keys.web_sequence(customer), keys.web_marks(customer)]
        args: list[str | int] = [keys.web_live(customer), mark, KEEP_SECONDS, KEEP_EVENTS, *events]
        written = await self._append(keys=script_keys, args=args)
        return [json.loads(item) for item in written]

    async def events(self, customer: CustomerId, *, after: int = 0) -> list[dict[str, Any]]:
        """The events kept, oldest first, those numbered after `after` only."""
        rows = [json.loads(row) for row in await self.redis.lrange(keys.web_log(customer), 0, -1)]
        return [row for row in rows if int(row.get("n", 0)) > after]

    async def messages(self, customer: CustomerId) -> tuple[list[ShownMessage], int]:
        """The messages as shown now (replacements applied) and the number of the last event."""
        return fold(await self.events(customer))


def fold(events: Sequence[dict[str, Any]]) -> tuple[list[ShownMessage], int]:
    """Apply events in order: an `add` adds a message, a `replace` changes its text and buttons."""
    shown: dict[int, ShownMessage] = {}
    last = 0
    for item in events:
        last = max(last, int(item["n"]))
        buttons = item.get("buttons") or []  # Redis' cjson writes an empty list as {}
        if not isinstance(buttons, list):
            buttons = []
        if item["op"] == "add":
            shown[int(item["id"])] = ShownMessage(
                int(item["id"]), item["from"], item["html"], buttons, item.get("file")
            )
        elif item["op"] == "replace" and item.get("target") in shown:
            message = shown[int(item["target"])]
            if item.get("html") is not None:
                message.html = item["html"]
            message.buttons = buttons
    return list(shown.values()), last
