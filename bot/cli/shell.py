"""`parole shell`: chat with the bot as a customer in the terminal, offline, as `rasa shell` does.

The same pieces as `parole demo` (embedded Redis, the Bot API emulator, the real bot in webhook mode, the
analysis worker in its own process), but the person at the keyboard writes the customer's lines, taps the
buttons by their number, and answers as the venue's staff with `/staff`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final, TextIO

from bot.cli.demo import add_sample_venue, offline_settings
from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Settings
from bot.storage.embedded import EmbeddedRedis, free_port
from dialogs.french import chez, de
from emulator import ApiCall, BotApiEmulator, EmulatedChat, EmulatedUser, EmulatorError, RecordedMessage

HELP: Final = """\
Écrivez ce que dit le client ; un nombre touche le bouton de ce numéro sous le dernier message du bot.
  /staff TEXTE        l'équipe répond au ticket le plus récent (comme /reply N TEXTE dans son salon)
  /staff /COMMANDE    une commande dans le salon de l'équipe (/tickets, /close N, /help…)
  /photo [LÉGENDE]    le client envoie une photo
  /quit               (ou Ctrl-D) arrête ; les commandes du bot (/start, /cancel, /help…) vont au bot
"""
STAFF_PREFIX: Final = "/staff"


class Shell:
    """The conversation on screen: what the customer types, what the bot says, in the customer's chat and
    in the staff room, printed in the order the Bot API emulator received it."""

    def __init__(self, out: TextIO, emulator: BotApiEmulator, bot: RunningBot, brand: str) -> None:
        self.out = out
        self.emulator = emulator
        self.bot = bot
        self.brand = brand
        self.customer: EmulatedUser = emulator.add_user("Camille", language_code="fr")
        self.staff: EmulatedUser = emulator.add_user("Julien", language_code="fr")
        self.room: EmulatedChat = emulator.add_group("Équipe Quick Massy", admins=[self.staff])
        self._printed = 0
        self._print_lock = asyncio.Lock()

    async def open_room(self) -> None:
        """Link the staff room, as the staff would with the code `parole staff invite` prints."""
        invite = await self.bot.staff.rooms.invite(self.brand)
        await self.emulator.send_text(self.staff, invite.command, chat=self.room)
        await self.flush()

    async def flush(self) -> None:
        """Let the bot finish what it is doing, then print the calls not printed yet."""
        await self.emulator.settle(timeout=30.0)
        await self.print_new()

    async def print_new(self) -> None:
        async with self._print_lock:
            calls = self.emulator.calls
            for call in calls[self._printed :]:
                self._print_call(call)
            self._printed = len(calls)
            self.out.flush()

    def _print_call(self, call: ApiCall) -> None:
        result = call.result if call.ok else None
        if call.method in ("sendMessage", "editMessageText", "sendPhoto") and isinstance(result, dict):
            chat_id = int(result.get("chat", {}).get("id", 0))
            where = "(salon de l'équipe) " if chat_id == self.room.id else ""
            edited = "(modifié) " if call.method == "editMessageText" else ""
            text = str(result.get("text") or result.get("caption") or "").replace("\n", "\n     ")
            self.out.write(f"🤖 {where}{edited}{text}\n")
            rows = (result.get("reply_markup") or {}).get("inline_keyboard") or []
            labels = [str(button.get("text", "")) for row in rows for button in row]
            if labels and chat_id == self.customer.id:
                self.out.write("   " + "  ".join(f"[{n}] {label}" for n, label in enumerate(labels, 1)) + "\n")
            elif labels:
                self.out.write("   " + "  ".join(f"[{label}]" for label in labels) + "\n")
        elif call.method == "answerCallbackQuery" and call.params.get("text"):
            self.out.write(f"🤖 (notification) {call.params['text']}\n")

    def _choices(self) -> list[tuple[str, str]]:
        """The buttons of the bot's last message in the customer's chat that send the bot something (a link's
        button opens a page: not a choice here), in reading order."""
        messages = self.emulator.bot_messages(self.customer.id)
        last: RecordedMessage | None = messages[-1] if messages else None
        rows = ((last.reply_markup or {}).get("inline_keyboard") or []) if last is not None else []
        return [
            (str(b.get("text", "")), str(b["callback_data"])) for row in rows for b in row if b.get("callback_data")
        ]

    async def handle(self, line: str) -> bool:
        """Act on one line typed at the prompt; False to stop. What Telegram itself would not send (a text
        longer than a message) is refused with the reason, and the chat goes on."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        try:
            await self._act(text)
        except EmulatorError as refused:
            self.out.write(f"(shell) Telegram n'enverrait pas cela : {refused}\n")
        await self.flush()
        return True

    async def _act(self, text: str) -> None:
        if text == STAFF_PREFIX or text.startswith(STAFF_PREFIX + " "):
            await self._as_staff(text.removeprefix(STAFF_PREFIX).strip())
        elif text == "/photo" or text.startswith("/photo "):
            caption = text.removeprefix("/photo").strip() or None
            self.out.write(f"👤 envoie une photo{' : ' + caption if caption else ''}\n")
            await self.emulator.send_media(self.customer, "photo", caption=caption)
        elif text.isdigit() and 1 <= int(text) <= len(choices := self._choices()):
            label, data = choices[int(text) - 1]
            self.out.write(f"👤 touche [{label}]\n")
            message = self.emulator.bot_messages(self.customer.id)[-1]
            await self.emulator.click(self.customer, message, data)
        else:
            await self.emulator.send_text(self.customer, text)

    async def _as_staff(self, text: str) -> None:
        if not text:
            self.out.write("(équipe) que répond-elle ? /staff TEXTE, ou /staff /COMMANDE\n")
            return
        if not text.startswith("/"):
            number = await self._newest_ticket()
            if number is None:
                self.out.write(
                    "(équipe) pas encore de fiche dans le salon de l'équipe : notez la visite, puis attendez sa fiche\n"
                )
                return
            text = f"/reply {number} {text}"
        self.out.write(f"👤 (salon de l'équipe) Julien : {text}\n")
        await self.emulator.send_text(self.staff, text, chat=self.room)

    async def _newest_ticket(self) -> int | None:
        numbers = [int(f["ticket"]) async for f in self.bot.store.iter_feedback(self.brand) if f.get("ticket")]
        return max(numbers, default=None)


