"""E-mail to a brand's admins who asked for it: an alert at once for a low rating (1-2) or a complaint, and a
daily digest per venue, through the SMTP server of `PAROLE_SMTP_*` (nothing is sent without one). An address
gets the whole brand's, or only some venues'. `parole mail` and the web admin's e-mail page share `RecipientStore`.

Sending never holds the notifier up: each message goes in a task of its own, through smtplib in a thread. A
failure (refused, unreachable, timed out) is logged and counted (`parole:mail:failed`, `parole_mail_failed` in
`/metrics`), not retried: each alert and digest is marked sent before it goes, so it goes once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.config import SmtpSettings
from bot.errors import InvalidInput, problem
from bot.formats import DEFAULT_TIME_ZONE, Formats
from bot.staff.hours import HoursStore
from bot.staff.tickets import Ticket
from bot.storage import keys
from bot.storage.store import Store, redis_strings, redis_text
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

log = logging.getLogger(__name__)

LOW_RATING = 2  # an alert for ratings up to this one
DIGEST_HOUR = 7  # a venue's digest of a day goes the next day from this local hour
SENT_MARK_SECONDS = 3 * 24 * 3600
MAX_RECIPIENTS = 200  # addresses a brand at most: every alert goes to each
MAX_NAME_LENGTH = 80
TEST_MAIL_SECONDS = 60  # a brand's test e-mails: one in this many seconds at most
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True, slots=True)
class Recipient:
    """An admin who gets a brand's e-mail: alerts, digests, or both."""

    address: str
    name: str = ""
    alerts: bool = True
    digest: bool = True
    venues: tuple[str, ...] = ()  # the venues whose e-mail they get; none: every venue of the brand

    def covers(self, venue: str) -> bool:
        """Whether they get the e-mail of this venue."""
        return not self.venues or venue in self.venues

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address, "name": self.name, "alerts": self.alerts, "digest": self.digest,
            "venues": list(self.venues),
        }  # fmt: skip


def check_address(text: str) -> str:
    address = text.strip()
    if len(address) > 254 or not _ADDRESS.match(address):
        raise InvalidInput(
            problem("mail_address", "{text!r} is not an e-mail address (write e.g. name@example.com)", text=text)
        )
    return address


def check_name(text: str) -> str:
    """The name the e-mails greet, which also goes in their `To` header: one line, not too long."""
    name = " ".join(text.split())
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(problem("mail_name_long", "a name has at most {most} characters", most=MAX_NAME_LENGTH))
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput(problem("mail_name_control", "a name cannot hold control characters"))
    return name


#: Add an address unless it is there already (and `replace` is not asked) or the brand has its fill of them.
_ADD: Final = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if ARGV[4] ~= '1' then return 'duplicate' end
elseif redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 'full'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'saved'
"""


class RecipientStore:
    """The brands' admins' e-mail addresses (`keys.mail_recipients`), checked before they are kept."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)

    async def add(self, brand: str, recipient: Recipient, *, replace: bool = True) -> Recipient:
        """Keep an address with what it gets; again (with `replace`) changes what it gets, else is refused.

        Raises:
            InvalidInput: a bad address or name, nothing to get, the address already there (without
                `replace`), or `MAX_RECIPIENTS` addresses already.
            NotFound: one of the venues does not exist.
        """
        address, name = check_address(recipient.address), check_name(recipient.name)
        venues = tuple(sorted({v.strip() for v in recipient.venues} - {""}))
        checked = Recipient(address, name, recipient.alerts, recipient.digest, venues)
        if not (checked.alerts or checked.digest):
            raise InvalidInput(problem("mail_nothing", "choose the alerts, the daily digest or both"))
        store = Store(self.redis)
        for venue in venues:
            await store.get_venue(brand, venue)
        data = {"name": checked.name, "alerts": checked.alerts, "digest": checked.digest, "venues": list(venues)}
        saved = json.dumps(data, ensure_ascii=False)
        arguments: list[str | int] = [address.lower(), saved, MAX_RECIPIENTS, "1" if replace else "0"]
        outcome = redis_text(await self._add(keys=[keys.mail_recipients(brand)], args=arguments))
        if outcome == "duplicate":
            text = "the address {address} is listed already: remove it first to change what it gets"
            raise InvalidInput(problem("mail_duplicate", text, address=address))
        if outcome == "full":
            text = "a brand has at most {most} addresses: remove one first"
            raise InvalidInput(problem("mail_too_many", text, most=MAX_RECIPIENTS))
        return checked

    async def remove(self, brand: str, address: str) -> bool:
        return bool(await self.redis.hdel(keys.mail_recipients(brand), address.strip().lower()))

    async def get(self, brand: str, address: str) -> Recipient | None:
        """The listed address (any case), or None."""
        raw = await self.redis.hget(keys.mail_recipients(brand), address.strip().lower())
        return None if raw is None else _recipient(address.strip().lower(), redis_text(raw))

    async def list(self, brand: str) -> list[Recipient]:
        rows = redis_strings(await self.redis.hgetall(keys.mail_recipients(brand)))
        return [_recipient(address, raw) for address, raw in sorted(rows.items())]

    async def claim_test(self, brand: str) -> int:
        """Take the brand's turn to send a test e-mail: 0, or the seconds until the next turn."""
        key = keys.mail_test(brand)
        if await self.redis.set(key, 1, nx=True, ex=TEST_MAIL_SECONDS):
            return 0
        return max(int(await self.redis.ttl(key)), 1)


