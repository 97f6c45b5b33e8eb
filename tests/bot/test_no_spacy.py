"""The process that answers Telegram never imports spaCy: analysis happens in workers."""

from __future__ import annotations

import subprocess
import sys


def test_the_serving_modules_do_not_import_spacy() -> None:
    code = (
        "import sys\n"
        "import bot.cli, bot.serve, bot.app, bot.customer_chat, bot.webhook, bot.store, bot.worker, bot.vocabulary\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'thinc', 'numpy'))\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"loaded: {done.stdout.strip()}"