async def run_shell(settings: Settings, *, analysis: bool = True, out: TextIO, lines: TextIO) -> int:
    """Chat as a customer of the sample venue until /quit or the end of `lines`."""
    with tempfile.TemporaryDirectory(prefix="parole-shell-") as tmp:
        async with BotApiEmulator() as emulator:
            port = free_port()
            shell_settings = offline_settings(settings, emulator, port, Path(tmp))
            async with running_bot(
                shell_settings,
                listen=Listen("127.0.0.1", port),
                notify_every=0.5,
                analysis_wait=20.0 if analysis else 0,
            ) as bot:
                brand, venue = await add_sample_venue(bot.store)
                redis_url = settings.redis_url or EmbeddedRedis(shell_settings.data_dir / "redis").url
                async with _worker(redis_url, on=analysis):
                    shell = Shell(out, emulator, bot, brand)
                    await shell.open_room()
                    out.write(f"parole shell : vous êtes Camille, cliente {chez(venue.name)} ({brand}).\n{HELP}\n")
                    out.write(f"👤 scanne le QR code {de(venue.name)}\n")
                    await shell.handle(f"/start {venue.token}")
                    await _loop(shell, out, lines)
    return 0


async def _loop(shell: Shell, out: TextIO, lines: TextIO) -> None:
    """Read lines while printing what the bot sends meanwhile (the staff card, a staff answer)."""
    loop = asyncio.get_running_loop()
    typed: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:  # a daemon thread: a Ctrl-C while it waits for a line does not keep the process up
        while line := lines.readline():
            loop.call_soon_threadsafe(typed.put_nowait, line)
        loop.call_soon_threadsafe(typed.put_nowait, "")

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.3)
            await shell.print_new()

    threading.Thread(target=read, name="shell-input", daemon=True).start()
    watcher = asyncio.create_task(watch())
    try:
        while True:
            out.write("> ")
            out.flush()
            line = await typed.get()
            if not line:  # end of input
                out.write("\n")
                break
            if not lines.isatty():  # piped: show what was read, so the transcript reads as a conversation
                out.write(line if line.endswith("\n") else line + "\n")
            if not await shell.handle(line):
                break
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await shell.print_new()


@contextlib.asynccontextmanager
async def _worker(redis_url: str, *, on: bool) -> AsyncIterator[None]:
    """`parole worker` (analysis only: the shell's bot posts the cards) for as long as the shell runs."""
    if not on:
        yield
        return
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_LOG_LEVEL": "WARNING"}
    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "worker", "--name", "shell", "--no-notifier", "--port", "0"),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        if worker.returncode is None:
            worker.terminate()
        await worker.wait()
