"""A customer's "contact me" under the thanks (`contact:<feedback id>`): the feedback's `contact` mark.

The button is offered where the ticket policy in force opens a ticket for it (`TicketPolicy.contact`). Pressed,
it marks the feedback and tells the staff notifier (a `contact` event in the brand's stream), once: pressed
again or delivered again, nothing more. The notifier opens a ticket the policy had found needing no answer
and updates its card (`bot.staff.notifier`); a feedback without its ticket yet gets one as the mark says.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.staff.policy import CONTACT_EVENT, PolicyStore
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.scripts import Lua, execute, queue
from bot.storage.store import feedback_brand, redis_text
from dialogs.types import FeedbackStatus

FIELD = "contact"  # in the feedback's hash: "1" once the customer asked to be contacted

# KEYS[1] the feedback's hash, KEYS[2] the brand's event stream (one brand: one slot). ARGV[1] the feedback id,
# ARGV[2] the status of a complete feedback, ARGV[3] the event's type. Marks a complete feedback once and tells
# the notifier: 1 marked now, 0 marked before, -1 not complete.
_MARK = Lua("""
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then return -1 end
if redis.call('HSETNX', KEYS[1], 'contact', '1') == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'type', ARGV[3], 'feedback', ARGV[1])
return 1
""")


class ContactRequests:
    """Marks the feedback whose customer asked to be contacted."""

    def __init__(self, redis: Redis, policies: PolicyStore) -> None:
        self.redis = redis
        self.policies = policies

    async def ask(self, customer: CustomerId, feedback_id: str) -> str | None:
        """Mark the customer's complete feedback as to be contacted (once); the venue's name, or None for a
        feedback that is not theirs (or no longer is), not complete, or whose venue's policy no longer offers it."""
        brand = await feedback_brand(self.redis, customer, feedback_id)
        if brand is None:
            return None
        key = keys.feedback(brand, feedback_id)
        venue, venue_name = await self.redis.hmget(key, ["venue", "venue_name"])
        if not venue or not (await self.policies.in_force(brand, redis_text(venue))).contact:
            return None
        mark = _MARK.call([key, keys.events(brand)], [feedback_id, FeedbackStatus.COMPLETE.value, CONTACT_EVENT])
        async with self.redis.pipeline(transaction=False) as pipe:
            queue(pipe, mark)
            [marked] = await execute(pipe)
        return redis_text(venue_name or "") if int(marked) >= 0 else None
