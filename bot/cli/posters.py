"""Printable A4 posters of a venue: its name, the QR code of its deep link, its short code and a one-line
invitation in the venue's language (the `poster_invitation` and `poster_code_hint` templates), as SVG (for
print shops and editing) and PNG (150 dpi, for any printer).

Both are drawn from one layout in millimetres; the QR code keeps its quiet zone (4 modules) and is 120 mm
wide, readable from a metre away. Long names are set smaller so that they fit the page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from dialogs.render import MessageRenderer
from dialogs.types import MessagePart

PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
MARGIN = 15.0
QR_SIZE = 120.0
QR_TOP = 88.0
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
DPI = 150
INK = "#111111"
ACCENT = "#2f6f9f"
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
class _Line:
    text: str
    y: float  # baseline, mm
    size: float  # font size, mm
    bold: bool = False
    colour: str = INK
    monospace: bool = False


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


def _fitted(text: str, size: float, *, bold: bool = False, width: float = PAGE_W - 2 * MARGIN) -> float:
    """The font size (mm) at most `size` at which `text` fits `width` (measured with Pillow's font)."""
    length = _font(_FONT_PROBE, bold=bold).getlength(text) / _FONT_PROBE  # in font sizes
    return min(size, width / length) if length else size


def _layout(content: PosterContent) -> list[_Line]:
    short = " ".join(content.short_code[i : i + 3] for i in range(0, len(content.short_code), 3))
    return [
        _Line(content.brand_name, 28.0, _fitted(content.brand_name, 9.0), colour=ACCENT),
        _Line(content.venue_name, 48.0, _fitted(content.venue_name, 14.0, bold=True), bold=True),
        _Line(content.invitation, 70.0, _fitted(content.invitation, 8.0)),
        _Line(short, QR_TOP + QR_SIZE + 24.0, 16.0, bold=True, monospace=True),
        _Line(content.code_hint, QR_TOP + QR_SIZE + 36.0, _fitted(content.code_hint, 6.0)),
        _Line(content.deep_link, PAGE_H - 14.0, _fitted(content.deep_link, 4.0), colour="#555555"),
    ]


def _matrix(link: str) -> list[list[bool]]:
    qr = segno.make(link, error="m", micro=False)
    return [[bool(module) for module in row] for row in qr.matrix]


def poster_svg(content: PosterContent) -> str:
    """The poster as an SVG document, A4, in millimetres."""
    matrix = _matrix(content.deep_link)
    modules = len(matrix) + 2 * QR_BORDER
    scale = QR_SIZE / modules
    left = (PAGE_W - QR_SIZE) / 2
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
    for line in _layout(content):
        family = "DejaVu Sans Mono, monospace" if line.monospace else "DejaVu Sans, Arial, sans-serif"
        weight = ' font-weight="bold"' if line.bold else ""
        parts.append(
            f'<text x="{PAGE_W / 2:g}" y="{line.y:.2f}" font-size="{line.size:.2f}" font-family="{family}"{weight} '
            f'fill="{line.colour}" text-anchor="middle">{escape(line.text)}</text>'
        )
    parts.append(
        f'<g class="qr" transform="translate({left:.3f} {QR_TOP:.3f}) scale({scale:.5f})">'
        f'<rect width="{modules}" height="{modules}" fill="#ffffff"/>'
        f'<path d="{path}" fill="#000000" shape-rendering="crispEdges"/></g>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def poster_png(content: PosterContent) -> Image.Image:
    """The poster as an image, A4 at 150 dpi."""
    px = DPI / 25.4
    image = Image.new("RGB", (round(PAGE_W * px), round(PAGE_H * px)), "white")
    draw = ImageDraw.Draw(image)
    for line in _layout(content):
        font = _font(max(1, round(line.size * px)), bold=line.bold, monospace=line.monospace)
        draw.text((PAGE_W / 2 * px, line.y * px), line.text, font=font, fill=line.colour, anchor="ms")
    matrix = _matrix(content.deep_link)
    modules = len(matrix) + 2 * QR_BORDER
    module_px = int(QR_SIZE * px / modules)  # whole pixels a module: sharp edges for the camera
    left = round((PAGE_W * px - module_px * modules) / 2)
    top = round(QR_TOP * px)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + (x + QR_BORDER) * module_px, top + (y + QR_BORDER) * module_px
                draw.rectangle((x0, y0, x0 + module_px - 1, y0 + module_px - 1), fill="black")
    return image


def write_poster(content: PosterContent, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write the poster as SVG and PNG; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    svg, png = directory / f"{stem}.svg", directory / f"{stem}.png"
    svg.write_text(poster_svg(content), encoding="utf-8")
    poster_png(content).save(png, dpi=(DPI, DPI))
    return svg, png
