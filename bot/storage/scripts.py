"""Lua scripts sent by their SHA1 (`EVALSHA`), not their text, in the command lists and pipelines of `bot/`.

A script call is a plain command (`Lua.call`), so it goes in the same round trip as the writes around it. A
server that does not have the script (restarted, `SCRIPT FLUSH`, a new replica promoted) answers NOSCRIPT to
that call only (the pipelines are not transactions): `run_commands` and `execute` send those calls again with
the script's text (`EVAL`, which also caches it on the server), in one more round trip. A cluster pipeline
gets the text at once (redis-py's cluster pipeline cannot route `EVALSHA` to a node that lacks the script).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import NoScriptError

from bot.storage.cluster import is_cluster
from bot.storage.lane import Command, RedisLane

_TEXTS: dict[str, str] = {}  # SHA1 → text of every script made with `Lua`, to send the text where it is missing


@dataclass(frozen=True, slots=True)
class Lua:
    """A Lua script, called by its SHA1."""

    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        sha = hashlib.sha1(self.text.encode(), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", sha)
        _TEXTS[sha] = self.text

    def call(self, keys: Sequence[str], args: Sequence[str | int | float]) -> tuple[str | int | float, ...]:
        """The command that runs the script (`EVALSHA`)."""
        return ("EVALSHA", self.sha, len(keys), *keys, *args)


def with_text(command: Command) -> Command:
    """An `EVALSHA` of a known script as an `EVAL` with its text; any other command as it is."""
    if command and command[0] == "EVALSHA":
        text = _TEXTS.get(str(command[1]))
        if text is not None:
            return ("EVAL", text, *command[2:])
    return command


async def run_commands(redis: Redis, lane: RedisLane | None, commands: Sequence[Command]) -> list[Any]:
    """Run the commands in one round trip (the lane's, else a pipeline), and the script calls the server
    refused for want of the script once more with their text (after the batch: inside a MULTI/EXEC, the
    transaction's other writes are done by then); the first error reply, at any depth, raises."""
    replies = await _send(redis, lane, commands)
    slots = _slots(commands, replies)
    refused = [i for i, (where, at) in enumerate(slots) if isinstance(where[at], NoScriptError)]
    if refused:
        again = await _send(redis, lane, [with_text(commands[i]) for i in refused])
        for i, reply in zip(refused, again, strict=True):
            where, at = slots[i]
            where[at] = reply
    return _raised(replies)


def _slots(commands: Sequence[Command], replies: list[Any]) -> list[tuple[list[Any], int]]:
    """Where each command's reply is: its place in `replies`, or in EXEC's array for a command queued
    between MULTI and EXEC."""
    slots = [(replies, i) for i in range(len(replies))]
    start: int | None = None
    for i, command in enumerate(commands):
        name = str(command[0]).upper()
        if name == "MULTI":
            start = i
        elif name == "EXEC":
            if start is not None and isinstance(replies[i], list):
                slots[start + 1 : i] = [(replies[i], n) for n in range(i - start - 1)]
            start = None
    return slots


async def _send(redis: Redis, lane: RedisLane | None, commands: Sequence[Command]) -> list[Any]:
    if lane is not None:
        return await lane.execute(commands, raise_on_error=False)
    cluster = is_cluster(redis)
    async with redis.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*(with_text(command) if cluster else command))
        return list(await pipe.execute(raise_on_error=False))


def queue(pipe: Pipeline, command: Command) -> None:
    """Queue a command (a script call among them) in a redis-py pipeline run by `execute`."""
    pipe.execute_command(*(with_text(command) if isinstance(pipe, ClusterPipeline) else command))


async def execute(pipe: Pipeline) -> list[Any]:
    """Run a plain pipeline (not a transaction) whose script calls were queued with `queue`; the calls the
    server refused for want of the script go again with their text; the first error reply raises."""
    stack = [args for args, _ in pipe.command_stack] if not isinstance(pipe, ClusterPipeline) else []
    replies = list(await pipe.execute(raise_on_error=False))
    refused = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if refused:
        for i in refused:
            pipe.execute_command(*with_text(stack[i]))
        for i, reply in zip(refused, await pipe.execute(raise_on_error=False), strict=True):
            replies[i] = reply
    return _raised(replies)


def _raised(replies: list[Any]) -> list[Any]:
    pending = [replies]
    while pending:
        for reply in pending.pop():
            if isinstance(reply, Exception):
                raise reply
            if isinstance(reply, list):
                pending.append(reply)
    return replies
