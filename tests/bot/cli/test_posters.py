"""Venue posters: the QR code on the PNG and in the SVG decodes back to the venue's deep link; the name,
the short code and the invitation in the venue's language are printed; the invitation is a template; bad
requests change nothing."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from redis.asyncio import Redis

from bot.cli import posters
from bot.cli.main import main
from bot.cli.posters import (
    PAGE_H,
    PosterContent,
    PosterStyle,
    load_logo,
    parse_colour,
    poster_content,
    poster_png,
    poster_svg,
)
from bot.storage.store import Store
from dialogs.render import MessageRenderer, TemplateCatalog, default_templates_dir

SVG = "{http://www.w3.org/2000/svg}"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def svg_qr(svg: str) -> Image.Image:
    """The QR code drawn in a poster's SVG, read back module by module into an image (10 px a module)."""
    group = re.search(r'<g class="qr"[^>]*><rect width="(\d+)"[^>]*/><path d="([^"]+)"', svg)
    assert group is not None, "no QR code in the SVG"
    size = int(group.group(1))
    image = Image.new("L", (size * 10, size * 10), 255)
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", group.group(2)):
        image.paste(0, (int(x) * 10, int(y) * 10, int(x) * 10 + 10, int(y) * 10 + 10))
    return image


async def _venues(redis_url: str) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as redis:
        store = Store(redis)
        await store.add_brand("quick", "Quick & Co")
        await store.add_venue("quick", "Quick Massy — Gare <RER B>, côté Atlantis")
        await store.add_venue("quick", "Quick Orly", language="en")
        await store.add_brand("flunch", "Flunch")
        await store.add_venue("flunch", "Quick Orly")  # the same venue code in another brand


