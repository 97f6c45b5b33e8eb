"""`python -m emulator --port 8081`: serve the Bot API emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from emulator.server import DEFAULT_TOKEN, BotApiEmulator


async def _serve(host: str, port: int, token: str, bot_username: str) -> None:
    emulator = BotApiEmulator(token=token, bot_username=bot_username)
    await emulator.start(host, port)
    try:
        print(f"Bot API emulator for @{emulator.bot_username} at {emulator.url}", flush=True)
        print(f"base URL: {emulator.base_url}", flush=True)
        print(f"token:    {emulator.token}", flush=True)
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="parole_test_bot")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token, args.bot_username))
    return 0


if __name__ == "__main__":
    sys.exit(main())
