"""Brands and venues as values, their codes and tokens, and the QR codes of their deep links."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import segno

from bot.errors import InvalidInput, problem
from dialogs.answers import SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH
from dialogs.catalog import template_languages
from dialogs.markup import utf16_len

BRAND_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
VENUE_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
# Telegram's start parameter: up to 64 characters of A-Z, a-z, 0-9, _ and -.
START_PARAMETER_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_BYTES = 16  # 22 characters once URL-safe base64 encoded: 128 bits, unguessable


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand: its code (used in commands and keys) and its display name."""

    code: str
    name: str
    created_at: float
    archived_at: float | None = None  # archived: its venues take no new feedback; its data stays

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "name": self.name, "created_at": self.created_at}
        return data | ({"archived_at": self.archived_at} if self.archived_at is not None else {})


@dataclass(frozen=True, slots=True)
class Venue:
    """A place where customers scan: a brand's shop, branch, station…"""

    brand: str
    code: str
    name: str
    token: str
    short_code: str
    created_at: float
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    language: str = "fr"  # of its poster, and of the customers who do not tell theirs
    archived_at: float | None = None  # archived: out of the location search, no new feedback; its data stays

    def to_json(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "code": self.code,
            "name": self.name,
            "city": self.city,
            "language": self.language,
            "lat": self.lat,
            "lon": self.lon,
            "token": self.token,
            "short_code": self.short_code,
            "created_at": self.created_at,
        } | ({"archived_at": self.archived_at} if self.archived_at is not None else {})


def check_brand_code(code: str) -> str:
    if not BRAND_CODE_RE.match(code):
        text = (
            "brand code {code!r} must be 1-32 characters of lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
        raise InvalidInput(problem("brand_code", text, code=code))
    return code


_NAME_OF: Final = {
    "brand": problem("name_of_brand", "brand name"),
    "venue": problem("name_of_venue", "venue name"),
    "city": problem("name_of_city", "city name"),
}


def check_name(name: str, kind: str) -> str:
    """A brand's, venue's or city's name (`kind`), its spaces tidied."""
    what = _NAME_OF.get(kind, kind)
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput(problem("name_empty", "{what} must not be empty", what=what))
    if utf16_len(cleaned) > 100:  # as Telegram counts, so templates/bot/limits.yaml holds for every name
        raise InvalidInput(
            problem("name_too_long", "{what} must be at most 100 characters (an emoji may count as two)", what=what)
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in cleaned):
        raise InvalidInput(problem("name_control", "{what} must not contain control characters", what=what))
    return cleaned


def check_coordinates(lat: float | None, lon: float | None) -> tuple[float | None, float | None]:
    if (lat is None) != (lon is None):
        raise InvalidInput(problem("lat_lon_both", "give both --lat and --lon, or neither"))
    if lat is not None and not -85.05112878 <= lat <= 85.05112878:
        raise InvalidInput(problem("latitude_range", "latitude {lat} is outside -85.05…85.05", lat=lat))
    if lon is not None and not -180 <= lon <= 180:
        raise InvalidInput(problem("longitude_range", "longitude {lon} is outside -180…180", lon=lon))
    return lat, lon


def check_language(language: str) -> str:
    """A language the bot's templates are written in (a venue's poster and its customers' default)."""
    known = template_languages()
    if language not in known:
        text = "language {language!r} must be one of {languages}: the languages the templates are written in"
        raise InvalidInput(problem("venue_language", text, language=language, languages=known))
    return language


def slugify(text: str) -> str:
    """Lower-case ASCII slug of a name: 'Quick Massy — Gare' → 'quick-massy-gare'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:40].strip("-") or "venue"


def new_token() -> str:
    """A random deep-link token (URL-safe, within Telegram's start-parameter alphabet)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    assert START_PARAMETER_RE.match(token)
    return token


def new_short_code() -> str:
    """Six characters, easy to read and type: no 0/O, 1/I/L."""
    return "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def web_links(public_url: str, token: str, short_code: str) -> dict[str, str]:
    """A venue's links on the web channel: its landing page (also by its short, typeable code) and its kiosk."""
    return {
        "web_link": f"{public_url}/v/{token}",
        "web_short_link": f"{public_url}/v/{short_code}",
        "kiosk_link": f"{public_url}/k/{token}",
    }


def write_qr(link: str, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write the QR code of `link` as PNG and SVG; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    qr = segno.make(link, error="m", micro=False)
    png = directory / f"{stem}.png"
    svg = directory / f"{stem}.svg"
    qr.save(str(png), scale=10, border=4)
    qr.save(str(svg), scale=10, border=4, xmldecl=False, title=link)
    return png, svg
