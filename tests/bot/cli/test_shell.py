"""`parole shell`, driven as a person would through its standard input and output: a whole journey (scan,
a star tapped by its number, a reason, Skip), the staff card with its analysis, a staff answer with /staff,
the customer's answer back in the staff room; lines that are not choices go to the bot as text."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PROMPT_TIMEOUT = 120.0


class Terminal:
    """`parole shell` in a child process; `expect` reads its output until a text appears."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        env = {**os.environ, "PAROLE_REDIS_URL": "", "PAROLE_DATA_DIR": str(tmp_path / "d"), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "shell", *args], cwd=tmp_path, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.output = ""
        self._seen = 0  # what the previous `expect` consumed
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the shell if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read(1):
            self._chunks.put(chunk)

    def expect(self, text: str, timeout: float = PROMPT_TIMEOUT) -> str:
        """The output from the previous `expect` up to and including `text`, waiting for it."""
        start = self._seen
        deadline = time.monotonic() + timeout
        while text not in self.output[start:]:
            try:
                self.output += self._chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout}s; output so far:\n{self.output}") from None
        self._seen = self.output.index(text, start) + len(text)
        return self.output[start : self._seen]

    def type(self, line: str) -> str:
        """Type a line; what the shell printed from its echo of the line to its next prompt."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        if line == "/quit":
            return ""
        self.expect(line + "\n")
        return self.expect("\n> ")

    def seen(self, text: str, timeout: float = PROMPT_TIMEOUT) -> str:
        """Everything printed so far once `text` was printed at least once (whenever it came)."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            try:
                self.output += self._chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout}s; output so far:\n{self.output}") from None
        return self.output


def test_a_whole_journey_typed_at_the_shell(tmp_path: Path) -> None:
    with Terminal(tmp_path) as shell:
        start = shell.expect("[5] ⭐⭐⭐⭐⭐\n> ")
        assert "Ce groupe est maintenant le salon de l'équipe de Quick" in start  # the staff room is linked
        assert "bienvenue chez Quick Massy Gare" in start and "[1] ⭐  [2] ⭐⭐" in start
        # A line that is no rating is sent as text; the bot asks again, with the same numbered choices.
        assert "Je n'ai pas compris votre note" in shell.type("Bonjour")
        # Before any card, /staff says why it cannot answer; nothing goes to the staff room.
        early = shell.type("/staff Bonjour")
        assert "pas encore de fiche dans le salon de l'équipe" in early and "Julien :" not in early
        tapped = shell.type("2")
        assert "👤 touche [⭐⭐]" in tapped and "Votre note : ⭐⭐" in tapped and "Que s'est-il passé" in tapped
        asked = shell.type("Julien a été aimable mais le cheeseburger était froid, 25 minutes d'attente.")
        assert "[1] Passer" in asked
        # A number beyond the choices is text: here, the suggestion.
        thanks = shell.type("3")
        assert "Merci pour votre avis" in thanks
        # The card reaches the staff room with the analysis the worker process added (spaCy, brand vocabulary).
        card = shell.seen("Répondez au client").split("(salon de l'équipe) Quick Massy Gare · ⭐⭐ (2/5)", 1)[1]
        assert "Ticket n° 1001" in card and "Julien (personne)" in card and "cheeseburger (produit)" in card
        answered = shell.type("/staff Toutes nos excuses, un deuxième comptoir ouvre samedi.")
        assert "👤 (salon de l'équipe) Julien : /reply 1001 Toutes nos excuses" in answered
        assert "🤖 Quick Massy Gare vous répond" in answered and "Envoyé au client (ticket n° 1001)" in answered
        back = shell.type("Merci beaucoup !")
        assert "🤖 (salon de l'équipe) 💬 Client #" in back and "Merci beaucoup !" in back
        assert "Transmis à l'équipe de Quick Massy Gare" in back
        tickets = shell.type("/staff /tickets")
        assert "👤 (salon de l'équipe) Julien : /tickets" in tickets and "1001" in tickets.split("/tickets", 1)[1]
        shell.type("/quit")
        assert shell.process.wait(timeout=60) == 0
        assert shell.process.stderr is not None and "Traceback" not in shell.process.stderr.read()


def test_the_shell_ends_at_the_end_of_its_input_and_refuses_a_bad_option(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--no-analysis"], input="5\n/photo Le comptoir\n", text=True,
        capture_output=True, timeout=PROMPT_TIMEOUT, cwd=tmp_path,
        env={**os.environ, "PAROLE_REDIS_URL": "", "PAROLE_DATA_DIR": str(tmp_path / "d")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "👤 touche [⭐⭐⭐⭐⭐]" in done.stdout and "Votre note : ⭐⭐⭐⭐⭐" in done.stdout
    photo = done.stdout.split("> /photo Le comptoir\n", 1)[1]
    assert photo.startswith("👤 envoie une photo : Le comptoir\n🤖 ")  # and the bot answered it
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--staff-as", "x"], capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 2 and "erreur : arguments inconnus : --staff-as" in refused.stderr


def test_a_line_telegram_would_not_send_is_refused_and_ctrl_c_stops_the_shell(tmp_path: Path) -> None:
    with Terminal(tmp_path, "--no-analysis") as shell:
        shell.expect("[5] ⭐⭐⭐⭐⭐\n> ")
        refused = shell.type("x" * 5000)
        assert "(shell) Telegram n'enverrait pas cela : Telegram clients split messages longer than 4096" in refused
        assert "🤖" not in refused  # nothing reached the bot
        assert "👤 touche [⭐⭐⭐⭐]" in shell.type("4")  # and the chat goes on
        shell.process.send_signal(signal.SIGINT)  # Ctrl-C while it waits for a line
        assert shell.process.wait(timeout=60) == 130
        assert shell.process.stderr is not None and "Traceback" not in shell.process.stderr.read()
