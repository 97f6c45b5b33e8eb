"""Printable A4 posters of a venue: its name, the QR code of its deep link, its short code and what scanning
it does, in the venue's language (the `poster_invitation` and `poster_code_hint` templates), as SVG (for
print shops and editing) and PNG (150 dpi, for any printer); optionally the brand's logo and colour.

Both are drawn from one layout in millimetres, laid out from the top: long names and texts wrap onto
several lines rather than shrink past a floor that stays readable from a couple of metres. The QR code
keeps its quiet zone (4 modules) and is 120 mm wide, less (down to 80 mm) only when the texts need it.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Final

import segno
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from bot.errors import InvalidInput, problem
from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
MARGIN = 15.0
TEXT_W: Final = PAGE_W - 2 * MARGIN
QR_SIZE = 120.0
QR_MIN: Final = 80.0
QR_TOP = 88.0  # at the least: the QR code comes lower when the texts above it need the room
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
DPI = 150
INK = "#111111"
ACCENT = "#2f6f9f"
#: The smallest font sizes (mm of em): a venue's name stays readable from two metres, the rest at arm's length.
NAME_FLOOR: Final = 9.0
TEXT_FLOOR: Final = 5.0
HINT_FLOOR: Final = 4.0
LOGO_MAX_W, LOGO_MAX_H = 70.0, 20.0
LOGO_FORMATS: Final = {"PNG": "image/png", "JPEG": "image/jpeg"}
MAX_LOGO_BYTES: Final = 5_000_000
#: An accent colour must read on white as large text must (WCAG: a contrast of 3 to 1 at the least).
MIN_CONTRAST: Final = 3.0
SHORT_CODE_GAP: Final = 20.0  # mm from the QR code's box to the short code's baseline
HINT_GAP: Final = 11.0  # and from there to the hint's
_HEX_COLOUR: Final = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_FONT_PROBE = 100  # the size at which text is measured, then scaled
# DejaVu, carried in the package (bot/cli/fonts, with its licence): every Latin accent, and the fonts that
# the SVG asks for first. No system font is needed.
FONT_DIR = Path(__file__).with_name("fonts")
_FONT_FILES = {
    (False, False): "DejaVuSans.ttf",
    (True, False): "DejaVuSans-Bold.ttf",
    (False, True): "DejaVuSansMono.ttf",
    (True, True): "DejaVuSansMono-Bold.ttf",
}


@functools.cache
def _font(size: int, *, bold: bool = False, monospace: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / _FONT_FILES[bold, monospace]), size)


@dataclass(frozen=True, slots=True)
class PosterContent:
    """What a poster says."""

    brand_name: str
    venue_name: str
    invitation: str
    short_code: str
    code_hint: str
    deep_link: str
    language: str


@dataclass(frozen=True, slots=True)
class Logo:
    """A brand's logo, as read from its file: the bytes (embedded in the SVG) and its size in pixels."""

    data: bytes
    mime: str
    width: int
    height: int

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.data)).convert("RGBA")


@dataclass(frozen=True, slots=True)
class PosterStyle:
    """How a poster looks beyond its words: the brand's colour (of its name and the short code), its logo."""

    colour: str = ACCENT
    logo: Logo | None = None


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    y: float  # baseline, mm
    size: float  # font size, mm
    bold: bool = False
    colour: str = INK
    monospace: bool = False


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class _Layout:
    lines: list[_Line]
    qr: _Box
    logo: _Box | None


