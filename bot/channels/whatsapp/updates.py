"""The Cloud API's webhook payload read into what the core needs: each message as an `Inbound` naming the
customer `CustomerId("whatsapp", wa_id)`, and the delivery statuses of what the bot sent.

A payload may batch entries, changes, messages and statuses; anything of a shape Meta never sends is
skipped on its own (counted as unreadable), never the whole batch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from bot.errors import InvalidInput
from bot.seam.inbound import Inbound
from bot.storage.identity import CustomerId

WHATSAPP: Final = "whatsapp"
MAX_TEXT: Final = 10_000  # characters of a message kept (WhatsApp allows 65,536; the core cuts further)
_CAPTIONED: Final = frozenset({"image", "video", "document"})  # the kinds Meta sends with a `caption`
_FETCHED: Final = frozenset({"image", "document"})  # the kinds whose media may go to the staff as a photo
_WAMID: Final = re.compile(r"^[A-Za-z0-9._=+/:-]{1,256}$")
_MEDIA_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")  # Meta's are digits; nothing that changes a URL's path
# Country codes where French is what a customer most likely reads (WhatsApp tells no app language).
_FRENCH_CODES: Final = ("33", "32", "41", "352", "377", "262", "508", "590", "594", "596", "687", "689")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One customer message of a payload: its Cloud API id and what the core reads of it."""

    wamid: str
    inbound: Inbound
    timestamp: int


@dataclass(frozen=True, slots=True)
class Status:
    """What became of a message the bot sent: sent, delivered, read or failed (with the error code)."""

    wamid: str
    status: str
    recipient: str
    error_code: int | None = None


@dataclass(slots=True)
class Batch:
    """Everything a payload carried for this phone number id."""

    messages: list[Incoming] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    unreadable: int = 0  # messages, statuses or changes of a shape Meta never sends
    other_numbers: int = 0  # changes about another phone number id (one app can serve several)


def number_of(wamid: str) -> int:
    """A message id as the core's integer ids (`Inbound.update_id`): 63 bits of its hash."""
    return int.from_bytes(hashlib.blake2b(wamid.encode(), digest_size=8).digest(), "big") >> 1


def language_of(wa_id: str) -> str:
    """A guess at the customer's language from their number: WhatsApp tells no app language."""
    return "fr" if wa_id.startswith(_FRENCH_CODES) else "en"


def read_payload(data: object, phone_number_id: str) -> Batch:
    """The messages and statuses of a webhook payload for `phone_number_id`."""
    batch = Batch()
    if not isinstance(data, Mapping) or data.get("object") != "whatsapp_business_account":
        batch.unreadable += 1
        return batch
    entries = data.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        if not isinstance(changes, list):
            batch.unreadable += 1
            continue
        for change in changes:
            _change(change, phone_number_id, batch)
    batch.messages.sort(key=lambda m: m.timestamp)  # out of order in a batch: the customer's order
    return batch


def _change(change: object, phone_number_id: str, batch: Batch) -> None:
    if not isinstance(change, Mapping) or change.get("field") != "messages":
        batch.unreadable += not isinstance(change, Mapping)
        return
    value = change.get("value")
    metadata = value.get("metadata") if isinstance(value, Mapping) else None
    if not isinstance(value, Mapping) or not isinstance(metadata, Mapping):
        batch.unreadable += 1
        return
    if metadata.get("phone_number_id") != phone_number_id:
        batch.other_numbers += 1
        return
    for key, read in (("messages", _message), ("statuses", _status)):
        items = value.get(key, [])
        if not isinstance(items, list):
            batch.unreadable += 1
            continue
        for item in items:
            found = read(item)
            if found is None:
                batch.unreadable += 1
            elif isinstance(found, Incoming):
                batch.messages.append(found)
            else:
                batch.statuses.append(found)


def _str(value: object, limit: int = 256) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _message(item: object) -> Incoming | None:
    if not isinstance(item, Mapping):
        return None
    wamid, sender, kind = _str(item.get("id")), _str(item.get("from"), 64), _str(item.get("type"), 64)
    timestamp = item.get("timestamp")
    if wamid is None or not _WAMID.match(wamid) or sender is None or kind is None:
        return None
    if not isinstance(timestamp, str) or not timestamp.isdigit() or len(timestamp) > 12:
        return None
    try:
        customer = CustomerId.of(WHATSAPP, sender)
    except InvalidInput:
        return None
    if not sender.isdigit():
        return None
    number = number_of(wamid)
    common: dict[str, Any] = {"message_id": number}
    content = item.get(kind)
    if kind == "text":
        body = content.get("body") if isinstance(content, Mapping) else None
        if not isinstance(body, str):
            return None
        common["text"] = body[:MAX_TEXT]
    elif kind == "interactive":
        chosen = _chosen(content)
        if chosen is None:
            return None
        common["button_data"] = chosen
    elif kind == "button":  # a template's quick reply
        payload = content.get("payload") if isinstance(content, Mapping) else None
        if _str(payload) is None:
            return None
        common["button_data"] = payload
    elif kind == "location":
        latitude = content.get("latitude") if isinstance(content, Mapping) else None
        longitude = content.get("longitude") if isinstance(content, Mapping) else None
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (latitude, longitude)):
            return None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # type: ignore[operator]  # numbers, checked above
            return None  # found by the fuzz test: Redis refuses such a point when nearby venues are searched
        common.update(kind="location", location=(float(latitude), float(longitude)))  # type: ignore[arg-type]
    elif kind in _CAPTIONED and isinstance(content, Mapping) and _str(content.get("caption"), MAX_TEXT):
        common["text"] = content["caption"]  # an image with a few words: the words are the answer, as on Telegram
    else:  # image, audio, video, document, sticker, reaction, contacts, order, system, unsupported...
        # The core's word for a picture is Telegram's.
        common["kind"] = "photo" if kind == "image" else kind if kind.isidentifier() else "other"
    if kind in _FETCHED and isinstance(content, Mapping):
        # After the journey the staff get the picture: fetched by its id (a document may be a photo sent as a file;
        # its type is checked once fetched). An id that could not go into the Graph API's path is not kept.
        media = content.get("id")
        common["media"] = media if isinstance(media, str) and _MEDIA_ID.fullmatch(media) else None
    inbound = Inbound(number, customer, language_of(sender), **common)
    return Incoming(wamid, inbound, int(timestamp))


def _chosen(content: object) -> str | None:
    """The id of the reply button or list row the customer chose."""
    if not isinstance(content, Mapping):
        return None
    kind = content.get("type")
    if kind not in ("button_reply", "list_reply"):
        return None
    reply = content.get(kind)
    return _str(reply.get("id"), 256) if isinstance(reply, Mapping) else None


def _status(item: object) -> Status | None:
    if not isinstance(item, Mapping):
        return None
    wamid, status, recipient = _str(item.get("id")), _str(item.get("status"), 32), _str(item.get("recipient_id"), 64)
    if wamid is None or status is None or recipient is None:
        return None
    code = None
    errors = item.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        raw = errors[0].get("code")
        code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    return Status(wamid, status, recipient, code)
