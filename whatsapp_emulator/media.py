"""The media customers send, as Meta keeps them: looked up by id (`GET /<version>/<media-id>`), which gives a URL
that downloads the bytes with the access token for 5 minutes; an id is kept 7 days.

The types and sizes a message of each kind may carry are Meta's ("Supported media types"): an image is a JPEG or
a PNG of at most 5 MB, a sticker a WebP of at most 500 KB, audio and video 16 MB of their types; a document is
any file a customer picks, up to the 100 MB Meta takes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import math
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from PIL import Image

from whatsapp_emulator.checks import INVALID_PARAMETER, CloudApiError

MB: Final = 1024 * 1024
URL_SECONDS: Final = 300.0  # "The URL is only valid for 5 minutes"
MEDIA_ID_SECONDS: Final = 7 * 24 * 3600.0  # "Media IDs in webhooks expire after 7 days"
ATTACHMENTS: Final = "/whatsapp_business/attachments/"  # the path of Meta's download URLs (lookaside.fbsbx.com)
#: kind → (the MIME types a message of that kind carries, None for any; its largest size in bytes).
KINDS: Final[dict[str, tuple[frozenset[str] | None, int]]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
    "audio": (frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "document": (None, 100 * MB),
}
UNKNOWN_OBJECT: Final = 33  # the Graph API's error_subcode for an id it does not know


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A media a customer sent: its id, bytes, type, kind and when Meta got it."""

    id: str
    content: bytes
    mime_type: str
    kind: str
    at: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def sha256_base64(self) -> str:
        """The hash as Meta's webhooks write it."""
        return base64.b64encode(hashlib.sha256(self.content).digest()).decode()


def check_kind(kind: str, content: bytes, mime_type: str) -> None:
    """Refuse (AssertionError: Meta never delivers one) a media that a message of `kind` cannot carry."""
    if kind not in KINDS:
        raise AssertionError(f"a WhatsApp {kind} message carries no media")
    types, largest = KINDS[kind]
    if types is not None and mime_type.partition(";")[0].strip().lower() not in types:
        raise AssertionError(f"a WhatsApp {kind} is one of {sorted(types)}, not {mime_type!r}")
    if len(content) > largest:
        raise AssertionError(f"a WhatsApp {kind} is at most {largest} bytes, not {len(content)}")


def unknown(media_id: str) -> CloudApiError:
    """The Graph API's answer for an id it does not know (never, or no longer)."""
    return CloudApiError(
        INVALID_PARAMETER,
        f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation",
        subcode=UNKNOWN_OBJECT,
    )


def url_hash(secret: str, media_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def download_url(base: str, secret: str, media_id: str, expires: int) -> str:
    """A download URL as Meta's: the media id, when the URL expires, and a hash that signs both."""
    query = urlencode({"mid": media_id, "ext": expires, "hash": url_hash(secret, media_id, expires)})
    return f"{base}{ATTACHMENTS}?{query}"


def image(kind: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small picture of a format Pillow writes (JPEG, PNG, WEBP), for tests that need real image bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=kind)
    return buffer.getvalue()


@functools.cache
def sample(kind: str) -> tuple[bytes, str]:
    """Plausible bytes and type of a media of `kind`, for a test that gives none."""
    if kind == "image":
        return image("JPEG"), "image/jpeg"
    if kind == "sticker":
        return image("WEBP", (128, 128)), "image/webp"
    samples = {
        "audio": (b"OggS\x00\x02" + bytes(58), "audio/ogg; codecs=opus"),
        "video": (b"\x00\x00\x00\x18ftypmp42" + bytes(16), "video/mp4"),
        "document": (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "application/pdf"),
    }
    return samples[kind]


def padded(content: bytes, size: int) -> bytes:
    """The bytes, grown to `size` with zeros after their end (which image readers ignore)."""
    return content + bytes(max(0, size - len(content)))


def expired(expires: str, now: float) -> bool:
    try:
        return now > float(expires) or not math.isfinite(float(expires))
    except ValueError:
        return True
