"""Plausible payloads for the non-text messages users send (stickers, photos, voice notes, polls...)."""

from __future__ import annotations

from typing import Any

from emulator.errors import EmulatorError
from emulator.records import MessageKind

JsonDict = dict[str, Any]

# Kinds that may carry a caption.
CAPTIONED = frozenset(
    {
        MessageKind.PHOTO,
        MessageKind.VIDEO,
        MessageKind.DOCUMENT,
        MessageKind.AUDIO,
        MessageKind.ANIMATION,
        MessageKind.VOICE,
    }
)


def file_ids(kind: str, number: int) -> JsonDict:
    """A deterministic `file_id` / `file_unique_id` pair."""
    return {
        "file_id": f"EMU-{kind}-{number:06d}",
        "file_unique_id": f"emu{kind.replace('_', '')}{number:06d}",
    }


def photo_sizes(number: int) -> list[JsonDict]:
    """The sizes Telegram keeps of one photo, smallest first."""
    return [
        {**file_ids(f"photo{side}", number), "width": side, "height": side * 3 // 4, "file_size": side * 60}
        for side in (90, 320, 1280)
    ]


def media_payload(kind: str, number: int, *, latitude: float = 48.8566, longitude: float = 2.3522) -> JsonDict:
    """The `Message` fields of a message of `kind` (the text kind has none)."""
    try:
        message_kind = MessageKind(kind)
    except ValueError:
        raise EmulatorError(f"unknown message kind {kind!r}; one of {[k.value for k in MessageKind]}") from None
    location = {"latitude": latitude, "longitude": longitude}
    ids = file_ids(kind, number)
    payloads: dict[MessageKind, JsonDict] = {
        MessageKind.TEXT: {},
        MessageKind.STICKER: {
            "sticker": {
                **ids,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
                "set_name": "EmulatorStickers",
                "file_size": 24_000,
            }
        },
        MessageKind.PHOTO: {"photo": photo_sizes(number)},
        MessageKind.VOICE: {"voice": {**ids, "duration": 4, "mime_type": "audio/ogg", "file_size": 9_800}},
        MessageKind.VIDEO: {"video": {**ids, "width": 1280, "height": 720, "duration": 7, "mime_type": "video/mp4"}},
        MessageKind.DOCUMENT: {
            "document": {
                **ids,
                "file_name": "receipt.pdf",
                "mime_type": "application/pdf",
                "file_size": 52_000,
            }
        },
        MessageKind.AUDIO: {
            "audio": {
                **ids,
                "duration": 185,
                "performer": "Emulator",
                "title": "Song",
                "mime_type": "audio/mpeg",
            }
        },
        MessageKind.ANIMATION: {},  # filled below: Telegram sends the animation also as a document
        MessageKind.VIDEO_NOTE: {"video_note": {**ids, "length": 240, "duration": 5}},
        MessageKind.CONTACT: {"contact": {"phone_number": "+33612345678", "first_name": "Alex"}},
        MessageKind.LOCATION: {"location": location},
        MessageKind.VENUE: {
            "location": location,
            "venue": {"location": location, "title": "Gare de Massy", "address": "Place de la Gare, Massy"},
        },
        MessageKind.POLL: {
            "poll": {
                "id": f"{5_000_000_000 + number}",
                "question": "Pizza or burger?",
                "options": [
                    {"persistent_id": "0", "text": "Pizza", "voter_count": 0},
                    {"persistent_id": "1", "text": "Burger", "voter_count": 0},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": True,
                "members_only": False,
            }
        },
        MessageKind.DICE: {"dice": {"emoji": "🎲", "value": number % 6 + 1}},
    }
    if message_kind is MessageKind.ANIMATION:
        animation = {**ids, "width": 320, "height": 240, "duration": 3, "mime_type": "video/mp4"}
        document = {key: animation[key] for key in ("file_id", "file_unique_id", "mime_type")}
        return {"animation": animation, "document": document}
    return payloads[message_kind]
