"""A progress bar on standard error for long commands; plain periodic lines when it is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work done out of `total` and shows it, at most ten times a second."""

    def __init__(self, total: int, what: str, *, out: TextIO | None = None) -> None:
        self.total = max(0, total)
        self.what = what
        self.out = out or sys.stderr
        self.done = 0
        self._tty = self.out.isatty()
        self._shown = 0.0
        self._last_tenth = -1
        self._started = time.monotonic()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty and now - self._shown >= 0.1:
            self._shown = now
            self.out.write("\r" + self._line())
            self.out.flush()
        elif not self._tty and self.total:
            tenth = min(10, self.done * 10 // self.total)
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self.out.write(self._line() + "\n")

    def _line(self) -> str:
        width = 30
        filled = width * self.done // self.total if self.total else width
        rate = self.done / max(1e-9, time.monotonic() - self._started)
        bar = "#" * filled + "-" * (width - filled)
        return f"[{bar}] {self.done}/{self.total} {self.what} ({rate:.0f}/s)"

    def close(self) -> None:
        if self._tty:
            self.out.write("\r" + self._line() + "\n")
        elif self._last_tenth < 10:
            self.out.write(self._line() + "\n")
        self.out.flush()
