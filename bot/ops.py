"""Operations: `/healthz` and `/metrics` (Prometheus) of a bot process, and logs that carry the update and
ticket they are about, as text or as JSON lines (`PAROLE_LOG_FORMAT`)."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage import keys

# The update being handled and the ticket being worked on, for every log line written meanwhile.
UPDATE_ID: ContextVar[int | None] = ContextVar("parole_update_id", default=None)
TICKET: ContextVar[str | None] = ContextVar("parole_ticket", default=None)
LOG_FORMATS = ("text", "json")
STREAM_GROUPS = (keys.ANALYSIS_GROUP, keys.NOTIFY_GROUP)


# --- logs -------------------------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Adds `update_id` and `ticket` (from the context, unless the call gave them) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        update_id = getattr(record, "update_id", None)
        if update_id is None:
            update_id = UPDATE_ID.get()
        ticket = getattr(record, "ticket", None)
        if ticket is None:
            ticket = TICKET.get()
        about = [f"update={update_id}"] if update_id is not None else []
        about += [f"ticket={ticket}"] if ticket is not None else []
        record.__dict__.update(update_id=update_id, ticket=ticket, about=f" [{' '.join(about)}]" if about else "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, update_id, ticket, exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("update_id", "ticket"):
            value = getattr(record, field, None)
            if value is not None:
                data[field] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


@contextlib.contextmanager
def about_ticket(brand: str, number: int) -> Iterator[None]:
    """Within the block, log lines carry the ticket (`B#N`)."""
    token = TICKET.set(f"{brand}#{number}")
    try:
        yield
    finally:
        TICKET.reset(token)


def configure_logging(level: str, fmt: str) -> None:
    """Log to standard error at `level`, as `text` or `json` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s%(about)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# --- metrics ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamState:
    """A consumer group's reading of the feedback stream: entries not read yet, read but not acknowledged."""

    group: str
    lag: int
    pending: int


async def stream_state(redis: Redis) -> list[StreamState]:
    """The analysis and notify groups on the feedback stream (none before the first feedback)."""
    try:
        groups = await redis.xinfo_groups(keys.FEEDBACK_STREAM)
    except RedisError as exc:
        if "no such key" in str(exc).lower():
            return []
        raise
    found = {str(g["name"]): g for g in groups}
    return [
        StreamState(name, int(found[name].get("lag") or 0), int(found[name].get("pending") or 0))
        for name in STREAM_GROUPS
        if name in found
    ]


class RedisFigures:
    """The figures read from Redis at each scrape: what every parole process's `/metrics` shows."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._redis_figures: list[GaugeMetricFamily | CounterMetricFamily] = []
        self.registry.register(_Snapshot(self))

    async def refresh(self, redis: Redis) -> None:
        """Read the figures that live in Redis: stream lag and pending, open tickets per brand."""
        lag = GaugeMetricFamily("parole_stream_lag", "Feedback stream entries a group has not read", labels=["group"])
        pending = GaugeMetricFamily(
            "parole_stream_pending", "Feedback stream entries read but not acknowledged", labels=["group"]
        )
        for state in await stream_state(redis):
            lag.add_metric([state.group], state.lag)
            pending.add_metric([state.group], state.pending)
        tickets = GaugeMetricFamily("parole_open_tickets", "Tickets neither closed nor spam", labels=["brand"])
        brands = sorted(str(b) for b in await redis.smembers(keys.BRANDS))
        if brands:
            async with redis.pipeline(transaction=False) as pipe:
                for brand in brands:
                    pipe.zcard(keys.open_tickets(brand))
                counts = await pipe.execute()
            for brand, count in zip(brands, counts, strict=True):
                tickets.add_metric([brand], int(count))
        given_up = CounterMetricFamily(
            "parole_cards_given_up", "Cards Telegram refused at every try, given up (the tickets stay open)"
        )
        given_up.add_metric([], int(await redis.get(keys.CARDS_GIVEN_UP) or 0))
        mail_failed = CounterMetricFamily(
            "parole_mail_failed", "E-mails (alerts, digests) the SMTP server refused or could not take"
        )
        mail_failed.add_metric([], int(await redis.get(keys.MAIL_FAILED) or 0))
        self._redis_figures = [lag, pending, tickets, given_up, mail_failed]

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Metrics(RedisFigures):
    """The counters of one bot process, and the figures read from Redis at each scrape."""

    def __init__(self) -> None:
        super().__init__()
        self.updates = Counter(
            "parole_updates", "Telegram updates received by the webhook, by outcome", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "parole_update_seconds", "Time from receiving an update to answering the webhook",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=self.registry,
        )  # fmt: skip
        self.errors = Counter(
            "parole_update_errors", "Updates whose handling failed, by cause", ["cause"], registry=self.registry
        )
        self.web_requests = Counter(
            "parole_web_requests", "Web chat requests, by page and outcome", ["page", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.web_latency = Histogram(
            "parole_web_request_seconds", "Time to answer a web chat request (live connections aside)", ["page"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=self.registry,
        )  # fmt: skip
        self.web_live = Gauge(
            "parole_web_live_connections", "Open live connections of web pages", registry=self.registry
        )


class _Snapshot(Collector):
    def __init__(self, metrics: RedisFigures) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self.metrics._redis_figures