def _recipient(address: str, raw: str) -> Recipient:
    data = json.loads(raw)
    venues = tuple(str(v) for v in data.get("venues", ()))  # kept before venues: the whole brand
    return Recipient(address, str(data.get("name", "")), bool(data["alerts"]), bool(data["digest"]), venues)


class MailFailure(StrEnum):
    """Why the SMTP server did not take a message."""

    LOGIN = "login"  # it refused PAROLE_SMTP_USER and PAROLE_SMTP_PASSWORD
    REFUSED = "refused"  # it refused the message or its recipient
    UNREACHABLE = "unreachable"  # nobody answered at PAROLE_SMTP_HOST's port in time, or the line dropped


def _failure(exc: smtplib.SMTPException | OSError) -> MailFailure:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailFailure.LOGIN
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError) or not isinstance(
        exc, smtplib.SMTPException
    ):
        return MailFailure.UNREACHABLE
    return MailFailure.REFUSED


class Mailer:
    """Sends e-mail through the configured SMTP server; never raises, counts what failed."""

    def __init__(self, settings: SmtpSettings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.failed = 0

    def message(self, to: Recipient, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr(("parole", self.settings.sender))
        message["To"] = formataddr((to.name, to.address)) if to.name else to.address
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        message.set_content(body, charset="utf-8")
        return message

    async def send(self, message: EmailMessage) -> bool:
        """Send one message; False (logged and counted) when the server refused it or could not be reached."""
        return await self.attempt(message) is None

    async def attempt(self, message: EmailMessage) -> MailFailure | None:
        """Send one message; why not (logged and counted) when the server refused it or could not be reached."""
        try:
            await asyncio.to_thread(self._send_now, message)
        except (smtplib.SMTPException, OSError) as exc:
            self.failed += 1
            log.warning("e-mail %r to %s not sent: %s", message["Subject"], message["To"], exc)
            try:
                await self.redis.incr(keys.MAIL_FAILED)
            except Exception:  # Redis down too: the log line is what is left
                log.warning("e-mail failure not counted in Redis")
            return _failure(exc)
        return None

    def _send_now(self, message: EmailMessage) -> None:
        smtp = self.settings
        context = ssl.create_default_context()
        server: smtplib.SMTP
        if smtp.security == "tls":
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with server:
            if smtp.security == "starttls":
                server.starttls(context=context)
            if smtp.username is not None and smtp.password is not None:
                server.login(smtp.username, smtp.password.reveal())
            server.send_message(message)


class MailAlerts:
    """The notifier's e-mail: alerts for new and analysed feedback, digests once a venue's day is over."""

    def __init__(self, mailer: Mailer, store: Store, renderer: MessageRenderer, *, web_url: str) -> None:
        self.mailer = mailer
        self.store = store
        self.redis = store.redis
        self.recipients = RecipientStore(store.redis)
        self.hours = HoursStore(store.redis)
        self.renderer = renderer
        self.web_url = web_url.rstrip("/")
        self._tasks: set[asyncio.Task[bool]] = set()
        self._next_digests = 0.0

    async def feedback(self, ticket: Ticket, row: dict[str, str], *, analysed: bool) -> None:
        """Alert the brand's admins of a low rating (when its ticket opens) or a complaint (when analysed)."""
        rating = int(row.get("rating") or 0)
        low = 0 < rating <= LOW_RATING
        complaint = row.get("kind") == "complaint"
        if not (low if not analysed else complaint and not low):
            return  # a low rating was told when its ticket opened; a complaint when its analysis came
        people = [r for r in await self.recipients.list(ticket.brand) if r.alerts and r.covers(ticket.venue)]
        if not people or not await self._first(ticket.brand, f"alert:{ticket.feedback}"):
            return
        zone = await self._zone(ticket.brand, ticket.venue)
        variables = {
            "venue_name": ticket.venue_name, "rating": rating, "complaint": complaint, "ticket": ticket.number,
            "reason": row.get("reason", ""), "suggestion": row.get("suggestion", ""),
            "moment": Formats("fr", zone).moment(float(row.get("created_at") or ticket.created_at)),
            "link": f"{self.web_url}/ticket/{ticket.brand}/{ticket.number}",
        }  # fmt: skip
        self._send_all(people, "mail_alert_subject", "mail_alert", variables)

    async def digests(self, now: float) -> int:
        """Send the digests of venues whose day ended (from `DIGEST_HOUR` the next day, their time), once a
        minute at most; how many went."""
        if now < self._next_digests:
            return 0
        self._next_digests = now + 60
        sent = 0
        for brand in sorted(redis_text(b) for b in await self.redis.smembers(keys.BRANDS)):
            readers = [r for r in await self.recipients.list(brand) if r.digest]
            for venue in await self.store.list_venues(brand):
                people = [r for r in readers if r.covers(venue.code)]
                if not people:
                    continue
                zone = await self._zone(brand, venue.code)
                local = dt.datetime.fromtimestamp(now, ZoneInfo(zone))
                if local.hour < DIGEST_HOUR:
                    continue
                day = local.date() - dt.timedelta(days=1)
                figures = await self._day(brand, venue.code, day, zone)
                if figures is None or not await self._first(brand, f"digest:{venue.code}:{day.isoformat()}"):
                    continue
                variables = {
                    **figures, "venue_name": venue.name, "link": f"{self.web_url}/inbox?brand={brand}",
                    "day": Formats("fr", zone).long_day(dt.datetime(day.year, day.month, day.day, 12,
                                                                    tzinfo=ZoneInfo(zone)).timestamp()),
                }  # fmt: skip
                self._send_all(people, "mail_digest_subject", "mail_digest", variables)
                sent += 1
        return sent

    async def drain(self) -> None:
        """Wait for the e-mails under way (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _day(self, brand: str, venue: str, day: dt.date, zone: str) -> dict[str, Any] | None:
        """A venue's figures of a local day: None when it had no feedback."""
        start = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).timestamp()
        end = (dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)) + dt.timedelta(days=1)).timestamp()
        ids = [redis_text(i) for i in await self.redis.zrangebyscore(keys.feedbacks(brand), start, f"({end}")]
        async with self.redis.pipeline(transaction=False) as pipe:
            for feedback_id in ids:
                pipe.hmget(keys.feedback(brand, feedback_id), ["venue", "rating", "kind", "suggestion", "ticket"])
            rows = [[redis_text(v) if v is not None else "" for v in row] for row in await pipe.execute()]
        mine = [row for row in rows if row[0] == venue and row[1]]
        if not mine:
            return None
        ratings = [int(row[1]) for row in mine]
        tickets = [int(row[4]) for row in mine if row[4]]
        async with self.redis.pipeline(transaction=False) as pipe:
            for number in tickets:
                pipe.hget(keys.ticket(brand, number), "status")
            statuses = [redis_text(s) if s else "" for s in await pipe.execute()]
        return {
            "count": len(mine),
            "average": Formats("fr", zone).decimal(sum(ratings) / len(ratings), 1),
            "low": sum(1 for r in ratings if r <= LOW_RATING),
            "complaints": sum(1 for row in mine if row[2] == "complaint"),
            "suggestions": sum(1 for row in mine if row[3]),
            "unanswered": sum(1 for s in statuses if s == "open"),
        }

    async def _zone(self, brand: str, venue: str) -> str:
        hours = await self.hours.get(brand, venue)
        return hours.time_zone if hours is not None else DEFAULT_TIME_ZONE

    async def _first(self, brand: str, what: str) -> bool:
        return bool(await self.redis.set(keys.mail_sent(brand, what), 1, nx=True, ex=SENT_MARK_SECONDS))

    def _send_all(self, people: list[Recipient], subject: str, body: str, variables: dict[str, Any]) -> None:
        for person in people:
            message = rendered_message(self.mailer, self.renderer, person, (subject, body), variables)
            task = asyncio.create_task(self.mailer.send(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def rendered_message(
    mailer: Mailer, renderer: MessageRenderer, to: Recipient, templates: tuple[str, str], variables: dict[str, Any]
) -> EmailMessage:
    """An e-mail to one person, its subject and body from templates (`name` is theirs), in French."""
    named = {**variables, "name": to.name}
    subject, body = templates
    return mailer.message(
        to,
        renderer.render(MessagePart(subject, named), "fr").strip(),
        renderer.render(MessagePart(body, named), "fr").strip() + "\n",
    )


def trial_message(
    mailer: Mailer, renderer: MessageRenderer, to: Recipient, *, brand_name: str, venue_names: list[str], by: str
) -> EmailMessage:
    """The test e-mail the web admin sends to a listed address: who asked, and what that address gets."""
    variables = {"brand_name": brand_name, "venues": venue_names, "alerts": to.alerts, "digest": to.digest, "by": by}
    return rendered_message(mailer, renderer, to, ("mail_test_subject", "mail_test"), variables)
