"""Plausible payloads for the non-text messages users send (stickers, photos, voice notes, polls...)."""

from __future__ import annotations

import io
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

from emulator.errors import EmulatorError, bad_request
from emulator.records import MessageKind, UploadedFile

JsonDict = dict[str, Any]
MAX_PHOTO_UPLOAD: Final = 10 * 1024 * 1024  # sendPhoto: "The photo must be at most 10 MB in size"

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


def image_header(content: bytes) -> tuple[str, int, int] | None:
    """An image's format and dimensions, read from its header (nothing decoded); None for bytes no image
    library reads as an image."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return str(image.format), image.width, image.height
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None


def check_photo_upload(upload: UploadedFile) -> None:
    """Refuse a photo upload as Telegram does: over 10 MB, not an image, or dimensions it does not take (width and
    height at most 10000 together, their ratio at most 20)."""
    if upload.size > MAX_PHOTO_UPLOAD:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    if upload.image is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    _, width, height = upload.image
    if width + height > 10_000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


def uploaded_photo_sizes(number: int, upload: UploadedFile) -> list[JsonDict]:
    """The sizes Telegram keeps of an uploaded photo, smallest first: scaled to at most 90, 320, 800 and 1280 pixels
    a side, none larger than the photo itself."""
    assert upload.image is not None
    _, width, height = upload.image
    sizes: list[JsonDict] = []
    for side in (90, 320, 800, 1280):
        scale = min(1.0, side / max(width, height))
        size = {"width": max(1, round(width * scale)), "height": max(1, round(height * scale))}
        if sizes and (sizes[-1]["width"], sizes[-1]["height"]) == (size["width"], size["height"]):
            break  # the photo is smaller than this side: no larger size
        area = size["width"] * size["height"]
        sizes.append(
            {**file_ids(f"photo{side}", number), **size, "file_size": max(1, upload.size * area // (width * height))}
        )
    return sizes


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