def parse_colour(text: str) -> str:
    """A colour written `#RRGGBB` (or `#RGB`) that reads on white paper, as `#rrggbb`.

    Raises:
        InvalidInput: not such a colour, or too light to read on white.
    """
    if not _HEX_COLOUR.fullmatch(text.strip()):
        raise InvalidInput(problem("poster_colour", "--colour {text!r}: write it #RRGGBB, e.g. #2f6f9f", text=text))
    digits = text.strip()[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    colour = "#" + digits.lower()
    contrast = 1.05 / (_luminance(colour) + 0.05)
    if contrast < MIN_CONTRAST:
        said = (
            "--colour {text}: too light to read on white paper (contrast {contrast:.1f} to 1, "
            "at least {least:g} to 1): choose a darker shade"
        )
        raise InvalidInput(problem("poster_colour_light", said, text=text, contrast=contrast, least=MIN_CONTRAST))
    return colour


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of a `#rrggbb` colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def load_logo(path: Path) -> Logo:
    """A PNG or JPEG logo read from `path`, checked whole.

    Raises:
        InvalidInput: missing, unreadable, too big, or not a PNG or JPEG image.
    """
    try:
        data = path.read_bytes()
    except OSError as failed:
        raise InvalidInput(
            problem(
                "logo_unreadable",
                "--logo {path}: cannot be read ({error})",
                path=str(path),
                error=failed.strerror or str(failed),
            )
        ) from None
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInput(
            problem(
                "logo_too_big", "--logo {path}: {size} MB, at most {most} MB",
                path=str(path), size=len(data) // 1_000_000, most=MAX_LOGO_BYTES // 1_000_000,
            )
        )  # fmt: skip
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.load()  # decodes every pixel: a truncated file fails here, not when the poster is drawn
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(
            problem("logo_not_image", "--logo {path}: not a PNG or JPEG image (or a damaged one)", path=str(path))
        ) from None
    if kind not in LOGO_FORMATS:
        raise InvalidInput(
            problem("logo_format", "--logo {path}: a {kind} image; give a PNG or JPEG", path=str(path), kind=kind)
        )
    return Logo(data, LOGO_FORMATS[kind], width, height)


def poster_content(
    renderer: MessageRenderer,
    *,
    brand_name: str,
    venue_name: str,
    short_code: str,
    deep_link: str,
    bot_username: str,
    language: str,
) -> PosterContent:
    """The poster's texts, the invitation and the code hint rendered in the venue's language."""
    variables = {"venue_name": venue_name, "brand_name": brand_name}
    invitation = renderer.render(MessagePart("poster_invitation", variables), language)
    hint = renderer.render(
        MessagePart("poster_code_hint", {"short_code": short_code, "bot_username": bot_username}), language
    )
    return PosterContent(brand_name, venue_name, invitation, short_code, hint, deep_link, language)


def _width(text: str, size: float, *, bold: bool = False, monospace: bool = False) -> float:
    """The printed width (mm) of `text` at font size `size` (mm), measured with Pillow's font."""
    return _font(_FONT_PROBE, bold=bold, monospace=monospace).getlength(text) / _FONT_PROBE * size


def _break(text: str, size: float, *, bold: bool, width: float) -> list[str]:
    """`text` broken between words into lines no wider than `width` (a word wider than that, between letters)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if _width(candidate, size, bold=bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for letter in word:  # only a word too wide for a line of its own is cut
            if current and _width(current + letter, size, bold=bold) > width:
                lines.append(current)
                current = ""
            current += letter
    if current:
        lines.append(current)
    return lines or [""]


def _wrapped(
    text: str, size: float, floor: float, *, lines: int, bold: bool = False, width: float = TEXT_W
) -> tuple[list[str], float]:
    """The lines and the font size (mm) of `text`: the largest size from `size` down to `floor` at which it
    takes at most `lines` lines; at the floor, as many lines as it takes."""
    while True:
        broken = _break(text, size, bold=bold, width=width)
        if len(broken) <= lines or size <= floor:
            return broken, size
        size = max(floor, size - 0.5)


def _fitted(text: str, size: float, *, bold: bool = False, width: float = TEXT_W) -> float:
    """The font size (mm) at most `size` at which `text` fits `width` on one line (the link: never cut)."""
    length = _width(text, 1.0, bold=bold)
    return min(size, width / length) if length else size


def _layout(content: PosterContent, style: PosterStyle) -> _Layout:
    """Every line and box of the poster, from the top: logo, brand, venue, invitation; then the QR code, as
    big as the room left allows; then the short code, how to type it, and the link at the bottom."""
    lines: list[_Line] = []
    top = MARGIN
    logo_box = None
    if style.logo is not None:
        scale = min(LOGO_MAX_W / style.logo.width, LOGO_MAX_H / style.logo.height)
        w, h = style.logo.width * scale, style.logo.height * scale
        logo_box = _Box((PAGE_W - w) / 2, top, w, h)
        top += h + 4.0

    def block(
        text: str, size: float, floor: float, most: int, gap: float, *, bold: bool = False, colour: str = INK
    ) -> None:
        nonlocal top
        broken, size = _wrapped(text, size, floor, lines=most, bold=bold)
        for line in broken:
            top += size
            lines.append(_Line(line, top, size, bold=bold, colour=colour))
            top += size * 0.25
        top += gap

    block(content.brand_name, 9.0, TEXT_FLOOR, 2, 6.0, colour=style.colour)
    block(content.venue_name, 14.0, NAME_FLOOR, 3, 7.0, bold=True)
    block(content.invitation, 7.0, TEXT_FLOOR, 3, 0.0)
    qr_top = max(QR_TOP, top + 2.0)
    link_size = _fitted(content.deep_link, 4.0)
    hint, hint_size = _wrapped(content.code_hint, 6.0, HINT_FLOOR, lines=2)
    # Under the QR code (whose quiet zone is its own margin): the short code, then the hint, its last line
    # `below` under the code's box; the link at the foot of the page.
    below = SHORT_CODE_GAP + HINT_GAP + (len(hint) - 1) * hint_size * 1.25
    room = PAGE_H - MARGIN - link_size - 3.0 - hint_size * 0.25 - below - qr_top
    qr_size = max(QR_MIN, min(QR_SIZE, room))
    qr_bottom = qr_top + qr_size
    short = " ".join(content.short_code[i : i + 3] for i in range(0, len(content.short_code), 3))
    lines.append(_Line(short, qr_bottom + SHORT_CODE_GAP, 16.0, bold=True, colour=style.colour, monospace=True))
    for n, line in enumerate(hint):
        lines.append(_Line(line, qr_bottom + SHORT_CODE_GAP + HINT_GAP + n * hint_size * 1.25, hint_size))
    lines.append(_Line(content.deep_link, PAGE_H - MARGIN, link_size, colour="#555555"))
    return _Layout(lines, _Box((PAGE_W - qr_size) / 2, qr_top, qr_size, qr_size), logo_box)


def _matrix(link: str) -> list[list[bool]]:
    qr = segno.make(link, error="m", micro=False)
    return [[bool(module) for module in row] for row in qr.matrix]


def poster_svg(content: PosterContent, style: PosterStyle | None = None) -> str:
    """The poster as an SVG document, A4, in millimetres."""
    layout = _layout(content, style or PosterStyle())
    matrix = _matrix(content.deep_link)
    modules = len(matrix) + 2 * QR_BORDER
    scale = layout.qr.width / modules
    path = "".join(
        f"M{x + QR_BORDER} {y + QR_BORDER}h1v1h-1z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W:g}mm" height="{PAGE_H:g}mm" '
        f'viewBox="0 0 {PAGE_W:g} {PAGE_H:g}" lang="{escape(content.language)}" role="img" '
        'aria-labelledby="poster-title">',
        f'<title id="poster-title">{escape(content.venue_name)} — {escape(content.invitation)}</title>',
        f'<rect width="{PAGE_W:g}" height="{PAGE_H:g}" fill="#ffffff"/>',
    ]
    if style is not None and style.logo is not None and layout.logo is not None:
        box, encoded = layout.logo, base64.b64encode(style.logo.data).decode("ascii")
        parts.append(
            f'<image class="logo" x="{box.x:.2f}" y="{box.y:.2f}" width="{box.width:.2f}" height="{box.height:.2f}" '
            f'href="data:{style.logo.mime};base64,{encoded}"/>'
        )
    for line in layout.lines:
        family = "DejaVu Sans Mono, monospace" if line.monospace else "DejaVu Sans, Arial, sans-serif"
        weight = ' font-weight="bold"' if line.bold else ""
        parts.append(
            f'<text x="{PAGE_W / 2:g}" y="{line.y:.2f}" font-size="{line.size:.2f}" font-family="{family}"{weight} '
            f'fill="{line.colour}" text-anchor="middle">{escape(line.text)}</text>'
        )
    parts.append(
        f'<g class="qr" transform="translate({layout.qr.x:.3f} {layout.qr.y:.3f}) scale({scale:.5f})">'
        f'<rect width="{modules}" height="{modules}" fill="#ffffff"/>'
        f'<path d="{path}" fill="#000000" shape-rendering="crispEdges"/></g>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def poster_png(content: PosterContent, style: PosterStyle | None = None) -> Image.Image:
    """The poster as an image, A4 at 150 dpi."""
    style = style or PosterStyle()
    layout = _layout(content, style)
    px = DPI / 25.4
    image = Image.new("RGB", (round(PAGE_W * px), round(PAGE_H * px)), "white")
    draw = ImageDraw.Draw(image)
    if style.logo is not None and layout.logo is not None:
        box = layout.logo
        logo = style.logo.image().resize((max(1, round(box.width * px)), max(1, round(box.height * px))))
        image.paste(logo, (round(box.x * px), round(box.y * px)), logo)
    for line in layout.lines:
        font = _font(max(1, round(line.size * px)), bold=line.bold, monospace=line.monospace)
        draw.text((PAGE_W / 2 * px, line.y * px), line.text, font=font, fill=line.colour, anchor="ms")
    matrix = _matrix(content.deep_link)
    modules = len(matrix) + 2 * QR_BORDER
    module_px = int(layout.qr.width * px / modules)  # whole pixels a module: sharp edges for the camera
    left = round((PAGE_W * px - module_px * modules) / 2)
    top = round(layout.qr.y * px)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + (x + QR_BORDER) * module_px, top + (y + QR_BORDER) * module_px
                draw.rectangle((x0, y0, x0 + module_px - 1, y0 + module_px - 1), fill="black")
    return image


def write_poster(
    content: PosterContent, directory: Path, stem: str, style: PosterStyle | None = None
) -> tuple[Path, Path]:
    """Write the poster as SVG and PNG; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    svg, png = directory / f"{stem}.svg", directory / f"{stem}.png"
    svg.write_text(poster_svg(content, style), encoding="utf-8")
    poster_png(content, style).save(png, dpi=(DPI, DPI))
    return svg, png
