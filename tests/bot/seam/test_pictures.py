"""What the staff rooms take of a customer's picture that their channel fetched: a JPEG or a PNG of at most 5 MB,
announced as one and whose bytes are one; and who can be asked for it."""

from __future__ import annotations

import struct
import zlib

from bot.seam.outgoing import Channels
from bot.seam.pictures import MAX_PICTURE_BYTES, NotPassed, Picture, check_announced, check_bytes
from bot.storage.identity import CustomerId
from tests.bot.seam.test_outgoing import Recording
from whatsapp_emulator.media import image, padded


def test_the_type_and_size_announced() -> None:
    assert check_announced("image/jpeg", 1000) is None
    assert check_announced("image/PNG; q=1", None) is None  # no size announced: the bytes are counted
    assert check_announced("image/jpeg", MAX_PICTURE_BYTES) is None
    assert check_announced("image/jpeg", MAX_PICTURE_BYTES + 1) is NotPassed.TOO_LARGE
    for other in ("application/pdf", "image/gif", "image/webp", "video/mp4", "", "image"):
        assert check_announced(other, 10) is NotPassed.NOT_IMAGE, other


def test_the_bytes_are_a_jpeg_or_a_png() -> None:
    jpeg, png = image("JPEG"), image("PNG")
    assert check_bytes(jpeg, "image/jpeg") == Picture(jpeg, "image/jpeg")
    assert check_bytes(png, "image/png") == Picture(png, "image/png")
    assert check_bytes(jpeg, "image/png") == Picture(jpeg, "image/jpeg")  # mislabelled, still a photo: as it is
    assert Picture(png, "image/png").filename == "photo.png" and Picture(jpeg, "image/jpeg").filename == "photo.jpg"
    assert check_bytes(image("GIF"), "image/png") is NotPassed.NOT_IMAGE
    assert check_bytes(image("WEBP"), "image/jpeg") is NotPassed.NOT_IMAGE
    assert check_bytes(b"%PDF-1.4", "image/jpeg") is NotPassed.NOT_IMAGE
    assert check_bytes(b"", "image/jpeg") is NotPassed.NOT_IMAGE
    assert check_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20), "image/png") is NotPassed.NOT_IMAGE  # a header, no image
    assert check_bytes(padded(jpeg, MAX_PICTURE_BYTES + 1), "image/jpeg") is NotPassed.TOO_LARGE
    assert check_bytes(jpeg, "application/pdf") is NotPassed.NOT_IMAGE
    assert check_bytes(_png_header(100_000, 100_000), "image/png") is NotPassed.NOT_IMAGE  # a bomb: never opened


def _png_header(width: int, height: int) -> bytes:
    """A PNG that says it is `width` by `height` pixels (of nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


async def test_a_channel_that_hands_no_pictures_over_gives_none() -> None:
    channels = Channels({"telegram": Recording("telegram")})
    assert await channels.fetch_picture(CustomerId.telegram(7), "123") is NotPassed.FAILED
    assert await channels.fetch_picture(CustomerId.of("whatsapp", "33612345678"), "123") is NotPassed.FAILED
