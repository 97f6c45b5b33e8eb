"""What live template and flow edits cost the bot, against the same bot without them, in the same run.

Run:  .venv/bin/python bench/bench_live.py [--updates 5000] [--venues 50]

What it prints:
- per update, the conversation read (`Store.load_chat`: one pipelined round trip, now with the overrides
  revision in it) then the kit lookup (`LiveDialogs.kit`), against the baseline of the same read without
  the revision and a fixed kit (what the bot did before live edits): microseconds per update, and the
  Redis round trips and commands per update of each;
- the first update after an edit: the scope's overrides read (one round trip) and its kit built (the
  catalog validated with the override), in milliseconds, for a venue with an override of its own and for
  one that shares its brand's kit;
- a save from an admin: validation plus the compare-and-set, in milliseconds.

Redis: a private redis-server on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.editing.editor import Admin, Editor  # noqa: E402
from bot.editing.in_force import EngineSettings, LiveDialogs, ScopeKit  # noqa: E402
from bot.editing.overrides import OverrideStore, Scope  # noqa: E402
from bot.storage import keys  # noqa: E402
from bot.storage.embedded import EmbeddedRedis, free_port  # noqa: E402
from bot.storage.identity import CustomerId  # noqa: E402
from bot.storage.store import Store  # noqa: E402
from dialogs.catalog import TemplateCatalog  # noqa: E402
from dialogs.flow import default_flow_path, load_flow  # noqa: E402
from dialogs.render import MessageRenderer  # noqa: E402
from dialogs.types import Conversation, VenueRef  # noqa: E402

OPERATOR = Admin("bench")


class CountingRedis(Redis):
    """Counts round trips (a pipeline is one) and commands."""

    round_trips = 0
    commands = 0

    async def execute_command(self, *args, **options):  # type: ignore[no-untyped-def]
        CountingRedis.round_trips += 1
        CountingRedis.commands += 1
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction=True, shard_hint=None):  # type: ignore[no-untyped-def]
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        async def counted(raise_on_error: bool = True):  # type: ignore[no-untyped-def]
            CountingRedis.round_trips += 1
            CountingRedis.commands += len(pipe.command_stack)
            return await execute(raise_on_error)

        pipe.execute = counted  # type: ignore[method-assign]
        return pipe


async def baseline_read(redis: Redis, chat_id: int) -> Conversation | None:
    """The conversation read as the bot did it before live edits: no revision in the pipeline."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.chat(CustomerId.telegram(chat_id)))
        (raw,) = await pipe.execute()
    return Conversation.from_json(json.loads(raw)) if raw else None


async def run(updates: int, venue_count: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        server = EmbeddedRedis(Path(directory), port=free_port(), appendonly=False)
        server.start()
        redis = CountingRedis.from_url(server.url, decode_responses=True)
        try:
            await measure(redis, updates, venue_count)
        finally:
            await redis.aclose()
            server.stop()


async def measure(redis: Redis, updates: int, venue_count: int) -> None:
    store = Store(redis)
    await store.add_brand("quick", "Quick")
    venues = [await store.add_venue("quick", f"Quick {n}") for n in range(venue_count)]
    catalog = TemplateCatalog()
    settings = EngineSettings()
    default = ScopeKit(MessageRenderer(catalog), settings.engine(load_flow(default_flow_path(), catalog)), "")
    editor = Editor(OverrideStore(redis), store, catalog)
    live = LiveDialogs(editor, default, settings)
    refs = [VenueRef("quick", v.code, v.name, "Quick") for v in venues]
    for n, ref in enumerate(refs):
        await store.save_turn(
            CustomerId.telegram(n), Conversation(venue=ref), (), duplicate_window=60, conversation_timeout=60
        )

    saves = []
    for n, text in enumerate(("Salut {{ venue_name }} !", "Bonjour {{ venue_name }} !")):
        started = time.perf_counter()
        await editor.set_template(OPERATOR, Scope("quick"), "greeting", "fr", text, expected=n)
        saves.append((time.perf_counter() - started) * 1000)
    venue_scope = Scope("quick", venues[0].code)
    await editor.set_template(OPERATOR, venue_scope, "thanks", "fr", "Merci {{ venue_name }}", expected=0)

    async def first_update(ref: VenueRef) -> float:
        live._scopes.clear()  # as after an edit: the next update reads and builds again
        live._by_content.clear()
        started = time.perf_counter()
        await live.kit(ref, await editor.overrides.revision())
        return (time.perf_counter() - started) * 1000

    own = statistics.median([await first_update(refs[0]) for _ in range(5)])
    shared = statistics.median([await first_update(refs[1]) for _ in range(5)])

    async def timed(live_edits: bool) -> tuple[float, float, float]:
        CountingRedis.round_trips = CountingRedis.commands = 0
        started = time.perf_counter()
        for n in range(updates):
            chat = n % len(refs)
            if live_edits:
                snapshot = await store.load_chat(CustomerId.telegram(chat))
                assert snapshot.conversation is not None
                kit = await live.kit(snapshot.conversation.venue, snapshot.revision)
            else:
                conversation = await baseline_read(redis, chat)
                assert conversation is not None
                kit = default
            assert kit.engine is not None
        elapsed = time.perf_counter() - started
        return elapsed / updates * 1e6, CountingRedis.round_trips / updates, CountingRedis.commands / updates

    await timed(True)  # warm every venue's kit at this revision
    base_us, base_trips, base_commands = await timed(False)
    live_us, live_trips, live_commands = await timed(True)
    print(f"updates: {updates} over {venue_count} venues (1 venue with its own override, the brand with one)")
    row = "{:<28} {:8.1f} µs/update, {:.2f} round trips, {:.2f} commands"
    print(row.format("baseline (fixed templates):", base_us, base_trips, base_commands))
    print(row.format("live edits (revision read):", live_us, live_trips, live_commands))
    print(f"first update after an edit: {own:6.1f} ms (venue with its own override)")
    print(f"first update after an edit: {shared:6.1f} ms (venue sharing its brand's kit)")
    print(f"a save (validation + compare-and-set): {statistics.median(saves):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--venues", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.updates, args.venues))


if __name__ == "__main__":
    main()
