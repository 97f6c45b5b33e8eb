"""A customer's picture that their channel fetches before the staff can see it (a WhatsApp image), what the staff
rooms take of it, and why one was not passed on.

The rule is the core's, whatever the channel: a JPEG or PNG of at most 5 MB (WhatsApp's own limit for images,
under Telegram's 10 MB for a photo), announced as one and whose bytes are one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable

from PIL import Image, UnidentifiedImageError

MAX_PICTURE_BYTES: Final = 5 * 1024 * 1024
MAX_PICTURE_MB: Final = MAX_PICTURE_BYTES // (1024 * 1024)
#: The picture types a staff room is sent, and the format Pillow reads in their bytes.
PICTURE_TYPES: Final = {"image/jpeg": "JPEG", "image/png": "PNG"}


class NotPassed(StrEnum):
    """Why a picture the channel was asked for does not go to the staff (`photo_not_passed`'s `why`)."""

    TOO_LARGE = "too_large"  # over MAX_PICTURE_BYTES
    NOT_IMAGE = "not_image"  # another type of file (a PDF sent as a document), or bytes that are not its type
    FAILED = "failed"  # the channel could not give it: gone, its link expired, refused, the network


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture's bytes and type, checked (`check_bytes`)."""

    content: bytes
    mime_type: str

    @property
    def filename(self) -> str:
        return "photo.png" if self.mime_type == "image/png" else "photo.jpg"


def media_type(value: str) -> str:
    """A MIME type without its parameters, in lower case (`image/JPEG; q=1` → `image/jpeg`)."""
    return value.partition(";")[0].strip().lower()


def check_announced(mime_type: str, size: int | None) -> NotPassed | None:
    """Why a picture of this type and size (as its channel announces them) is not taken; None when it may be."""
    if media_type(mime_type) not in PICTURE_TYPES:
        return NotPassed.NOT_IMAGE
    if size is not None and size > MAX_PICTURE_BYTES:
        return NotPassed.TOO_LARGE
    return None


def check_bytes(content: bytes, mime_type: str) -> Picture | NotPassed:
    """The picture, when its bytes are within the size and are a JPEG or a PNG (only the header is read: nothing
    is decoded); typed as its bytes say, whichever of the two its channel said."""
    refused = check_announced(mime_type, len(content))
    if refused is not None:
        return refused
    try:
        with Image.open(io.BytesIO(content)) as image:
            found = image.format
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return NotPassed.NOT_IMAGE  # no image, or one whose dimensions say it would take gigabytes
    kind = next((kind for kind, name in PICTURE_TYPES.items() if name == found), None)
    return Picture(content, kind) if kind is not None else NotPassed.NOT_IMAGE


@runtime_checkable
class PictureSource(Protocol):
    """A customer channel that can hand over the pictures its customers send (`Inbound.media`)."""

    async def fetch_picture(self, handle: str) -> Picture | NotPassed:
        """The picture `handle` names, checked (`check_bytes`), or why not; never raises for the channel's
        errors (logged)."""