@pytest.fixture
def venues_env(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The venues of `_venues` in the test's Redis, and the CLI's environment pointed at it."""
    asyncio.run(_venues(redis_url))
    monkeypatch.setenv("PAROLE_REDIS_URL", redis_url)
    monkeypatch.setenv("PAROLE_BOT_USERNAME", "parole_bot")
    monkeypatch.setenv("PAROLE_DATA_DIR", str(tmp_path))


@pytest.mark.usefixtures("venues_env")
def test_posters_decode_to_the_deep_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "venue", "list", "--brand", "quick")
    venues = {v["code"]: v for v in map(json.loads, out.splitlines())}
    code, out, err = _run(capsys, "venue", "posters", "--brand", "quick", "--out", str(tmp_path / "kit"))
    assert code == 0, err
    assert "2/2 affiches" in err
    written = [json.loads(line) for line in out.splitlines()]
    assert [w["venue"] for w in written] == list(venues)
    for poster in written:
        venue = venues[poster["venue"]]
        assert poster["deep_link"] == venue["deep_link"] == f"https://t.me/parole_bot?start={venue['token']}"
        png = Image.open(poster["png"])
        assert png.size == (1240, 1754) and decode(png) == [venue["deep_link"]]
        svg = Path(poster["svg"]).read_text(encoding="utf-8")
        assert decode(svg_qr(svg)) == [venue["deep_link"]]
        code_text = venue["short_code"][:3] + " " + venue["short_code"][3:]
        assert f">{code_text}</text>" in svg and 'viewBox="0 0 210 297"' in svg and 'width="210mm"' in svg
    massy, orly = (Path(w["svg"]).read_text(encoding="utf-8") for w in written)
    assert "Quick Massy — Gare &lt;RER B&gt;, côté Atlantis" in massy and "<RER B>" not in massy  # one line: it fits
    assert "L&#x27;équipe de Quick Massy" in massy and "Quick &amp; Co" in massy and 'lang="fr"' in massy
    assert "Scannez ce code avec votre téléphone : une conversation s&#x27;ouvre" in massy
    assert "The team at Quick Orly reads every message and answers you" in orly and 'lang="en"' in orly
    # One poster, by its code alone when one brand has it, into DATA_DIR/posters by default.
    massy_code = written[0]["venue"]
    code, out, err = _run(capsys, "venue", "poster", massy_code)
    assert code == 0 and json.loads(out)["png"] == str(tmp_path / "posters" / f"quick-{massy_code}-poster.png")
    assert decode(Image.open(json.loads(out)["png"])) == [venues[massy_code]["deep_link"]]
    code, out, err = _run(capsys, "venue", "poster", "quick-orly", "--brand", "flunch", "--out", str(tmp_path / "f"))
    assert code == 0 and json.loads(out)["brand"] == "flunch"
    refused = str(tmp_path / "refused")
    for args, message in [
        (
            ("venue", "poster", "quick-orly", "--out", refused),
            "plusieurs marques ont un lieu « quick-orly » : précisez --brand",
        ),
        (("venue", "poster", "nowhere", "--out", refused), "le lieu « nowhere » n'existe pas"),
        (
            ("venue", "poster", "quick-orly", "--brand", "nobody", "--out", refused),
            "le lieu « nobody/quick-orly » n'existe pas",
        ),
        (("venue", "posters", "--brand", "nobody", "--out", refused), "la marque « nobody » n'existe pas"),
        (
            ("venue", "add", "--brand", "quick", "--name", "Quick Evry", "--language", "Français"),
            "la langue « Français » n'est pas possible",
        ),
    ]:
        code, out, err = _run(capsys, *args)
        assert code == 1 and message in err and out == "" and not Path(refused).exists(), (args, err)
    code, out, _ = _run(capsys, "venue", "list", "--brand", "quick")
    assert len(out.splitlines()) == 2  # the refused venue was not added


def test_the_invitation_is_an_editable_template(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), templates)
    (templates / "bot" / "fr" / "poster_invitation.j2").write_text(
        "Votre avis sur {{ venue_name }} ({{ brand_name }}) nous fait avancer.", encoding="utf-8"
    )
    renderer = MessageRenderer(TemplateCatalog(templates))
    link = "https://t.me/parole_bot?start=abc"
    content = poster_content(
        renderer, brand_name="Quick", venue_name="Quick Massy", short_code="K7P2QX", deep_link=link,
        bot_username="parole_bot", language="fr",
    )  # fmt: skip
    assert content.invitation == "Votre avis sur Quick Massy (Quick) nous fait avancer."
    assert content.code_hint == "Pas de QR ? Dans Telegram, ouvrez @parole_bot et tapez ce code."
    svg = poster_svg(content)
    printed = " ".join(re.findall(r">([^<]*)</text>", svg))  # the lines as they wrap
    assert "Votre avis sur Quick Massy (Quick) nous fait avancer." in printed and ">K7P 2QX</text>" in svg
    assert decode(svg_qr(svg)) == [link]
    german = poster_content(
        renderer, brand_name="Quick", venue_name="Quick Köln", short_code="K7P2QX", deep_link=link,
        bot_username="parole_bot", language="de",
    )  # fmt: skip
    assert german.invitation.startswith("Votre avis sur Quick Köln")  # no German template: French, the fallback


def test_the_posters_fonts_are_carried_in_the_package_with_their_licence() -> None:
    """No system font: DejaVu comes with parole (bot/cli/fonts), and its accents print."""
    from PIL import ImageDraw

    assert posters.FONT_DIR.is_relative_to(Path(posters.__file__).parent)
    assert "Bitstream Vera" in (posters.FONT_DIR / "LICENSE-DejaVu.txt").read_text()
    for bold in (False, True):
        for monospace in (False, True):
            font = posters._font(40, bold=bold, monospace=monospace)
            assert Path(str(font.path)).parent == posters.FONT_DIR
            assert font.getname()[0] == ("DejaVu Sans Mono" if monospace else "DejaVu Sans")

    def drawn(text: str) -> bytes:
        image = Image.new("L", (80, 80), 255)
        ImageDraw.Draw(image).text((10, 10), text, font=posters._font(40), fill=0)
        return image.tobytes()

    assert drawn("é") != drawn("e")  # the accent is drawn (Pillow's own default font has none)


LONG_NAME = "Brasserie du Théâtre et de la Gare Saint-Jean — terrasse, salle du premier étage et comptoir, Bordeaux"


def _ink_columns(image: Image.Image) -> tuple[int, int]:
    """The leftmost and rightmost columns with anything not white."""
    box = Image.eval(image.convert("L"), lambda v: 255 if v < 250 else 0).getbbox()
    assert box is not None
    return box[0], box[2] - 1


def _content(renderer: MessageRenderer, venue_name: str, brand_name: str = "Quick") -> PosterContent:
    return poster_content(
        renderer, brand_name=brand_name, venue_name=venue_name, short_code="K7P2QX",
        deep_link="https://t.me/parole_bot?start=abcdefghijklmnop", bot_username="parole_bot", language="fr",
    )  # fmt: skip


def _logo(path: Path, kind: str = "PNG", size: tuple[int, int] = (400, 100)) -> Path:
    Image.new("RGB", size, "#c0392b").save(path, kind)
    return path


@pytest.mark.parametrize("with_logo", [False, True])
def test_a_long_name_wraps_and_stays_readable_within_the_margins(tmp_path: Path, with_logo: bool) -> None:
    renderer = MessageRenderer(TemplateCatalog(default_templates_dir()))
    content = _content(
        renderer, LONG_NAME[:100], brand_name="Groupe des Brasseries Réunies du Sud-Ouest et d'Aquitaine"
    )
    # On one line, the name would have to be set below the floor: it must wrap.
    assert posters._width(content.venue_name, posters.NAME_FLOOR, bold=True) > posters.TEXT_W
    style = PosterStyle(logo=load_logo(_logo(tmp_path / "logo.png"))) if with_logo else PosterStyle()
    layout = posters._layout(content, style)
    name_lines = [line for line in layout.lines if line.bold and not line.monospace]
    assert len(name_lines) > 1 and " ".join(line.text for line in name_lines) == content.venue_name
    assert all(line.size >= posters.NAME_FLOOR for line in name_lines)
    assert all(line.size >= posters.HINT_FLOOR for line in layout.lines[:-1])  # the link alone may shrink
    assert all(posters._width(line.text, line.size, bold=line.bold) <= posters.TEXT_W for line in layout.lines)
    # Top to bottom without overlap: the texts above the QR code end above it, the others start below it.
    qr = layout.qr
    above = [line for line in layout.lines if line.y < qr.y]
    below = [line for line in layout.lines if line.y > qr.y]
    assert len(above) + len(below) == len(layout.lines) and below[0].y - below[0].size > qr.y + qr.height
    for upper, lower in itertools.pairwise(layout.lines):  # DejaVu: accents rise to 0.93 em, tails fall 0.24 em
        assert lower.y - 0.93 * lower.size >= upper.y + 0.24 * upper.size, (upper, lower)
    assert layout.logo is None or layout.logo.y + layout.logo.height < above[0].y - above[0].size
    assert posters.QR_MIN <= qr.width <= posters.QR_SIZE and layout.lines[-1].y <= PAGE_H - posters.MARGIN
    # What is printed stays within the page's margins, and the QR code still reads.
    image = poster_png(content, style)
    px = posters.DPI / 25.4
    left, right = _ink_columns(image)
    assert left >= posters.MARGIN * px - 2 and right <= (posters.PAGE_W - posters.MARGIN) * px + 2, (left, right)
    assert decode(image) == [content.deep_link]
    svg = poster_svg(content, style)
    sizes = [float(size) for size in re.findall(r'font-size="([\d.]+)"[^>]*font-weight="bold"', svg)]
    assert len(sizes) == len(name_lines) + 1 and min(sizes) >= posters.NAME_FLOOR  # + the short code
    assert decode(svg_qr(svg)) == [content.deep_link]


@pytest.mark.usefixtures("venues_env")
def test_the_brands_logo_and_colour_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logo = _logo(tmp_path / "logo.jpg", "JPEG", (300, 300))
    code, out, err = _run(
        capsys, "venue", "poster", "quick-orly", "--brand", "quick", "--logo", str(logo), "--colour", "#8A1538",
        "--out", str(tmp_path / "kit"),
    )  # fmt: skip
    assert code == 0, err
    written = json.loads(out)
    svg = Path(written["svg"]).read_text(encoding="utf-8")
    assert '<image class="logo"' in svg and 'href="data:image/jpeg;base64,' in svg
    assert svg.count('fill="#8a1538"') == 2  # the brand's name and the short code
    png = Image.open(written["png"]).convert("RGB")
    px = posters.DPI / 25.4
    top = png.crop((0, round(posters.MARGIN * px), png.width, round((posters.MARGIN + 20) * px)))
    reds = [colour for _, colour in top.getcolors(1 << 24) or [] if isinstance(colour, tuple)]
    assert any(r > 150 and g < 90 and b < 80 for r, g, b in reds)  # the red logo, at the top
    assert (0x8A, 0x15, 0x38) in {colour for _, colour in png.getcolors(1 << 24) or []}  # the colour, in the text
    assert decode(png) == [written["deep_link"]]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.png").write_text("pas une image", encoding="utf-8")
    _logo(bad / "anim.gif", "GIF")
    whole = (tmp_path / "logo.jpg").read_bytes()
    (bad / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    refused = tmp_path / "refused"
    for option, value, message in [
        ("--logo", str(bad / "missing.png"), "illisible (No such file or directory)"),
        ("--logo", str(bad / "notes.png"), "ni une image PNG ni une image JPEG"),
        ("--logo", str(bad / "anim.gif"), "une image GIF ; donnez un PNG ou un JPEG"),
        ("--logo", str(bad / "cut.jpg"), "ni une image PNG ni une image JPEG (ou une image abîmée)"),
        ("--logo", str(bad), "illisible"),
        ("--colour", "rouge", "--colour « rouge » : écrivez-la #RRVVBB"),
        ("--colour", "#12345", "écrivez-la #RRVVBB"),
        (
            "--colour",
            "#ffee00",
            "trop claire pour se lire sur papier blanc (contraste de 1,2 pour 1, au moins 3 pour 1)",
        ),
        ("--colour", "#fff", "trop claire"),
    ]:
        code, out, err = _run(capsys, "venue", "poster", "quick-orly", "--brand", "quick", option, value,
                              "--out", str(refused))  # fmt: skip
        assert code == 1 and message in err and out == "" and not refused.exists(), (option, value, err)
    assert parse_colour("#2F6F9F") == "#2f6f9f" and parse_colour("#000") == "#000000"
