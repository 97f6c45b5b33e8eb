"""Runs `parole serve --webhook` (the same code as `python -m bot serve --webhook`) with Redis counters, for
`bench_journey.py`.

A round trip is one write of commands to the Redis socket followed by reading their replies: redis-py's asyncio
client makes each one through `AbstractConnection.send_packed_command`, once per command sent alone and once
per pipeline (all its commands packed in one write), connection handshakes and health-check PINGs included;
the hot path's lean connection (`bot.storage.lane`) makes each one through `RedisLane.execute`. Commands are
counted where redis-py packs each one (`AbstractConnection.pack_command`) and in each `RedisLane.execute`.

Both are counted twice: for the whole process, and for the webhook path alone, i.e. the work done in the
context of a webhook request (`bot.channels.telegram.webhook.receive_update` is wrapped to mark that context; tasks it
starts inherit the mark). The difference is what the process does in the background (the abandon sweeper, the staff
notifier, ...). The webhook requests the process received are counted too (`updates`): with several bot
processes behind one URL, each one's share of the updates.

On SIGUSR1 the launcher writes its counters as JSON to the file named by `--stats` (atomically), so the
benchmark reads them before and after its load:

    python bench/parole_launcher.py --stats FILE [--profile FILE] -- serve --webhook --host H --port P

with the bot's configuration in the environment (`PAROLE_TELEGRAM_TOKEN`, `PAROLE_REDIS_URL`, ...).
`--profile` writes a cProfile of the whole run (which slows the bot down: not for the figures).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any

from aiohttp import web
from redis.asyncio.connection import AbstractConnection

import bot.channels.telegram.webhook
from bot.botapi.outbound import Outbound
from bot.cli.main import main as parole_main
from bot.storage.lane import Command, RedisLane

IN_UPDATE: ContextVar[bool] = ContextVar("in_update", default=False)
COUNTS = {"round_trips": 0, "commands": 0, "update_round_trips": 0, "update_commands": 0, "updates": 0}
WEBHOOK_TAGGED = False
OUTBOUNDS: list[Outbound] = []


def keep_outbounds() -> None:
    """Keep the process's `Outbound`s, to report how often answers reserved slots and how many went unused."""
    init = Outbound.__init__

    def kept(self: Outbound, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        OUTBOUNDS.append(self)

    Outbound.__init__ = kept  # type: ignore[method-assign]


def outbound_counts() -> dict[str, int]:
    """Answers' slot reservations (round trips) and slots dropped unused, over the process's `Outbound`s;
    nothing where `Outbound` does not count them (an older version)."""
    counts: dict[str, int] = {}
    for name in ("reservations", "dropped"):
        if OUTBOUNDS and all(hasattr(outbound, name) for outbound in OUTBOUNDS):
            counts[f"outbound_{name}"] = sum(getattr(outbound, name) for outbound in OUTBOUNDS)
    return counts


def count_redis() -> None:
    """Wrap redis-py's asyncio connection so that each round trip and each command is counted."""
    send = AbstractConnection.send_packed_command
    pack = AbstractConnection.pack_command

    async def counted_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        COUNTS["round_trips"] += 1
        if IN_UPDATE.get():
            COUNTS["update_round_trips"] += 1
        await send(self, *args, **kwargs)

    def counted_pack(self: AbstractConnection, *args: Any) -> Any:
        COUNTS["commands"] += 1
        if IN_UPDATE.get():
            COUNTS["update_commands"] += 1
        return pack(self, *args)

    AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
    AbstractConnection.pack_command = counted_pack  # type: ignore[method-assign]

    lane_execute = RedisLane.execute

    async def counted_execute(
        self: RedisLane, commands: Sequence[Command], *, raise_on_error: bool = True
    ) -> list[Any]:
        COUNTS["round_trips"] += 1
        COUNTS["commands"] += len(commands)
        if IN_UPDATE.get():
            COUNTS["update_round_trips"] += 1
            COUNTS["update_commands"] += len(commands)
        return await lane_execute(self, commands, raise_on_error=raise_on_error)

    RedisLane.execute = counted_execute  # type: ignore[method-assign]


def tag_webhook_path() -> None:
    """Mark the context of each webhook request, so the counters can tell the webhook path from the rest."""
    global WEBHOOK_TAGGED
    original: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = getattr(
        bot.channels.telegram.webhook, "receive_update", None
    )
    if original is None:  # renamed: everything is counted for the whole process only
        return

    async def tagged(request: web.Request) -> web.StreamResponse:
        COUNTS["updates"] += 1
        token = IN_UPDATE.set(True)
        try:
            return await original(request)
        finally:
            IN_UPDATE.reset(token)

    bot.channels.telegram.webhook.receive_update = tagged  # type: ignore[assignment]
    WEBHOOK_TAGGED = True


def dump_stats_on_sigusr1(path: Path) -> None:
    def dump(signum: int, frame: FrameType | None) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(
            json.dumps({**COUNTS, **outbound_counts(), "webhook_tagged": WEBHOOK_TAGGED, "pid": os.getpid()})
        )
        os.replace(tmp, path)

    signal.signal(signal.SIGUSR1, dump)


def main() -> int:
    parser = argparse.ArgumentParser(description="parole with Redis counters")
    parser.add_argument("--stats", type=Path, required=True, help="where SIGUSR1 writes the counters (JSON)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the whole run here")
    parser.add_argument("parole_args", nargs=argparse.REMAINDER, help="-- then the arguments of `parole`")
    args = parser.parse_args()
    parole_args = args.parole_args[1:] if args.parole_args[:1] == ["--"] else args.parole_args
    count_redis()
    keep_outbounds()
    tag_webhook_path()
    dump_stats_on_sigusr1(args.stats)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        return parole_main(parole_args)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    sys.exit(main())
