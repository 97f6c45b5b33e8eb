"""WhatsApp webhook payloads read by parole's own reader (`bot.channels.whatsapp.updates.read_payload`) and by
pywa (`pywa.types.Message.from_update` / `MessageStatus.from_update`), the library the issue suggested weighing
for the hot path: microseconds per payload, JSON decoding included, on the payloads the journey sees.

    .venv/bin/python bench/bench_whatsapp_parsing.py [--rounds 20000]

pywa is not a dependency of parole. To measure it, install it apart and put it on the path after parole:

    .venv/bin/pip install --target /tmp/pywa_lib pywa==4.5.0
    PYTHONPATH=.:/tmp/pywa_lib .venv/bin/python bench/bench_whatsapp_parsing.py

Without it, only parole's reader is measured. pywa reads one message (or status) of a payload's first
entry and change, as its own webhook does per post; parole's reader reads every entry, change, message and
status of a batch, checks each shape, and builds the core's `Inbound`. The comparison favours pywa: it
covers its parsing only, not its handler dispatch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from bot.channels.whatsapp.updates import read_payload
from whatsapp_emulator import CloudApiEmulator, SentMessage

PHONE_NUMBER_ID = "106540352242922"


def payloads() -> dict[str, bytes]:
    """A text, a list reply (the rating), and a delivery status, as Meta posts them (one per post)."""
    cloud = CloudApiEmulator(phone_number_id=PHONE_NUMBER_ID)
    camille = cloud.add_user("Camille", wa_id="33612345678")
    reply = {"type": "list_reply", "list_reply": {"id": "rate:4", "title": "⭐⭐⭐⭐"}}
    sent = SentMessage("wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI", camille.wa_id, "text", {}, "")
    values = {
        "text": cloud.value(camille, cloud.message(camille, "text", {"body": "On a attendu 40 minutes."})),
        "list reply": cloud.value(camille, cloud.message(camille, "interactive", reply, context={"id": sent.id})),
        "status": cloud.status_value(sent, "delivered"),
    }
    # pywa 4.5 requires what newer webhooks carry: contacts beside statuses too, with a business-scoped user id.
    values["status"]["contacts"] = [{"profile": {"name": camille.name}, "wa_id": camille.wa_id}]
    for value in values.values():
        for contact in value["contacts"]:
            contact["user_id"] = "FR.1234567890123456"
    return {
        name: json.dumps({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
        }).encode()
        for name, value in values.items()
    }  # fmt: skip


def per_call(function: Callable[[], object], rounds: int) -> float:
    """Microseconds per call, the best of 5 runs."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            function()
        best = min(best, time.perf_counter() - start)
    return best / rounds * 1e6


def pywa_readers() -> dict[str, Callable[[bytes], object]] | None:
    try:
        from pywa import WhatsApp  # type: ignore[import-not-found,unused-ignore]
        from pywa.types import Message, MessageStatus  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    client: Any = WhatsApp(phone_id=PHONE_NUMBER_ID, token="EAA" + "x" * 40)
    message = lambda body: Message.from_update(client, json.loads(body))  # noqa: E731
    status = lambda body: MessageStatus.from_update(client, json.loads(body))  # noqa: E731
    return {"text": message, "list reply": message, "status": status}


def main(rounds: int) -> int:
    samples = payloads()
    pywa = pywa_readers()
    print(f"{'payload':<12} {'parole µs':>10} {'pywa µs':>10} {'pywa/parole':>12}")
    for name, body in samples.items():
        batch = read_payload(json.loads(body), PHONE_NUMBER_ID)
        assert len(batch.messages) + len(batch.statuses) == 1 and not batch.unreadable, name
        ours = per_call(lambda body=body: read_payload(json.loads(body), PHONE_NUMBER_ID), rounds)
        if pywa is None:
            print(f"{name:<12} {ours:>10.2f} {'-':>10} {'-':>12}")
            continue
        read = pywa[name]
        read(body)  # it reads it, before it is timed
        theirs = per_call(lambda body=body, read=read: read(body), rounds)
        print(f"{name:<12} {ours:>10.2f} {theirs:>10.2f} {theirs / ours:>12.2f}")
    if pywa is None:
        print("pywa is not installed: see the module's docstring to measure it too")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20000)
    sys.exit(main(parser.parse_args().rounds))
