"""The staff side runs in the process that answers Telegram: it never imports spaCy either."""

from __future__ import annotations

import subprocess
import sys


def test_the_staff_modules_do_not_import_spacy() -> None:
    code = (
        "import sys\n"
        "import bot.cards, bot.notifier, bot.privacy, bot.relay, bot.rooms, bot.sending, bot.staff_auth\n"
        "import bot.staff_room, bot.stats, bot.tickets, bot.pseudonyms\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'thinc', 'numpy'))\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"loaded: {done.stdout.strip()}"
